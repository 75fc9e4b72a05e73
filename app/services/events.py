"""The event log: what stations and people did (spec §7 Event log)."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import EventKind, EventLogEntry, Station, User, utcnow
from app.services import bulk_rows


def record_event(
    kind: EventKind,
    message: str,
    *,
    station: Station | None = None,
    user: User | None = None,
    site_id: int | None = None,
    node_name: str = "",
    details: dict[str, Any] | None = None,
) -> EventLogEntry:
    """Add an event log entry; a station's site scopes it."""
    entry = EventLogEntry(
        **_row(kind, message, station, user, site_id, node_name, details)
    )
    db.session.add(entry)
    return entry


def note_station_event(
    kind: EventKind,
    message: str,
    station: Station,
    *,
    node_name: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """Add an event log entry of what a station reported, as `record_event` does,
    written in bulk with the batch's others (bulk_rows): for the station messages,
    where nobody reads the entry back in the same unit of work."""
    row = _row(kind, message, station, None, None, node_name, details)
    row["occurred_at"] = utcnow()
    bulk_rows.queue(db.session(), EventLogEntry, row)


def _row(
    kind: EventKind,
    message: str,
    station: Station | None,
    user: User | None,
    site_id: int | None,
    node_name: str,
    details: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "message": message,
        "station_id": station.id if station else None,
        "site_id": station.site_id if station else site_id,
        "user_id": user.id if user else None,
        "node_name": node_name or (station.chargebox_id if station else ""),
        "details": details,
    }


def record_login(user: User, address: str | None) -> EventLogEntry:
    """Log a successful login."""
    return record_event(
        EventKind.LOGIN,
        f"{user.email} logged in",
        user=user,
        details={"address": address},
    )


def record_login_failed(email: str, address: str | None) -> EventLogEntry:
    """Log a failed login (the password is never recorded)."""
    return record_event(
        EventKind.LOGIN_FAILED,
        f"failed login for {email[:254]}",
        details={"address": address},
    )


def record_logout(user: User) -> EventLogEntry:
    """Log a logout."""
    return record_event(EventKind.LOGOUT, f"{user.email} logged out", user=user)
