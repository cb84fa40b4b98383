"""The environment that points a `bizsql` process (a subprocess or CliRunner) at the test servers."""

from __future__ import annotations

from bizsql.config import Settings


def servers_env(settings: Settings) -> dict[str, str]:
    """Its servers, database, data directory and both secrets, as ``BIZSQL_*`` variables."""
    assert settings.postgres_url and settings.mongo_url and settings.redis_url
    jwt_secret, role_secret = settings.secret_values()
    return {
        "BIZSQL_POSTGRES_URL": settings.postgres_url,
        "BIZSQL_MONGO_URL": settings.mongo_url,
        "BIZSQL_REDIS_URL": settings.redis_url,
        "BIZSQL_MONGO_DB": settings.mongo_db,
        "BIZSQL_ROLE_SECRET": role_secret,
        "BIZSQL_JWT_SECRET": jwt_secret,
        "BIZSQL_DATA_DIR": str(settings.data_dir),
    }
