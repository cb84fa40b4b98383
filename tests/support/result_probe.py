"""Run one statement through the executor in a process of its own and print its result and peak memory.

    python -m tests.support.result_probe USER SQL

The settings come from the environment (``BIZSQL_*``); the output is one JSON line. Tests use it to
measure what a huge result costs the process that reads it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from pymongo import AsyncMongoClient

from bizsql.auth.identity import Identity
from bizsql.config import Settings
from bizsql.errors import BizsqlError
from bizsql.sql.executor import MongoAudit, SqlExecutor
from bizsql.stores.business import aload_business_config

USERS = {
    "alice": Identity(username="alice", role="analyst", business_id="acme_retail"),
    "dave": Identity(username="dave", role="editor", business_id="acme_retail"),
}


async def probe(user: str, sql: str) -> dict[str, Any]:
    settings = Settings()
    assert settings.mongo_url
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    db = client[settings.mongo_db]
    executor = SqlExecutor(settings, MongoAudit(db))
    try:
        business = await aload_business_config(db, "acme_retail")
        result = await executor.run(sql, business=business, identity=USERS[user], source="probe")
        out: dict[str, Any] = {
            "row_count": result.row_count,
            "rows_affected": result.rows_affected,
            "values_cut": result.values_cut,
            "truncated_by": result.truncated_by,
            "longest_value": max((len(str(v)) for row in result.rows for v in row), default=0),
        }
    except BizsqlError as exc:
        out = {"error": exc.code, "detail": exc.detail}
    finally:
        await executor.close()
        await client.close()
    out["max_rss_mb"] = peak_rss_mb()
    return out


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started. Not ``getrusage``: on Linux its
    ``ru_maxrss`` keeps the peak of the parent it was forked from, across exec."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    print(json.dumps(asyncio.run(probe(sys.argv[1], sys.argv[2]))))
