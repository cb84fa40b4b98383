"""What the SQL guard lets through: data, not logic, so a reviewer can read the whole policy in one place.

Functions follow an allowlist: a PostgreSQL function runs only if it is named here. The analytics vocabulary
(aggregates, windows, maths, text, dates, JSON, arrays, ranges, full-text search) is finite and stable, while
the list of dangerous functions is not (every extension adds some), so "refuse what we do not know" is the
only rule that stays safe as the server grows. ``BLOCKED_FUNCTIONS`` and ``BLOCKED_PREFIXES`` exist for the
reasons they give: a refused user reads why, not just "not on the list".
"""

from __future__ import annotations

import re

FORBIDDEN_KEYWORDS = frozenset(
    {
        "ALTER", "COMMIT", "COPY", "CREATE", "DEALLOCATE", "DROP", "GRANT", "REASSIGN", "REINDEX", "REVOKE",
        "ROLLBACK", "SAVEPOINT", "TRUNCATE", "VACUUM",
    }
)  # fmt: skip
"""Destructive or transaction-ending words, refused wherever they appear outside a string literal or a
quoted name, comments included. Other statements (LISTEN, NOTIFY, MERGE, CLUSTER, CHECKPOINT, EXECUTE...)
are refused by their first word instead, so a column called ``notify`` or ``cluster`` still works."""

FORBIDDEN_IN_COMMENT = re.compile(r"\b(" + "|".join(sorted(FORBIDDEN_KEYWORDS)) + r")\b", re.IGNORECASE)

READ_STARTS = frozenset({"SELECT", "WITH", "VALUES", "TABLE", "EXPLAIN"})
WRITE_STARTS = frozenset({"INSERT", "UPDATE", "DELETE"})

STATEMENT_REASONS = {
    "SET": "SET changes session settings and is not allowed",
    "RESET": "RESET changes session settings and is not allowed",
    "SHOW": "SHOW reads server settings and is not allowed",
    "DO": "DO runs procedural code and is not allowed",
    "CALL": "CALL runs a procedure and is not allowed",
    "BEGIN": "transaction control (BEGIN) is not allowed",
    "START": "transaction control (START TRANSACTION) is not allowed",
    "END": "transaction control (END) is not allowed",
    "ABORT": "transaction control (ABORT) is not allowed",
    "RELEASE": "transaction control (RELEASE) is not allowed",
    "LOCK": "LOCK takes table locks and is not allowed",
    "DECLARE": "DECLARE opens a cursor and is not allowed",
    "FETCH": "FETCH reads a cursor and is not allowed",
    "MOVE": "MOVE moves a cursor and is not allowed",
    "CLOSE": "CLOSE closes a cursor and is not allowed",
    "LOAD": "LOAD loads a server library and is not allowed",
    "COMMENT": "COMMENT changes the schema and is not allowed",
    "SECURITY": "SECURITY LABEL changes the schema and is not allowed",
    "REFRESH": "REFRESH MATERIALIZED VIEW is not allowed",
    "ANALYZE": "ANALYZE updates statistics and is not allowed",
}

READ_ONLY_SCHEMAS = frozenset({"public"})
"""Schemas a business's queries may name. Each demo business keeps its tables in its own database's public
schema; a business with another layout passes its schemas to ``check_sql``."""

SAFE_INFORMATION_SCHEMA = frozenset(
    {
        "check_constraints", "columns", "constraint_column_usage", "key_column_usage",
        "referential_constraints", "table_constraints", "tables", "views",
    }
)  # fmt: skip
"""information_schema views that describe tables and columns. They show only objects the reader role may
already use, so "which tables do we have?" works; the role, grant and routine views stay closed."""

SESSION_IDENTIFIERS = frozenset(
    {
        "user",
        "current_user",
        "session_user",
        "current_role",
        "current_catalog",
        "current_schema",
        "system_user",
    }
)
"""Bare words PostgreSQL evaluates as functions that reveal who and where the query runs."""

BLOCKED_TYPES_PREFIXES = ("pg_", "txid_")
BLOCKED_TYPES = frozenset(
    {
        "regclass", "regcollation", "regconfig", "regdictionary", "regnamespace", "regoper", "regoperator",
        "regproc", "regprocedure", "regrole", "regtype", "aclitem", "lo", "xid", "xid8", "cid", "tid",
    }
)  # fmt: skip
"""Casts to these reach into the catalog (``'pg_authid'::regclass``) or the transaction machinery."""

SAFE_SETTINGS = frozenset({"timezone", "datestyle", "intervalstyle", "lc_monetary", "lc_numeric"})
"""The only settings ``current_setting`` may read: presentation settings an analyst may need."""

LENGTH_LIMITED = {"repeat": 1, "lpad": 1, "rpad": 1}
"""Functions whose argument at this index sets the size of the result (``repeat('x', 1e9)`` asks the server
for a gigabyte); it must be an integer literal up to ``MAX_GENERATED_LENGTH``."""
MAX_GENERATED_LENGTH = 10_000

BLOCKED_FUNCTIONS: dict[str, str] = {
    "pg_sleep": "it makes the server wait and ties up a connection",
    "pg_sleep_for": "it makes the server wait and ties up a connection",
    "pg_sleep_until": "it makes the server wait and ties up a connection",
    "pg_read_file": "it reads files on the database server",
    "pg_read_binary_file": "it reads files on the database server",
    "pg_stat_file": "it reads files on the database server",
    "pg_ls_dir": "it lists directories on the database server",
    "pg_ls_logdir": "it lists directories on the database server",
    "pg_ls_waldir": "it lists directories on the database server",
    "pg_ls_tmpdir": "it lists directories on the database server",
    "pg_ls_archive_statusdir": "it lists directories on the database server",
    "pg_file_write": "it writes files on the database server",
    "lo_import": "it reads server files into large objects",
    "lo_export": "it writes large objects to server files",
    "set_config": "it changes session settings",
    "current_setting": "it reads server settings",
    "pg_terminate_backend": "it kills other database sessions",
    "pg_cancel_backend": "it cancels other sessions' queries",
    "pg_reload_conf": "it reloads the server configuration",
    "pg_rotate_logfile": "it administers the server",
    "pg_switch_wal": "it administers the server",
    "pg_promote": "it administers the server",
    "pg_advisory_lock": "it takes locks that outlive the query",
    "pg_advisory_xact_lock": "it takes locks that can block other sessions",
    "pg_try_advisory_lock": "it takes locks that outlive the query",
    "pg_notify": "it sends notifications to other sessions",
    "query_to_xml": "it runs SQL given as a string, out of the guard's sight",
    "query_to_xmlschema": "it runs SQL given as a string, out of the guard's sight",
    "query_to_xml_and_xmlschema": "it runs SQL given as a string, out of the guard's sight",
    "cursor_to_xml": "it reads a cursor, out of the guard's sight",
    "table_to_xml": "it dumps a whole table by name, out of the guard's sight",
    "schema_to_xml": "it dumps a whole schema, out of the guard's sight",
    "database_to_xml": "it dumps the whole database, out of the guard's sight",
    "ts_stat": "it runs SQL given as a string, out of the guard's sight",
    "dblink": "it connects to other databases",
    "dblink_exec": "it connects to other databases",
    "dblink_connect": "it connects to other databases",
    "version": "it reveals the server version",
    "inet_server_addr": "it reveals the server's network address",
    "inet_server_port": "it reveals the server's network address",
    "inet_client_addr": "it reveals network addresses",
    "txid_current": "it assigns a transaction id (a write)",
    "pg_current_xact_id": "it assigns a transaction id (a write)",
    "nextval": "it advances a sequence (a write)",
    "setval": "it changes a sequence (a write)",
    "currval": "it reads session sequence state",
    "lastval": "it reads session sequence state",
    "setseed": "it changes session state",
    "current_database": "it reveals the database name",
    "current_schemas": "it reveals the search path",
    "has_table_privilege": "it probes privileges",
    "has_database_privilege": "it probes privileges",
    "pg_has_role": "it probes roles",
    "format_type": "it reads the system catalog",
    "obj_description": "it reads the system catalog",
    "col_description": "it reads the system catalog",
    "to_regclass": "it probes the system catalog",
    "array_fill": "it can build arrays of any size",
    "generate_subscripts": "it can build very large results",
}
"""Known-dangerous functions, each with the reason a refused user reads."""

TOKEN_BLOCKED_FUNCTIONS = frozenset(BLOCKED_FUNCTIONS) - {"current_setting"}
"""Names refused wherever they are followed by "(", before parsing (a second layer under the AST check);
current_setting is judged on the AST, where its argument can be read."""

BLOCKED_PREFIXES: tuple[tuple[str, str], ...] = (
    ("pg_", "system functions (pg_*) are not allowed"),
    ("lo_", "large-object functions (lo_*) read and write server files"),
    ("dblink", "dblink functions connect to other databases"),
    ("txid_", "transaction-id functions are not allowed"),
    ("has_", "privilege probes (has_*_privilege) are not allowed"),
    ("xpath", "XML functions are not allowed"),
    ("xml", "XML functions are not allowed"),
)

_AGGREGATES = """
    array_agg avg bit_and bit_or bit_xor bool_and bool_or corr count covar_pop covar_samp every
    json_agg json_object_agg jsonb_agg jsonb_object_agg max min mode percentile_cont percentile_disc
    regr_avgx regr_avgy regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy stddev
    stddev_pop stddev_samp string_agg sum var_pop var_samp variance grouping range_agg range_intersect_agg
"""
_WINDOWS = "row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value"
_MATHS = """
    abs cbrt ceil ceiling degrees div exp floor gcd lcm ln log log10 mod pi power pow radians random round
    scale sign sqrt trunc width_bucket min_scale trim_scale acos asin atan atan2 cos cot sin tan sinh cosh
    tanh greatest least num_nonnulls num_nulls
"""
_TEXT = """
    ascii bit_length btrim char_length character_length chr concat concat_ws format initcap left length
    lower lpad ltrim md5 octet_length overlay position quote_ident quote_literal quote_nullable
    regexp_count regexp_instr regexp_like regexp_match regexp_matches regexp_replace regexp_split_to_array
    regexp_split_to_table regexp_substr repeat replace reverse right rpad rtrim split_part starts_with
    strpos substr substring to_ascii to_hex translate trim upper encode decode sha224 sha256 sha384 sha512
    normalize unistr string_to_array string_to_table array_to_string to_char to_number
"""
_TIME = """
    age clock_timestamp date_bin date_part date_trunc extract isfinite justify_days justify_hours
    justify_interval localtime localtimestamp make_date make_interval make_time make_timestamp
    make_timestamptz now statement_timestamp timeofday to_date to_timestamp transaction_timestamp timezone
"""
_JSON = """
    array_to_json json_array_elements json_array_elements_text json_array_length json_build_array
    json_build_object json_each json_each_text json_extract_path json_extract_path_text json_object
    json_object_keys json_populate_record json_populate_recordset json_strip_nulls json_to_record
    json_to_recordset json_typeof jsonb_array_elements jsonb_array_elements_text jsonb_array_length
    jsonb_build_array jsonb_build_object jsonb_each jsonb_each_text jsonb_extract_path
    jsonb_extract_path_text jsonb_insert jsonb_object jsonb_object_keys jsonb_path_exists
    jsonb_path_match jsonb_path_query jsonb_path_query_array jsonb_path_query_first jsonb_populate_record
    jsonb_populate_recordset jsonb_pretty jsonb_set jsonb_set_lax jsonb_strip_nulls jsonb_to_record
    jsonb_to_recordset jsonb_typeof row_to_json to_json to_jsonb json_scalar json_serialize
"""
_ARRAYS = """
    array_append array_cat array_dims array_length array_lower array_ndims array_position
    array_positions array_prepend array_remove array_replace array_upper cardinality trim_array unnest
    array_sample array_shuffle
"""
_RANGES = """
    daterange int4range int8range numrange tsrange tstzrange lower upper isempty lower_inc upper_inc
    lower_inf upper_inf range_merge multirange
"""
_SEARCH = """
    to_tsvector to_tsquery plainto_tsquery phraseto_tsquery websearch_to_tsquery ts_rank ts_rank_cd
    ts_headline setweight strip numnode querytree ts_delete ts_filter tsvector_to_array array_to_tsvector
"""
_OTHER = "coalesce nullif generate_series gen_random_uuid row num_nonnulls"

ALLOWED_FUNCTIONS = frozenset(
    name
    for group in (_AGGREGATES, _WINDOWS, _MATHS, _TEXT, _TIME, _JSON, _ARRAYS, _RANGES, _SEARCH, _OTHER)
    for name in group.split()
)
"""Every function an analytics query may call, by its PostgreSQL name."""

BLOCKED_SYNTAX_CLASSES = frozenset(
    {
        "CurrentUser", "SessionUser", "CurrentRole", "CurrentCatalog", "CurrentSchema", "CurrentSchemas",
        "CurrentDatabase", "CurrentVersion", "CurrentUserId", "CurrentSession", "CurrentStatement",
        "CurrentTransaction", "CurrentIpAddress", "CurrentClient", "CurrentAvailableRoles", "CurrentAccount",
        "CurrentAccountName", "CurrentOrganizationName", "CurrentOrganizationUser", "CurrentRegion",
        "CurrentRoleType", "CurrentSecondaryRoles", "CurrentWarehouse", "ReadCSV", "ReadParquet", "ToFile",
        "XMLElement", "XMLTable",
    }
)  # fmt: skip
"""sqlglot node types written without a function name (``current_user``) that reveal the session or reach
outside the query."""


def function_refusal(name: str) -> str | None:
    """Why a call to ``name`` is refused, or None when it is allowed."""
    if name in BLOCKED_FUNCTIONS:
        return f"{name}() is not allowed: {BLOCKED_FUNCTIONS[name]}"
    if name in ALLOWED_FUNCTIONS:
        return None
    for prefix, why in BLOCKED_PREFIXES:
        if name.startswith(prefix):
            return f"{name}() is not allowed: {why}"
    return f"{name}() is not on the list of allowed functions"


def type_refusal(type_name: str) -> str | None:
    """Why a cast to ``type_name`` is refused: system types expose the catalog (``'x'::regclass``), and
    so do their array types, which PostgreSQL names with a leading underscore (``'{10}'::_regrole``)."""
    lowered = type_name.lower().strip('"')
    element = lowered.lstrip("_").removesuffix("[]")
    if element in BLOCKED_TYPES or element.startswith(BLOCKED_TYPES_PREFIXES):
        return f"casts to the system type {lowered} are not allowed"
    return None
