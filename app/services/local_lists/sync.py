"""Bringing a station's local list up to date, and what the Control tab shows of it.

A sync of one station holds its list row (`busy_until`, a lease, so that one sync
runs at a time in any process), clears `pending`, compares what the station should
hold with what it was sent (entries.py) and sends the difference as a Differential
SendLocalList with the next version; a station that answers VersionMismatch or
Failed gets the whole list as Full. A Full list (a person's "Send RFID list", or a
station that lost count) follows its entries. Lists longer than the station's
SendLocalListMaxLength (2.0.1: LocalAuthListCtrlr/ItemsPerMessage) go in parts:
the first Full, the rest Differential, each part recorded once accepted. A station
that says it has no local list (NotSupported, a 1.6 feature profile without
LocalAuthListManagement, GetLocalListVersion -1) is remembered and skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, or_, select, update

from app.extensions import db
from app.models import (
    LocalListTag,
    RegistrationState,
    Station,
    StationLocalList,
    User,
    utcnow,
)
from app.services import commands
from app.services.commands import CommandResult, CommandStatus, LocalListEntry
from app.services.errors import Conflict, PermissionDenied
from app.services.local_lists.entries import desired, difference, held, store

#: how long a sync may hold a station's list (then another may take it over)
LEASE = timedelta(minutes=5)
#: answers to a Differential update after which the station gets the whole list
START_OVER = ("VersionMismatch", "Failed")
_NOT_SUPPORTED = ("NotSupported", "NotImplemented")
_PART_KEYS = ("SendLocalListMaxLength", "LocalAuthListCtrlr/ItemsPerMessage")
_SINCE_2020 = 1_577_836_800  # a Full list's version: seconds since 2020 (int32)
#: how often one sync goes round again when the tags changed while it sent
ROUNDS = 3


@dataclass(frozen=True)
class ListStatus:
    """What the Control tab shows of a station's local list."""

    version: int
    sent_at: datetime | None
    entries: int
    waiting: int  # differences not yet sent (0 unless pending)
    pending: bool
    full_needed: bool
    supported: bool
    station_version: int | None
    station_version_at: datetime | None
    last_result: str
    last_attempt_at: datetime | None


def status_of(station: Station) -> ListStatus | None:
    """Return the state of the station's local list, or None when the portal keeps
    none there (no list was ever sent)."""
    row = db.session.get(StationLocalList, station.id)
    if row is None:
        return None
    count = db.session.scalar(
        select(func.count(LocalListTag.id)).where(LocalListTag.station_id == station.id)
    )
    waiting = (  # only worked out when a change waits (10,000 tags: about 0.7 s)
        len(difference(desired(station), held(station.id)))
        if row.supported and row.pending
        else 0
    )
    return ListStatus(
        row.version,
        row.sent_at,
        count or 0,
        waiting,
        row.pending,
        row.full_needed,
        row.supported,
        row.station_version,
        row.station_version_at,
        row.last_result,
        row.last_attempt_at,
    )


# ---------------------------------------------------------------------------
# What a person asks on the Control tab


def send_full(actor: User | None, station: Station) -> CommandResult:
    """Send the station its whole list now; from then on the portal keeps it up to
    date. An offline station gets it when it is back."""
    if not commands.may_command(actor, station):
        raise PermissionDenied(_l("You may not send commands to this station."))
    row = db.session.get(StationLocalList, station.id)
    if row is None:
        row = StationLocalList(station_id=station.id, version=0, last_result="")
        db.session.add(row)
    row.supported = True
    row.full_needed = True
    row.pending = True
    db.session.commit()
    if not _claim(station.id):
        raise Conflict(_l("The RFID list is being sent to this station right now."))
    try:
        result = _send(actor, station, row, desired(station).values(), full=True)
        _conclude(row, result)
    finally:
        _release(station.id)
    return result


def fetch_version(actor: User | None, station: Station) -> CommandResult:
    """Ask the station which version of its local list it holds, and remember it."""
    result = commands.send_command(actor, station, commands.GetLocalListVersion())
    row = db.session.get(StationLocalList, station.id)
    if row is not None and result.ok:
        _record_station_version(row, result.data.get("version"))
        db.session.commit()
    return result


# ---------------------------------------------------------------------------
# Keeping the lists up to date


def stations_to_sync(booted: Iterable[int] = ()) -> list[int]:
    """Return the online stations whose list waits for a change (and those of
    `booted` that have a list at all: they are asked for their version)."""
    booted = set(booted)
    wanted: ColumnElement[bool] = StationLocalList.pending.is_(True)
    if booted:
        wanted = or_(wanted, StationLocalList.station_id.in_(booted))
    query = (
        select(StationLocalList.station_id)
        .join(Station, Station.id == StationLocalList.station_id)
        .where(
            wanted,
            StationLocalList.supported.is_(True),
            Station.online.is_(True),
            Station.registration == RegistrationState.ACCEPTED,
        )
        .order_by(StationLocalList.station_id)
    )
    return list(db.session.scalars(query))


def sync_pending() -> list[int]:
    """Bring every online station's waiting list up to date (the periodic job:
    failures and stations that came back without a boot)."""
    ids = stations_to_sync()
    for station_id in ids:
        sync_station(station_id)
    return ids


def sync_station(station_id: int, *, check_version: bool = False) -> str:
    """Bring one station's list up to date; tell what happened. With
    `check_version` (after a boot) the station is first asked for its version: one
    that differs from what the portal sent gets the whole list."""
    outcome = "not kept"
    for _round in range(ROUNDS):
        db.session.rollback()  # see what other connections committed
        station = db.session.get(Station, station_id)
        row = db.session.get(StationLocalList, station_id)
        if station is None or row is None or not row.supported:
            return "not kept"
        if not station.online or station.registration is not RegistrationState.ACCEPTED:
            return "offline"
        if not _claim(station_id):
            return "busy"
        try:
            outcome = _bring_up_to_date(station, row, check_version=check_version)
        finally:
            _release(station_id)
        check_version = False
        if outcome != "sent" or not row.pending:
            return outcome
    return outcome


def _bring_up_to_date(
    station: Station, row: StationLocalList, *, check_version: bool
) -> str:
    if _features_say_no(station):
        _unsupported(row, "LocalAuthListManagement")
        return "not supported"
    if check_version:
        answer = commands.query_station(station, commands.GetLocalListVersion())
        if answer.ok:
            _record_station_version(row, answer.data.get("version"))
            if not row.supported:
                db.session.commit()
                return "not supported"
            if row.station_version != row.version:
                row.full_needed = True
            db.session.commit()
    want = desired(station)
    if row.full_needed or row.sent_at is None:
        result = _send(None, station, row, want.values(), full=True)
    else:
        changes = difference(want, held(station.id))
        if not changes:
            return "up to date"
        result = _send(None, station, row, changes, full=False)
        if result.status is CommandStatus.REJECTED and result.detail in START_OVER:
            result = _send(None, station, row, desired(station).values(), full=True)
    return _conclude(row, result)


def _send(
    actor: User | None,
    station: Station,
    row: StationLocalList,
    entries: Iterable[LocalListEntry],
    *,
    full: bool,
) -> CommandResult:
    """Send entries (in parts if the station takes fewer at once); record each part
    the station accepted. Returns the last answer."""
    items = tuple(entries)
    size = _part_size(station) or len(items) or 1
    parts = [items[i : i + size] for i in range(0, len(items), size)] or [()]
    result = CommandResult(CommandStatus.ERROR)
    for index, part in enumerate(parts):
        whole = full and index == 0
        version = _next_version(row, full=whole)
        result = commands.send_command(
            actor, station, commands.SendLocalList(version, whole, part)
        )
        row.last_attempt_at = utcnow()
        row.last_result = (result.detail or result.status.value)[:200]
        if not result.ok:
            db.session.commit()
            return result
        store(station.id, part, full=whole)
        row.version = version
        row.sent_at = utcnow()
        if whole:
            row.full_needed = False
        db.session.commit()
    return result


def _conclude(row: StationLocalList, result: CommandResult) -> str:
    """Remember what the answer means for next time."""
    if result.ok:
        return "sent"
    if result.detail.startswith(_NOT_SUPPORTED):
        _unsupported(row, result.detail)
        return "not supported"
    if result.status is CommandStatus.REJECTED and result.detail in START_OVER:
        row.full_needed = True
    row.pending = True  # sent again on reconnect or by the periodic job
    db.session.commit()
    return "failed"


def _next_version(row: StationLocalList, *, full: bool) -> int:
    if not full:
        return row.version + 1
    newest = max(row.version, row.station_version or 0) + 1
    return max(newest, int(utcnow().timestamp()) - _SINCE_2020)


def _record_station_version(row: StationLocalList, version: object) -> None:
    if not isinstance(version, int):
        return
    row.station_version = version
    row.station_version_at = utcnow()
    if version < 0:  # OCPP 1.6: -1 says the station has no local list
        _unsupported(row, "GetLocalListVersion -1")


def _unsupported(row: StationLocalList, why: str) -> None:
    row.supported = False
    row.pending = False
    row.last_result = f"not supported ({why})"[:200]
    db.session.commit()


def _config(station: Station) -> dict[str, str | None]:
    return {key.key: key.value for key in station.config_keys}


def _features_say_no(station: Station) -> bool:
    """Whether the station's reported keys say it has no local list."""
    keys = _config(station)
    profiles = keys.get("SupportedFeatureProfiles")
    if profiles is not None and "LocalAuthListManagement" not in profiles:
        return True
    return (keys.get("LocalAuthListCtrlr/Available") or "").lower() == "false"


def _part_size(station: Station) -> int | None:
    keys = _config(station)
    for name in _PART_KEYS:
        value = (keys.get(name) or "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


def _claim(station_id: int) -> bool:
    """Hold the station's list for one sync; False if another holds it."""
    now = utcnow()
    result = db.session.execute(
        update(StationLocalList)
        .where(
            StationLocalList.station_id == station_id,
            or_(
                StationLocalList.busy_until.is_(None),
                StationLocalList.busy_until < now,
            ),
        )
        .values(busy_until=now + LEASE, pending=False)
        .execution_options(synchronize_session="fetch")
    )
    db.session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _release(station_id: int) -> None:
    db.session.rollback()  # an answer that failed half-way leaves nothing behind
    db.session.execute(
        update(StationLocalList)
        .where(StationLocalList.station_id == station_id)
        .values(busy_until=None)
        .execution_options(synchronize_session="fetch")
    )
    db.session.commit()
