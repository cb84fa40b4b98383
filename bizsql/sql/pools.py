"""One async psycopg pool per (business database, role), opened on first use and rebuilt when it dies.

Queries connect as the business's own login roles, never as the superuser: the role's grants are the
last line of defence under the guard and the read-only transaction. Every connection is reset with
``DISCARD ALL`` when it comes back to its pool, so no session setting, prepared statement or lock one
statement left behind reaches the next user of the connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import psycopg
import structlog
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from bizsql.config import Settings
from bizsql.stores.business import BusinessConfig
from bizsql.stores.postgres import business_conninfo

log = structlog.get_logger(__name__)

APPLICATION_NAME = "bizsql-executor"
CONNECT_TIMEOUT_S = 5


async def discard_session(conn: AsyncConnection) -> None:
    """Back to the role's defaults: settings (RESET ALL), prepared statements, temp tables, locks."""
    await conn.execute("DISCARD ALL")


@dataclass(frozen=True)
class PoolKey:
    business_id: str
    database: str
    role: str


class BusinessPools:
    """Pools keyed by business, database and role; a config that names another role gets another pool."""

    def __init__(self, settings: Settings) -> None:
        assert settings.postgres_url, "BIZSQL_POSTGRES_URL must be resolved before SQL can run"
        self.settings = settings
        self._pools: dict[PoolKey, AsyncConnectionPool[AsyncConnection]] = {}
        self._lock = asyncio.Lock()

    def key(self, business: BusinessConfig, role: str) -> PoolKey:
        return PoolKey(business.business_id, business.database.name, role)

    async def get(self, key: PoolKey, *, check: bool = False) -> AsyncConnectionPool[AsyncConnection]:
        """The open pool for ``key``; ``check`` verifies each connection on checkout (for writes)."""
        pool = self._pools.get(key)
        if pool is not None and not pool.closed:
            return pool
        async with self._lock:
            pool = self._pools.get(key)
            if pool is None or pool.closed:
                pool = self._new_pool(key, check=check)
                await pool.open(wait=False)
                self._pools[key] = pool
        return pool

    async def probe(self, key: PoolKey) -> str | None:
        """Why a fresh connection for ``key`` fails, or None when the server answers (the pool is busy)."""
        pool = self._pools.get(key)
        conninfo = pool.conninfo if pool is not None else ""
        if not isinstance(conninfo, str) or not conninfo:
            return "the pool is gone"
        try:
            conn = await AsyncConnection.connect(conninfo)
        except psycopg.OperationalError as exc:
            return str(exc).strip().splitlines()[-1]
        await conn.close()
        return None

    async def discard(self, key: PoolKey) -> None:
        """Drop a pool that stopped answering; the next ``get`` builds a fresh one."""
        async with self._lock:
            pool = self._pools.pop(key, None)
        if pool is not None:
            log.warning("sql_pool_rebuilt", business=key.business_id, role=key.role)
            await pool.close(timeout=1.0)

    async def close(self) -> None:
        async with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        await asyncio.gather(*(pool.close(timeout=2.0) for pool in pools), return_exceptions=True)

    def _new_pool(self, key: PoolKey, *, check: bool) -> AsyncConnectionPool[AsyncConnection]:
        assert self.settings.postgres_url
        _, role_secret = self.settings.secret_values()
        conninfo = business_conninfo(
            self.settings.postgres_url,
            database=key.database,
            role=key.role,
            secret=role_secret,
            application_name=APPLICATION_NAME,
            connect_timeout=CONNECT_TIMEOUT_S,
        )
        return AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=self.settings.sql_pool_max_size,
            kwargs={"autocommit": True, "prepare_threshold": None},  # ad-hoc SQL: nothing worth preparing
            check=AsyncConnectionPool.check_connection if check else None,
            reset=discard_session,
            name=f"bizsql-{key.business_id}-{key.role}",
            timeout=self.settings.sql_pool_timeout_seconds,
            reconnect_timeout=self.settings.sql_pool_timeout_seconds * 3,
            open=False,
        )
