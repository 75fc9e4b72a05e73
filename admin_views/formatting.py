"""How values look in the admin: times as spec §6 writes them, in the portal's zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_admin.model import typefmt
from flask_babel import to_user_timezone


def format_moment(moment: datetime | None) -> str:
    """Return `YYYY-MM-DD hh:mm:ss.s` in the portal's time zone (BABEL_DEFAULT_TIMEZONE)."""
    if moment is None:
        return ""
    local = to_user_timezone(moment)
    return local.strftime("%Y-%m-%d %H:%M:%S.") + str(local.microsecond // 100_000)


def _datetime(_view: Any, value: datetime, _name: str = "") -> str:
    return format_moment(value)


TYPE_FORMATTERS = {**typefmt.BASE_FORMATTERS, datetime: _datetime}
