"""What the portal asks of a station (spec §8 Station Control), through a gateway.

Each command is a small frozen dataclass in the spec's words; the gateway (declared
here, implemented in ocpp_server/gateway.py) carries it over the station's protocol
and answers with a CommandResult. This module checks who may send what, writes the
event log, and - the one exception to "entry points commit" (style.md §5) - commits
"command sent" before sending and the result after, because a sent command cannot
be rolled back.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AccessRule,
    ChargingSession,
    EventKind,
    Role,
    Station,
    User,
    utcnow,
)
from app.services import (
    access_policies,
    charging,
    events,
    schedule,
    station_reports,
    stations,
)
from app.services.access import may_manage_site
from app.services.errors import Conflict, InvalidInput, PermissionDenied

DEFAULT_TIMEOUT = 30.0


class CommandStatus(enum.StrEnum):
    """Every command ends in one of these (design.md "Portal → station")."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    OFFLINE = "offline"
    TIMED_OUT = "timed out"
    ERROR = "error"


@dataclass(frozen=True)
class CommandResult:
    status: CommandStatus
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is CommandStatus.ACCEPTED


# The commands, protocol-neutral. outlet 0 means the whole station where allowed.


@dataclass(frozen=True)
class Reset:
    hard: bool = False


@dataclass(frozen=True)
class ChangeAvailability:
    outlet: int
    operative: bool


@dataclass(frozen=True)
class ChangeConfiguration:
    key: str
    value: str


@dataclass(frozen=True)
class GetConfiguration:
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClearCache:
    pass


@dataclass(frozen=True)
class UnlockOutlet:
    outlet: int


@dataclass(frozen=True)
class RemoteStart:
    tag: str
    outlet: int | None = None
    charging_profile: dict[str, Any] | None = None


@dataclass(frozen=True)
class RemoteStop:
    session_id: int
    #: the station's own id of the session (OCPP 2.0.1), filled in by send_command
    transaction_ref: str | None = None


@dataclass(frozen=True)
class UpdateFirmware:
    location: str
    retrieve_at: datetime
    retries: int | None = None
    retry_interval: int | None = None


@dataclass(frozen=True)
class GetDiagnostics:
    location: str
    start: datetime | None = None
    stop: datetime | None = None
    retries: int | None = None
    retry_interval: int | None = None


@dataclass(frozen=True)
class LocalListEntry:
    tag: str
    status: str | None = None  # accepted / blocked / expired / invalid; None removes
    expires_at: datetime | None = None
    parent_tag: str | None = None


@dataclass(frozen=True)
class SendLocalList:
    version: int
    full: bool
    entries: tuple[LocalListEntry, ...] = ()


@dataclass(frozen=True)
class GetLocalListVersion:
    pass


@dataclass(frozen=True)
class ReserveNow:
    outlet: int
    expires_at: datetime
    tag: str
    reservation_id: int
    parent_tag: str | None = None


@dataclass(frozen=True)
class CancelReservation:
    reservation_id: int


@dataclass(frozen=True)
class TriggerMessage:
    message: str  # BootNotification, Heartbeat, StatusNotification, MeterValues, …
    outlet: int | None = None


@dataclass(frozen=True)
class SetChargingProfile:
    outlet: int
    profile: dict[str, Any]


@dataclass(frozen=True)
class ClearChargingProfile:
    profile_id: int | None = None
    outlet: int | None = None
    purpose: str | None = None
    stack_level: int | None = None


@dataclass(frozen=True)
class GetCompositeSchedule:
    outlet: int
    duration: int
    rate_unit: str | None = None  # "A" or "W"


@dataclass(frozen=True)
class DataTransfer:
    vendor_id: str
    message_id: str | None = None
    data: str | None = None


Command = (
    Reset
    | ChangeAvailability
    | ChangeConfiguration
    | GetConfiguration
    | ClearCache
    | UnlockOutlet
    | RemoteStart
    | RemoteStop
    | UpdateFirmware
    | GetDiagnostics
    | SendLocalList
    | GetLocalListVersion
    | ReserveNow
    | CancelReservation
    | TriggerMessage
    | SetChargingProfile
    | ClearChargingProfile
    | GetCompositeSchedule
    | DataTransfer
)


@dataclass(frozen=True)
class StationAddress:
    """What a gateway needs to reach a station (no ORM object crosses threads)."""

    chargebox_id: str
    protocol: str
    endpoint: str | None


class StationGateway(Protocol):
    """Carries a command to a station over its protocol and reports the outcome."""

    def send(
        self, station: StationAddress, command: Command, timeout: float
    ) -> CommandResult: ...


def _gateway() -> StationGateway:
    gateway: StationGateway = current_app.extensions["station_gateway"]
    return gateway


def _timeout() -> float:
    return float(current_app.config.get("OCPP_COMMAND_TIMEOUT", DEFAULT_TIMEOUT))


def may_command(user: User | None, station: Station) -> bool:
    """Tell whether a user may send commands to a station (spec §1)."""
    if user is None:
        return True  # the portal itself (first-contact fetch, schedules)
    if user.role in (Role.ADMIN, Role.SUPPORT):
        return True
    return station.site_id is not None and may_manage_site(user, station.site_id)


def send_command(
    actor: User | None, station: Station, command: Command
) -> CommandResult:
    """Send a command: check the role, log it, send it, log and return the result."""
    if not may_command(actor, station):
        raise PermissionDenied(_l("You may not send commands to this station."))
    name = type(command).__name__
    command = _as_the_station_names_it(command)
    address = StationAddress(
        station.chargebox_id, station.protocol.value, station.endpoint_address
    )
    events.record_event(
        EventKind.COMMAND_SENT,
        f"{name} sent",
        station=station,
        user=actor,
        details={"command": name},
    )
    db.session.commit()
    result = _gateway().send(address, command, _timeout())
    events.record_event(
        EventKind.COMMAND_RESULT,
        f"{name}: {result.status.value}"
        + (f" ({result.detail})" if result.detail else ""),
        station=station,
        user=actor,
        details={"command": name, "status": result.status.value},
    )
    if isinstance(command, GetConfiguration) and result.ok and "keys" in result.data:
        # (an OCPP 2.0.1 station sends its whole table later: station_reports.py)
        keys = [
            stations.ConfigKey(k["key"], k.get("value"), bool(k.get("readonly")))
            for k in result.data["keys"]
        ]
        if command.keys:
            station_reports.store_variables(station, keys)
        else:
            stations.store_configuration(station, keys, result.data.get("unknown_keys"))
    if isinstance(command, ChangeConfiguration) and result.ok:
        stations.record_config_change(station, command.key, command.value)
    db.session.commit()
    return result


def _as_the_station_names_it(command: Command) -> Command:
    """Name a session as its station knows it: an OCPP 2.0.1 station by its own
    transaction id (app/services/transactions.py), the others by the session's id."""
    if isinstance(command, RemoteStop) and command.transaction_ref is None:
        session = db.session.get(ChargingSession, command.session_id)
        if session is not None and session.transaction_ref:
            return replace(command, transaction_ref=session.transaction_ref)
    if isinstance(command, SetChargingProfile) and isinstance(
        command.profile.get("transaction_id"), int
    ):
        session = db.session.get(ChargingSession, command.profile["transaction_id"])
        if session is not None and session.transaction_ref:
            profile = {**command.profile, "transaction_id": session.transaction_ref}
            return replace(command, profile=profile)
    return command


def query_station(station: Station, command: Command) -> CommandResult:
    """Ask a station something without changing it, unlogged (the schedule job
    reads composite schedules every few minutes; the event log keeps changes)."""
    address = StationAddress(
        station.chargebox_id, station.protocol.value, station.endpoint_address
    )
    return _gateway().send(address, command, _timeout())


def fetch_configuration(actor: User | None, station: Station) -> CommandResult:
    """Fetch the station's whole key table and store it (spec §9 first contact)."""
    return send_command(actor, station, GetConfiguration())


def change_configuration(
    actor: User | None, station: Station, key: str, value: str
) -> CommandResult:
    """Change one key; a read-only key is refused before anything is sent."""
    for row in station.config_keys:
        if row.key == key and row.readonly:
            raise InvalidInput(_l("The key %(key)s is read-only.", key=key))
    return send_command(actor, station, ChangeConfiguration(key, value))


@dataclass(frozen=True)
class RemoteStartResult:
    result: CommandResult
    session_id: int | None


def remote_start(
    actor: User | None,
    station: Station,
    tag: str,
    outlet: int | None,
    *,
    wait: float = 0.0,
) -> RemoteStartResult:
    """Ask the station to start; if accepted, wait up to `wait` s for the session."""
    refusal = schedule.start_refusal(station, outlet)  # spec §6b charging windows
    if refusal is not None:
        raise Conflict(str(refusal))
    # spec §8 Policies: a group outlet starts for its members only. A tag the
    # portal does not know is the station's to judge (it may hold it in its list).
    refused_by = charging.authorize(station, tag, outlet).refused_by
    if refused_by is not None and refused_by.rule is AccessRule.GROUPS:
        raise Conflict(access_policies.refusal_message(refused_by))
    asked_at = utcnow()
    result = send_command(actor, station, RemoteStart(tag=tag, outlet=outlet))
    if not result.ok or wait <= 0:
        return RemoteStartResult(result, None)
    deadline = time.monotonic() + wait
    query = select(ChargingSession.id).where(
        ChargingSession.station_id == station.id,
        ChargingSession.logged_at >= asked_at,
    )
    if outlet:
        query = query.where(ChargingSession.outlet_number == outlet)
    while time.monotonic() < deadline:
        db.session.rollback()  # see what other connections committed
        session_id = db.session.scalars(query.order_by(ChargingSession.id)).first()
        if session_id is not None:
            return RemoteStartResult(result, session_id)
        time.sleep(0.1)
    return RemoteStartResult(result, None)
