"""The embedded servers start from pip packages, keep their data across a restart, and stop cleanly."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import redis
from pydantic import SecretStr

from bizsql.config import Settings
from bizsql.embedded import embedded_servers
from bizsql.stores.mongo import mongo_client

pytestmark = pytest.mark.integration


def test_embedded_servers_keep_data_across_a_restart(server_dir: Path) -> None:
    settings = Settings(
        data_dir=server_dir, jwt_secret=SecretStr("x" * 40), postgres_url=None, redis_url=None, mongo_url=None
    )
    with embedded_servers(settings) as first:
        assert first.postgres_url and first.redis_url and first.mongo_url
        with psycopg.connect(first.postgres_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v text)")
            conn.execute("INSERT INTO kept VALUES ('hello')")
        redis.Redis.from_url(first.redis_url).set("kept", "hello")
        with mongo_client(first.mongo_url) as client:
            client.t.kept.insert_one({"v": "hello"})
    with embedded_servers(settings) as second:
        assert second.postgres_url and second.redis_url and second.mongo_url
        with psycopg.connect(second.postgres_url) as conn:
            assert conn.execute("SELECT v FROM kept").fetchone() == ("hello",)
        assert redis.Redis.from_url(second.redis_url).get("kept") == b"hello"
        with mongo_client(second.mongo_url) as client:
            assert client.t.kept.find_one({}, {"_id": 0}) == {"v": "hello"}


def test_embedded_postgres_needs_a_password_for_business_roles(server_dir: Path) -> None:
    settings = Settings(
        data_dir=server_dir, postgres_url=None, redis_url="redis://unused", mongo_url="mongodb://x"
    )
    with embedded_servers(settings) as running:
        assert running.postgres_url
        with psycopg.connect(running.postgres_url, autocommit=True) as conn:
            conn.execute("CREATE ROLE someone LOGIN PASSWORD 'right'")
        wrong = psycopg.conninfo.make_conninfo(running.postgres_url, user="someone", password="wrong")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(wrong)
        right = psycopg.conninfo.make_conninfo(running.postgres_url, user="someone", password="right")
        with psycopg.connect(right) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("someone",)
