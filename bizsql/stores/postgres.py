"""Connection strings for business databases, derived from the superuser DSN and a role secret."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo


def role_password(secret: str, role: str) -> str:
    """A stable password per role, so no business password is ever stored in MongoDB."""
    return hmac.new(secret.encode(), f"pg-role:{role}".encode(), hashlib.sha256).hexdigest()[:40]


def business_conninfo(superuser_url: str, *, database: str, role: str, secret: str, **extra: Any) -> str:
    """Same server as the superuser DSN, but the business database and its own login role."""
    params = conninfo_to_dict(superuser_url)
    params.pop("password", None)
    params.update(dbname=database, user=role, password=role_password(secret, role), **extra)
    return make_conninfo("", **params)
