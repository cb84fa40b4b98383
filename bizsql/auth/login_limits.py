"""Login limits: failed logins per username from one IP, failed logins per username from all IPs, and a
looser cap on every attempt from one IP.

Each attempt is counted before the password is checked, so concurrent guesses cannot all pass one check
before any is counted; a successful login then forgets that username's failures, which leaves only
failures counted. A new user who mistypes a password, or tries several demo users, is never locked out,
while a guesser is stopped per username (from one address at the ``user_ip`` limit, from many at the
``user`` limit). The per-IP cap counts successes too: every attempt costs an argon2 hash, so it bounds the
hashing one address can ask of the server, and it stops a flood spread over many usernames.
"""

from __future__ import annotations

from dataclasses import dataclass

from bizsql.auth.rate_limit import RateLimiter
from bizsql.config import Settings


@dataclass(frozen=True)
class LoginLimits:
    limiter: RateLimiter
    settings: Settings

    async def attempt(self, username: str, ip: str) -> None:
        """Count one attempt, or raise RateLimited (429 with Retry-After) before the password is checked."""
        await self.limiter.hit("login-ip", self.settings.login_rate_per_minute_ip, ip, what="logins")
        user = username.lower()
        await self.limiter.hit(
            "login-user-ip",
            self.settings.login_failures_per_minute_user_ip,
            f"{user}|{ip}",
            what="failed logins for this user",
        )
        await self.limiter.hit(
            "login-user", self.settings.login_rate_per_minute_user, user, what="failed logins for this user"
        )

    async def succeeded(self, username: str, ip: str) -> None:
        """Forget the username's failed logins (this one's count included): only failures stay counted."""
        user = username.lower()
        await self.limiter.clear(
            "login-user-ip", self.settings.login_failures_per_minute_user_ip, f"{user}|{ip}"
        )
        await self.limiter.clear("login-user", self.settings.login_rate_per_minute_user, user)
