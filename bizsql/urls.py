"""Where bearer tokens may travel: over TLS, or in clear only to this machine."""

from __future__ import annotations

import ipaddress
from urllib.parse import unquote_plus, urlsplit


def require_token_safe(url: str) -> str:
    """``url`` when a bearer token may be sent to it (https://, or http:// to 127.0.0.0/8, ::1 or
    localhost, with a valid port and no credentials of its own); ValueError saying what to do otherwise."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"{url!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("put no user or password in the URL: the bearer token authenticates")
    parts.port  # noqa: B018 (raises ValueError on a port that is not a number in range)
    if parts.scheme == "https":
        return url
    if parts.scheme != "http":
        raise ValueError(f"{url!r} must start with https:// (or http:// to a loopback host)")
    if not is_loopback(parts.hostname or ""):
        raise ValueError(
            f"refusing to send bearer tokens in clear over {url!r}: use https:// (the MCP server behind a "
            "TLS reverse proxy), or http:// only to a loopback host (127.0.0.1, ::1, localhost)"
        )
    return url


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mask_url(url: str) -> str:
    """Hide the password of a DSN so it can be printed or logged."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user, has_password, _ = creds.partition(":")
    return f"{scheme}://{user}{':****' if has_password else ''}@{host}"


def mongo_url_database(url: str | None) -> str | None:
    """The database a MongoDB URL names (``mongodb://host/db?options``, percent-encoded, ``db.coll`` meaning
    db), read as pymongo's parse_uri reads it, without the DNS lookups it makes for mongodb+srv://."""
    if not url or "://" not in url:
        return None
    hosts_and_db = url.partition("://")[2].partition("?")[0]
    database = unquote_plus(hosts_and_db.partition("/")[2]).partition(".")[0]
    return database or None
