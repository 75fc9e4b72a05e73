"""Stations as the portal sees them: who may connect, boot, heartbeat, status, keys.

Protocol-neutral: the OCPP adapters translate their messages into these calls
(design.md "Station → portal"); a station's identity is its chargebox id.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import (
    KEY_LENGTH,
    AlarmKind,
    ConnectPolicy,
    EventKind,
    Outlet,
    OutletStatus,
    Protocol,
    RegistrationState,
    Role,
    Station,
    StationConfigKey,
    User,
    utcnow,
)
from app.services import alarms, audit, events, signals, topology
from app.services.access import require_role, require_site_manager
from app.services.errors import InvalidInput

# Station-level faults live on connector 0 in OCPP; we keep them on the station.
STATION_LEVEL = 0


class Admission(enum.StrEnum):
    """What happens to a station asking to connect."""

    ACCEPTED = "accepted"
    PENDING = "pending"  # unknown, kept for an administrator to adopt
    UNKNOWN = "unknown"  # refused: not registered
    BAD_PASSWORD = "bad_password"  # noqa: S105 (an outcome, not a password)


@dataclass(frozen=True)
class AdmissionResult:
    admission: Admission
    station: Station | None = None


@dataclass(frozen=True)
class BootInfo:
    """What a station says about itself when it boots."""

    vendor: str
    model: str
    serial_number: str = ""
    firmware_version: str = ""


class BootStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    PENDING = "pending"
    REJECTED = "rejected"


@dataclass(frozen=True)
class BootResult:
    status: BootStatus
    heartbeat_interval: int
    now: datetime
    # First contact (no key table yet): the adapter fetches the configuration.
    fetch_configuration: bool


@dataclass(frozen=True)
class ConfigKey:
    key: str
    value: str | None
    readonly: bool


# Built once: every station message reads its station (charging.py says why).
_BY_IDENTITY = select(Station).where(Station.chargebox_id == bindparam("chargebox_id"))
_WITH_OUTLETS = (
    select(Station)
    .where(Station.chargebox_id.in_(bindparam("chargebox_ids", expanding=True)))
    .options(selectinload(Station.outlets))
)
_WITH_CONFIGURATION = (
    select(Station)
    .where(Station.id.in_(bindparam("ids", expanding=True)))
    .options(selectinload(Station.config_keys))
)


def find_station(chargebox_id: str) -> Station | None:
    """Return the station with this identity, if registered."""
    return db.session.scalars(_BY_IDENTITY, {"chargebox_id": chargebox_id}).first()


def find_stations(
    chargebox_ids: Collection[str], *, with_configuration: Collection[str] = ()
) -> dict[str, Station]:
    """The registered stations among these identities, with their outlets, by
    chargebox id: what a batch of their messages reads, in three statements (the
    third: which of them and their outlets have an active alarm, for the rest of the
    unit of work: alarms.read_active_subjects). Those in ``with_configuration`` come
    with their key tables too (one more statement): a boot and a first-contact
    answer read them."""
    found = {
        station.chargebox_id: station
        for station in db.session.scalars(
            _WITH_OUTLETS, {"chargebox_ids": list(chargebox_ids)}
        )
    }
    alarms.read_active_subjects(found.values())
    ids = [found[c].id for c in with_configuration if c in found]
    if ids:
        db.session.scalars(_WITH_CONFIGURATION, {"ids": ids}).all()
    return found


def _registered(
    password_hash: str | None, registration: RegistrationState, password: str | None
) -> Admission:
    """A registered station's admission: its password if it has one, then its
    registration."""
    if password_hash and not (
        password and check_password_hash(password_hash, password)
    ):
        return Admission.BAD_PASSWORD
    if registration is RegistrationState.PENDING:
        return Admission.PENDING
    return Admission.ACCEPTED


# Built once: a connection's handshake reads these only (admit_connection), as a
# Core statement on the table (no ORM entity: the session runs it as it is).
_STATION = cast(Table, Station.__table__).c
_ADMISSION = select(
    _STATION.auth_password_hash, _STATION.protocol, _STATION.registration
).where(_STATION.chargebox_id == bindparam("chargebox_id"))


def admit_connection(
    chargebox_id: str, password: str | None, *, protocol: Protocol, address: str | None
) -> Admission:
    """admit_station for a connection's handshake, committed: the same decision.
    The common case, a registered station that still speaks ``protocol`` and brings
    its password if it has one, is one row read and nothing written (a fleet
    reconnecting at once is admitted thousands of times in seconds); anything else
    is admit_station's."""
    row = db.session.execute(_ADMISSION, {"chargebox_id": chargebox_id}).first()
    if row is not None and row.protocol is protocol:
        admission = _registered(row.auth_password_hash, row.registration, password)
        if admission is not Admission.BAD_PASSWORD:
            return admission
    result = admit_station(chargebox_id, password, protocol=protocol, address=address)
    db.session.commit()
    return result.admission


def admit_station(
    chargebox_id: str, password: str | None, *, protocol: Protocol, address: str | None
) -> AdmissionResult:
    """Decide whether a station may connect (spec §8 Policies, OCPP security profile 1)."""
    station = find_station(chargebox_id)
    if station is not None:
        admission = _registered(
            station.auth_password_hash, station.registration, password
        )
        if admission is Admission.BAD_PASSWORD:
            events.record_event(
                EventKind.REJECTED,
                "connection refused: wrong or missing password",
                station=station,
                details={"address": address},
            )
            return AdmissionResult(Admission.BAD_PASSWORD, station)
        if station.protocol is not protocol:
            # The station speaks the other protocol now: commands must follow it.
            events.record_event(
                EventKind.CONFIG_CHANGE,
                f"protocol changed from {station.protocol.value} to {protocol.value}",
                station=station,
            )
            station.protocol = protocol
        return AdmissionResult(admission, station)

    policy = topology.get_settings().connect_policy
    alarms.raise_alarm(
        AlarmKind.NOT_REGISTERED,
        subject=f"identity:{chargebox_id[:60]}",
        node_name=chargebox_id[:160],
        description=str(_l("Unknown station %(id)s tried to connect", id=chargebox_id)),
    )
    if policy is ConnectPolicy.KNOWN_ONLY:
        events.record_event(
            EventKind.REJECTED,
            f"unknown station {chargebox_id} refused",
            node_name=chargebox_id,
            details={"address": address},
        )
        return AdmissionResult(Admission.UNKNOWN)
    station = Station(
        chargebox_id=topology.check_chargebox_id(chargebox_id),
        name=chargebox_id,
        protocol=protocol,
        registration=(
            RegistrationState.ACCEPTED
            if policy is ConnectPolicy.AUTO_REGISTER
            else RegistrationState.PENDING
        ),
        heartbeat_interval=topology.get_settings().default_heartbeat_interval,
    )
    db.session.add(station)
    db.session.flush()
    audit.record_create(None, station)
    return AdmissionResult(
        Admission.ACCEPTED
        if station.registration is RegistrationState.ACCEPTED
        else Admission.PENDING,
        station,
    )


def set_station_password(actor: User, station: Station, password: str | None) -> None:
    """Set or remove the station's HTTP Basic password (stored hashed only)."""
    if actor.role is not Role.SUPPORT:
        require_site_manager(actor, station.site_id)
    if password is not None and len(password) < 16:
        raise InvalidInput(_l("A station password has at least 16 characters."))
    station.auth_password_hash = generate_password_hash(password) if password else None
    audit.record_change(
        actor, "update", station, {}, site_id=station.site_id, secret_changed=True
    )
    db.session.flush()


def adopt_station(actor: User, station: Station, *, site_id: int) -> Station:
    """Accept a pending station into a site (administrators)."""
    require_role(actor, Role.ADMIN)
    site = topology.find_site_by_id(site_id)
    station.site = site
    station.registration = RegistrationState.ACCEPTED
    audit.record_change(
        actor,
        "update",
        station,
        {"registration": ["pending", "accepted"]},
        site_id=site.id,
    )
    db.session.flush()
    return station


#: How stale `Station.last_seen_at` may get while a station is online: a station
#: talking every second is written at most this often (offline thresholds are >= 60 s).
LAST_SEEN_RESOLUTION = timedelta(seconds=10)


def seen_recently(last_seen_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a last-seen time is within `LAST_SEEN_RESOLUTION` of now."""
    if last_seen_at is None:
        return False
    return (now or utcnow()) - last_seen_at < LAST_SEEN_RESOLUTION


def mark_connected(station: Station, *, endpoint: str | None = None) -> bool:
    """Note that the station is online; a "no network" alarm on it resolves.

    Coalesced: a station already online and seen within `LAST_SEEN_RESOLUTION` is
    left as it is (no write). A station already online has no "no network" alarm to
    resolve: the offline check marks a station offline in the same unit of work that
    raises the alarm, so only a station that was offline is looked at. Returns
    whether anything was written.
    """
    now = utcnow()
    if station.online and not endpoint and seen_recently(station.last_seen_at, now):
        return False
    was_online = station.online
    station.online = True
    station.last_seen_at = now
    if endpoint:
        station.endpoint_address = endpoint[:255]
    if not was_online:
        alarms.resolve_alarms(station=station, kinds=(AlarmKind.NO_NETWORK,))
        events.note_station_event(EventKind.CONNECTED, "station connected", station)
        signals.announce(
            db.session(), signals.station_connected, station_id=station.id, booted=False
        )
    return True


def mark_disconnected(station: Station) -> None:
    """Note that the station's connection closed."""
    if station.online:
        station.online = False
        events.note_station_event(
            EventKind.DISCONNECTED, "station disconnected", station
        )
        signals.announce(
            db.session(), signals.station_disconnected, station_id=station.id
        )


def record_boot(station: Station, info: BootInfo) -> BootResult:
    """Store what the station says about itself; answer with its heartbeat interval."""
    station.vendor = info.vendor[:50]
    station.model = info.model[:50]
    station.serial_number = (info.serial_number or "")[:50]
    station.firmware_version = (info.firmware_version or "")[:50]
    mark_connected(station)
    events.note_station_event(
        EventKind.BOOT,
        f"boot: {info.vendor} {info.model}, firmware {info.firmware_version or '?'}",
        station,
    )
    status = (
        BootStatus.ACCEPTED
        if station.registration is RegistrationState.ACCEPTED
        else BootStatus.PENDING
    )
    first_contact = status is BootStatus.ACCEPTED and not station.config_keys
    signals.announce(
        db.session(), signals.station_connected, station_id=station.id, booted=True
    )
    return BootResult(status, station.heartbeat_interval, utcnow(), first_contact)


def record_heartbeat(station: Station) -> datetime:
    """Note that the station is alive; return the time to tell it."""
    mark_connected(station)
    return utcnow()


def outlet_of(station: Station, number: int) -> Outlet | None:
    """Return the station's outlet with this number; a number 1-4 the station reports
    but the portal lacks is added (as SteVe does), so no session goes unrecorded."""
    outlet = next(
        (outlet for outlet in station.outlets if outlet.number == number), None
    )
    if outlet is None and 1 <= number <= topology.MAX_OUTLETS:
        outlet = topology.create_outlet(None, station, number=number)
        db.session.flush()
    return outlet


def record_status(
    station: Station,
    outlet_number: int,
    status: OutletStatus,
    *,
    fault: AlarmKind | None = None,
    error_code: str = "",
    info: str = "",
    timestamp: datetime | None = None,
) -> None:
    """Update an outlet's status; a fault raises its alarm, a healthy report resolves it.

    outlet_number 0 is the station itself; numbers over 4 are only logged.
    """
    mark_connected(station)
    outlet = (
        outlet_of(station, outlet_number) if outlet_number != STATION_LEVEL else None
    )
    node = str(outlet) if outlet else station.chargebox_id
    events.note_station_event(
        EventKind.STATUS,
        f"{node}: {status.value}" + (f" ({error_code})" if error_code else ""),
        station=station,
        node_name=node,
        details={"info": info} if info else None,
    )
    if outlet_number != STATION_LEVEL and outlet is None:
        return
    # An outlet whose last report was healthy has no alarm a report could resolve:
    # only a report with an error code or "Faulted" raises one (below), and it is
    # stored with the outlet. So the alarm lookup is left out for it.
    was_healthy = False
    if outlet is not None:
        # A report queued while offline must not overwrite a newer one.
        if timestamp and outlet.status_at and timestamp < outlet.status_at:
            return
        was_healthy = (
            outlet.status is not OutletStatus.FAULTED and not outlet.error_code
        )
        if outlet.status is not status:
            signals.announce(
                db.session(),
                signals.outlet_status_changed,
                outlet_id=outlet.id,
                station_id=station.id,
                site_id=station.site_id,
                status=status.value,
            )
        outlet.status = status
        outlet.error_code = error_code[:40]
        outlet.status_at = timestamp or utcnow()
    if fault is not None:
        description = str(alarms.DESCRIPTIONS[fault]) + (f": {info}" if info else "")
        alarms.raise_alarm(
            fault, station=station, outlet=outlet, description=description
        )
    elif not was_healthy:
        alarms.resolve_alarms(station=station, outlet=outlet, kinds=_BY_STATUS)


# Alarms a status report speaks for (not "no network", not "not registered").
_BY_STATUS = tuple(
    kind
    for kind in AlarmKind
    if kind not in (AlarmKind.NO_NETWORK, AlarmKind.NOT_REGISTERED)
)


def store_configuration(
    station: Station, keys: list[ConfigKey], unknown: list[str] | None = None
) -> None:
    """Replace the station's key table with what it reported (spec §8 Station OCPP)."""
    existing = {row.key: row for row in station.config_keys}
    reported = set()
    now = utcnow()
    for item in keys:
        key = item.key[:KEY_LENGTH]
        reported.add(key)
        row = existing.get(key)
        if row is None:
            station.config_keys.append(
                StationConfigKey(
                    key=key,
                    value=None if item.value is None else item.value[:500],
                    readonly=item.readonly,
                    fetched_at=now,
                )
            )
        else:
            row.value = None if item.value is None else item.value[:500]
            row.readonly = item.readonly
            row.fetched_at = now
    if not unknown:
        for key, row in existing.items():
            if key not in reported:
                station.config_keys.remove(row)


def record_config_change(station: Station, key: str, value: str) -> None:
    """Keep the key table in step after the station accepted a change."""
    for row in station.config_keys:
        if row.key == key:
            row.value = value
            row.fetched_at = utcnow()
            break
    else:
        station.config_keys.append(
            StationConfigKey(key=key[:KEY_LENGTH], value=value[:500])
        )
    db.session.flush()


def record_firmware_status(station: Station, status: str) -> None:
    """Note a firmware update's progress (Downloading, Installed, …)."""
    station.firmware_status = status[:40]
    mark_connected(station)
    events.note_station_event(EventKind.FIRMWARE, f"firmware: {status}", station)
    db.session.flush()


def record_diagnostics_status(station: Station, status: str) -> None:
    """Note a diagnostics upload's progress (Uploaded, UploadFailed, …)."""
    station.diagnostics_status = status[:40]
    mark_connected(station)
    events.note_station_event(EventKind.DIAGNOSTICS, f"diagnostics: {status}", station)
    db.session.flush()


class DataTransferStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNKNOWN_VENDOR = "unknown_vendor"
    UNKNOWN_MESSAGE = "unknown_message"


def record_data_transfer(
    station: Station, vendor_id: str, message_id: str | None, data: str | None
) -> DataTransferStatus:
    """Log a vendor-specific message; no vendor extension is known to the portal yet."""
    mark_connected(station)
    events.note_station_event(
        EventKind.DATA_TRANSFER,
        f"data transfer from vendor {vendor_id[:255]}",
        station,
        details={"message_id": message_id, "data": (data or "")[:2000]},
    )
    db.session.flush()
    return DataTransferStatus.UNKNOWN_VENDOR


def detect_offline(now: datetime | None = None) -> list[Station]:
    """Raise "no network" for stations silent past the policy's threshold.

    A closed connection alone raises nothing: a station may reconnect at once.
    """
    now = now or utcnow()
    threshold = timedelta(seconds=topology.get_settings().offline_threshold)
    silent = list(
        db.session.scalars(
            select(Station).where(
                Station.registration == RegistrationState.ACCEPTED,
                Station.last_seen_at < now - threshold,
            )
        )
    )
    for station in silent:
        station.online = False
        alarms.raise_alarm(
            AlarmKind.NO_NETWORK,
            station=station,
            description=str(
                _l(
                    "No contact for more than %(n)d seconds",
                    n=int(threshold.total_seconds()),
                )
            ),
        )
    db.session.flush()
    return silent
