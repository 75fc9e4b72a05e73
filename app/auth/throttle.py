"""Login throttling: failed logins counted per account and per address.

Counters live in Flask-Limiter's storage (memory for one process, Redis when
REDIS_URL is set, so every worker sees the same counts). Only *failed* logins
count; while either counter is full, no password is checked at all.
"""

from __future__ import annotations

from flask import current_app
from limits import RateLimitItem, parse

from app.extensions import limiter

_SCOPE = "login-failures"


def _limit() -> RateLimitItem:
    return parse(str(current_app.config["SECURITY_LOGIN_LIMIT"]))


def _keys(email: str, address: str | None) -> list[tuple[str, ...]]:
    prefix = str(current_app.config.get("RATELIMIT_KEY_PREFIX", ""))
    return [
        (prefix, _SCOPE, "account", email.strip().lower()[:254]),
        (prefix, _SCOPE, "address", address or "unknown"),
    ]


def is_throttled(email: str, address: str | None) -> bool:
    """Return True while the account or the address has used up its failed logins."""
    item = _limit()
    return any(not limiter.limiter.test(item, *key) for key in _keys(email, address))


def count_failure(email: str, address: str | None) -> None:
    """Count one failed login against the account and the address."""
    item = _limit()
    for key in _keys(email, address):
        limiter.limiter.hit(item, *key)


def retry_after_seconds() -> int:
    """Return how long a throttled person should wait (the limit's window)."""
    return int(_limit().get_expiry())
