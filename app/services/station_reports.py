"""What a station reports about itself beyond its status (OCPP 2.0.1): its device
model variables (NotifyReport), the problems its monitors see (NotifyEvent) and its
security events (SecurityEventNotification), kept in the portal's words: the key
table, alarms and the event log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete

from app.extensions import db
from app.models import (
    KEY_LENGTH,
    AlarmKind,
    EventKind,
    Station,
    StationConfigKey,
)
from app.services import alarms, events, stations


def store_report_part(
    station: Station,
    keys: Sequence[stations.ConfigKey],
    *,
    generated_at: datetime,
    last: bool,
) -> None:
    """Add one part of the station's full report to its key table; the last part
    removes the keys the report no longer names.

    Every part of a report carries the time it was generated: a row is stamped with
    it, so a key that was neither in this report nor changed since it began is one
    the station no longer has.
    """
    existing = {row.key: row for row in station.config_keys}
    for item in keys:
        key = item.key[:KEY_LENGTH]
        value = None if item.value is None else item.value[:500]
        row = existing.get(key)
        if row is None:
            row = StationConfigKey(key=key, value=value, readonly=item.readonly)
            station.config_keys.append(row)
            existing[key] = row
        row.value, row.readonly, row.fetched_at = value, item.readonly, generated_at
    stations.mark_connected(station)
    db.session.flush()
    if last:
        db.session.execute(
            delete(StationConfigKey).where(
                StationConfigKey.station_id == station.id,
                StationConfigKey.fetched_at < generated_at,
            ),
            execution_options={"synchronize_session": "fetch"},
        )


def store_variables(station: Station, keys: Sequence[stations.ConfigKey]) -> None:
    """Keep the values the station just reported for some keys (GetVariables)."""
    existing = {row.key: row for row in station.config_keys}
    for item in keys:
        row = existing.get(item.key[:KEY_LENGTH])
        if row is None:
            stations.record_config_change(station, item.key, item.value or "")
        else:
            row.value = None if item.value is None else item.value[:500]
    db.session.flush()


@dataclass(frozen=True)
class Problem:
    """A problem a station's monitor raised or cleared, on an outlet or (0) itself."""

    kind: AlarmKind
    outlet_number: int
    cleared: bool
    description: str = ""


def record_problems(station: Station, problems: Sequence[Problem]) -> None:
    """Raise the alarm of each problem reported, resolve those the station cleared."""
    stations.mark_connected(station)
    for problem in problems:
        outlet = (
            stations.outlet_of(station, problem.outlet_number)
            if problem.outlet_number
            else None
        )
        if problem.cleared:
            alarms.resolve_alarms(station=station, outlet=outlet, kinds=(problem.kind,))
            continue
        text = str(alarms.DESCRIPTIONS[problem.kind])
        alarms.raise_alarm(
            problem.kind,
            station=station,
            outlet=outlet,
            description=f"{text}: {problem.description}"
            if problem.description
            else text,
        )
    db.session.flush()


def record_notice(station: Station, message: str, details: dict[str, str]) -> None:
    """Log something a station's monitor noticed that is not a problem."""
    stations.mark_connected(station)
    events.record_event(
        EventKind.STATUS, message[:500], station=station, details=details
    )
    db.session.flush()


def record_security_event(
    station: Station,
    kind: str,
    at: datetime | None,
    info: str = "",
    *,
    alarm: AlarmKind | None = None,
) -> None:
    """Log a station's security event; a critical one also raises an alarm."""
    stations.mark_connected(station)
    events.record_event(
        EventKind.SECURITY,
        f"security event: {kind[:50]}",
        station=station,
        details={"at": at.isoformat() if at else None, "info": info[:255]},
    )
    if alarm is not None:
        alarms.raise_alarm(
            alarm,
            station=station,
            description=f"{alarms.DESCRIPTIONS[alarm]}: {kind[:50]}"
            + (f" ({info[:200]})" if info else ""),
        )
    db.session.flush()
