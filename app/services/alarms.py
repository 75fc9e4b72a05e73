"""Alarms: raise, refresh, resolve (by the station) and clear (by a person), spec §7."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select

from app.extensions import db
from app.models import (
    Alarm,
    AlarmKind,
    AlarmState,
    EventKind,
    Outlet,
    Role,
    Station,
    User,
    utcnow,
)
from app.services import audit, events
from app.services.access import get_scoped, require_role
from app.services.errors import Conflict

DESCRIPTIONS = {
    AlarmKind.NOT_REGISTERED: _l("Not registered"),
    AlarmKind.HARDWARE_FAILURE: _l("Hardware failure"),
    AlarmKind.HARDWARE_MISMATCH: _l("Hardware configuration mismatch"),
    AlarmKind.OVER_CURRENT: _l("Fuse / over-current protection tripped"),
    AlarmKind.TEMPERATURE: _l("Temperature"),
    AlarmKind.NO_NETWORK: _l("No network"),
    AlarmKind.CONNECTOR_LOCK_FAILURE: _l("Connector lock failure"),
    AlarmKind.POWER_METER_FAILURE: _l("Failure to read power meter"),
    AlarmKind.POWER_SWITCH_FAILURE: _l("Failure to control power switch"),
    AlarmKind.GROUND_FAILURE: _l("Ground failure"),
    AlarmKind.READER_FAILURE: _l("RFID reader failure"),
    AlarmKind.INTERNAL_ERROR: _l("Internal error"),
    AlarmKind.OTHER: _l("Other error"),
}


def subject_of(station: Station | None, outlet: Outlet | None = None) -> str:
    """Return the stable key of the node an alarm is about."""
    if outlet is not None:
        return f"outlet:{outlet.id}"
    if station is not None:
        return f"station:{station.id}"
    raise ValueError("an alarm needs a node")


#: session.info key: subject -> whether it may have an active alarm, for the
#: subjects read_active_subjects looked at (the session's unit of work)
_KNOWN = "alarms.known_subjects"

_ACTIVE_SUBJECTS = (
    select(Alarm.subject)
    .where(
        Alarm.subject.in_(bindparam("subjects", expanding=True)),
        Alarm.state == AlarmState.ACTIVE,
    )
    .distinct()
)


def read_active_subjects(stations: Iterable[Station]) -> None:
    """Read at once which of these stations and their outlets have an active alarm,
    for the rest of the session's unit of work: resolve_alarms then asks the
    database only about those (a batch of reconnects and status reports would ask
    once per message, nearly always to find nothing). An alarm raised later in the
    unit of work is known too (raise_alarm); the unit of work sees the alarms of
    others as they were when it read them."""
    subjects = set()
    for station in stations:
        subjects.add(subject_of(station))
        subjects.update(subject_of(station, outlet) for outlet in station.outlets)
    if not subjects:
        return
    known: dict[str, bool] = db.session.info.setdefault(_KNOWN, {})
    known.update(dict.fromkeys(subjects, False))
    for subject in db.session.scalars(_ACTIVE_SUBJECTS, {"subjects": list(subjects)}):
        known[subject] = True


def _known_inactive(subject: str) -> bool:
    return db.session.info.get(_KNOWN, {}).get(subject) is False


def _active(kind: AlarmKind, subject: str) -> Alarm | None:
    return db.session.scalars(
        select(Alarm).where(
            Alarm.kind == kind,
            Alarm.subject == subject,
            Alarm.state == AlarmState.ACTIVE,
        )
    ).first()


def raise_alarm(
    kind: AlarmKind,
    *,
    station: Station | None = None,
    outlet: Outlet | None = None,
    description: str = "",
    subject: str | None = None,
    node_name: str | None = None,
) -> Alarm:
    """Raise an alarm on a node, or refresh the active one of the same kind there
    (flushed at once: resolve_alarms reads the database without flushing)."""
    subject = subject or subject_of(station, outlet)
    text = description or str(DESCRIPTIONS[kind])
    known = db.session.info.get(_KNOWN)
    if known is not None and subject in known:
        known[subject] = True
    alarm = _active(kind, subject)
    if alarm is not None:
        alarm.description = text
        return alarm
    alarm = Alarm(
        kind=kind,
        subject=subject,
        node_name=node_name or (str(outlet) if outlet else station.chargebox_id),  # type: ignore[union-attr]
        site_id=station.site_id if station else None,
        station_id=station.id if station else None,
        outlet_id=outlet.id if outlet else None,
        description=text,
    )
    db.session.add(alarm)
    events.record_event(
        EventKind.ALARM,
        f"alarm raised: {text}",
        station=station,
        node_name=alarm.node_name,
        details={"kind": kind.value},
    )
    db.session.flush()
    return alarm


def resolve_alarms(
    *,
    station: Station | None = None,
    outlet: Outlet | None = None,
    kinds: tuple[AlarmKind, ...] | None = None,
    subject: str | None = None,
) -> list[Alarm]:
    """Move the node's active alarms (of the given kinds) to history as resolved.

    Read without flushing the unit of work first (a storm of reconnecting stations
    would flush once per station): raise_alarm flushes every alarm it adds, so the
    database holds them all, and one resolved in memory but not yet written still
    reads as active there, so the state in memory decides. A subject
    read_active_subjects found without an active alarm is not asked about."""
    subject = subject or subject_of(station, outlet)
    if _known_inactive(subject):
        return []
    stmt = select(Alarm).where(
        Alarm.subject == subject, Alarm.state == AlarmState.ACTIVE
    )
    if kinds:
        stmt = stmt.where(Alarm.kind.in_(kinds))
    with db.session.no_autoflush:
        found = db.session.scalars(stmt).all()
    resolved = [alarm for alarm in found if alarm.state is AlarmState.ACTIVE]
    now = utcnow()
    for alarm in resolved:
        alarm.state = AlarmState.RESOLVED
        alarm.ended_at = now
    return resolved


def clear_alarm(actor: User, alarm_id: int) -> Alarm:
    """Clear an active alarm by hand: it moves to history with who and when."""
    require_role(actor, Role.ADMIN, Role.SITE_ADMIN, Role.SUPPORT)
    alarm = get_scoped(Alarm, alarm_id, actor)
    if alarm.state is not AlarmState.ACTIVE:
        raise Conflict(_l("The alarm is no longer active."))
    alarm.state = AlarmState.CLEARED
    alarm.ended_at = utcnow()
    alarm.cleared_by = actor
    audit.record_change(
        actor, "update", alarm, {"state": ["active", "cleared"]}, site_id=alarm.site_id
    )
    db.session.flush()
    return alarm
