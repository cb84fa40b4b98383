"""The one guarded path SQL takes to a business database: the guard (scope, policy, sizes, EXPLAIN), the
executor (role, read-only transaction, limits, byte caps, writes), its pools, audit and introspection."""
