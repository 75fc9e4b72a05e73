"""Start and stop charging for REST API callers, each followed by a command record.

A start or stop is recorded (ApiCommand), committed, and sent to the station on
the background pool; the caller waits up to `wait` seconds for the outcome (the
session started, or ended). Past that it gets the command to follow up: its state
advances when the station's session appears or ends (a receiver of the domain
signals, or whoever reads the command next).

Rules (spec §8 Services, §9 outlet mode): a service may start on the outlets it
has an id for, for a given RFID tag or anonymously (with its own start tag, so
RFID outlets accept it); an administrator's token must name the tag. A service
may stop only the sessions it started; an administrator any session.
"""

from __future__ import annotations

import logging
import secrets
import time
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.extensions import db
from app.models import (
    ApiCommand,
    ChargingSession,
    CommandKind,
    CommandState,
    ExternalService,
    Outlet,
    OutletStatus,
    RfidTag,
    User,
    utcnow,
)
from app.services import (
    api_access,
    background,
    charging,
    commands,
    signals,
    tags,
)
from app.services.api_access import Caller
from app.services.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StationUnavailable,
)

log = logging.getLogger(__name__)

OPEN_STATES = (CommandState.PENDING, CommandState.ACCEPTED)
_RESULT_STATES = {
    commands.CommandStatus.REJECTED: CommandState.REJECTED,
    commands.CommandStatus.OFFLINE: CommandState.OFFLINE,
    commands.CommandStatus.TIMED_OUT: CommandState.TIMED_OUT,
    commands.CommandStatus.ERROR: CommandState.FAILED,
}
_POLL_SECONDS = 0.1
# When this process last sent a start or stop: the receivers below have nothing to
# do without one (a status read advances commands sent by other processes).
_last_sent = {"at": -1e9}
_RECEIVER_WINDOW = 3600.0


@dataclass(frozen=True)
class Outcome:
    """A start or stop as it stands: the command, and the session once known."""

    command: ApiCommand | None
    session: ChargingSession | None

    @property
    def done(self) -> bool:
        return self.command is None or self.command.state is CommandState.DONE


def _expiry() -> timedelta:
    return timedelta(seconds=float(current_app.config["API_COMMAND_EXPIRY"]))


# ---------------------------------------------------------------------------
# Start


def service_start_tag(service_id: int) -> str:
    """Return the RFID tag a service's anonymous starts use, creating it once."""
    service = db.session.get(ExternalService, service_id)
    if service is None:
        raise NotFound(_l("No such service."))
    if service.start_tag_id is not None:
        tag = db.session.get(RfidTag, service.start_tag_id)
        if tag is not None:
            return tag.tag
    while True:
        # 16 decimal digits, starting with 9: fits OCPP's 20-character idTag.
        text = "9" + "".join(secrets.choice("0123456789") for _ in range(15))
        if tags.find_registered(text) is None:
            break
    tag = RfidTag(tag=text)
    db.session.add(tag)
    db.session.flush()
    service.start_tag_id = tag.id
    db.session.flush()
    return text


def _open_command(outlet: Outlet, kind: CommandKind) -> ApiCommand | None:
    return db.session.scalars(
        select(ApiCommand)
        .where(
            ApiCommand.outlet_id == outlet.id,
            ApiCommand.kind == kind,
            ApiCommand.state.in_(OPEN_STATES),
            ApiCommand.created_at >= utcnow() - _expiry(),
        )
        .order_by(ApiCommand.id)
    ).first()


def start_charging(
    caller: Caller, outlet: Outlet, tag: str | None, *, wait: float
) -> Outcome:
    """Ask the outlet's station to start charging; wait up to `wait` s for the session."""
    station = outlet.station
    if tag:
        tag = tags.resolve_typed(tag, station)
    elif caller.service_id is not None:
        tag = service_start_tag(caller.service_id)
    else:
        raise InvalidInput(_l("Give the RFID tag to start charging for."))
    if not station.online:
        raise StationUnavailable(_l("The station is offline."))
    if outlet.status in (OutletStatus.FAULTED, OutletStatus.UNAVAILABLE):
        raise Conflict(
            _l("The outlet is %(status)s: it cannot start.", status=outlet.status.value)
        )
    if api_access.running_session(outlet) is not None:
        raise Conflict(_l("A charging session is already running on this outlet."))
    if _open_command(outlet, CommandKind.START) is not None:
        raise Conflict(_l("A start on this outlet is already on its way."))
    authorization = charging.authorize(station, tag, outlet.number)
    if authorization.status is not charging.AuthorizationStatus.ACCEPTED:
        raise InvalidInput(
            _l(
                "The RFID tag may not charge on this outlet (%(status)s).",
                status=authorization.status.value,
            )
            if authorization.refused_by is None
            else _l(
                "The RFID tag may not charge on this outlet (%(status)s). %(refusal)s",
                status=authorization.status.value,
                refusal=authorization.refusal(),
            )
        )
    command = ApiCommand(
        kind=CommandKind.START,
        service_id=caller.service_id,
        user_id=caller.user_id,
        outlet_id=outlet.id,
        station_id=station.id,
        tag=tag,
    )
    db.session.add(command)
    db.session.commit()
    future = _submit(_send, command.id)
    return _await(command.id, future, wait)


# ---------------------------------------------------------------------------
# Stop


def stop_charging(caller: Caller, session: ChargingSession, *, wait: float) -> Outcome:
    """Ask the station to stop a session; wait up to `wait` s for it to end."""
    if caller.service_id is not None and not started_by(session, caller.service_id):
        raise PermissionDenied(_l("This service did not start this charging session."))
    if session.ended_at is not None:
        return Outcome(None, session)
    outlet = session.outlet
    pending = _open_command(outlet, CommandKind.STOP)
    if pending is not None and pending.session_id == session.id:
        return _await(pending.id, None, wait)
    if not session.station.online:
        raise StationUnavailable(_l("The station is offline."))
    command = ApiCommand(
        kind=CommandKind.STOP,
        service_id=caller.service_id,
        user_id=caller.user_id,
        outlet_id=outlet.id,
        station_id=session.station_id,
        session_id=session.id,
    )
    db.session.add(command)
    db.session.commit()
    future = _submit(_send, command.id)
    return _await(command.id, future, wait)


def started_by(session: ChargingSession, service_id: int) -> bool:
    """Tell whether the service started the session through the API."""
    return (
        db.session.scalar(
            select(ApiCommand.id).where(
                ApiCommand.kind == CommandKind.START,
                ApiCommand.session_id == session.id,
                ApiCommand.service_id == service_id,
            )
        )
        is not None
    )


# ---------------------------------------------------------------------------
# Following a command


def get_command(caller: Caller, command_uuid: str) -> Outcome:
    """Return one of the caller's own commands, advanced to what is known now."""
    command = db.session.scalars(
        select(ApiCommand).where(ApiCommand.uuid == (command_uuid or "").lower())
    ).first()
    if command is None or not _owns(caller, command):
        raise NotFound(_l("No such command."))
    if advance(command):
        db.session.commit()
    return Outcome(command, _session_of(command))


def _owns(caller: Caller, command: ApiCommand) -> bool:
    if caller.service_id is not None:
        return command.service_id == caller.service_id
    return command.service_id is None and command.user_id == caller.user_id


def _session_of(command: ApiCommand) -> ChargingSession | None:
    if command.session_id is None:
        return None
    return db.session.get(ChargingSession, command.session_id)


def advance(command: ApiCommand) -> bool:
    """Move an open command on from what the database shows; True if it changed."""
    if command.state not in OPEN_STATES:
        return False
    now = utcnow()
    if command.kind is CommandKind.START and command.session_id is not None:
        return _finish(command, CommandState.DONE)
    if command.kind is CommandKind.START and command.session_id is None:
        session_id = db.session.scalar(
            select(ChargingSession.id)
            .where(
                ChargingSession.outlet_id == command.outlet_id,
                ChargingSession.logged_at >= command.created_at,
                ChargingSession.id.not_in(
                    select(ApiCommand.session_id).where(
                        ApiCommand.kind == CommandKind.START,
                        ApiCommand.session_id.is_not(None),
                    )
                ),
            )
            .order_by(ChargingSession.id)
        )
        if session_id is not None:
            command.session_id = session_id
            return _finish(command, CommandState.DONE)
    if command.kind is CommandKind.STOP and command.session_id is not None:
        session = db.session.get(ChargingSession, command.session_id)
        if session is not None and session.ended_at is not None:
            return _finish(command, CommandState.DONE)
    # The station answered (or never will) and nothing followed in time.
    timeout = float(current_app.config.get("OCPP_COMMAND_TIMEOUT", 30.0))
    if now - command.created_at > _expiry() + timedelta(seconds=timeout):
        command.detail = str(
            _l("The station did not start charging in time.")
            if command.kind is CommandKind.START
            else _l("The station did not stop charging in time.")
        )
        return _finish(command, CommandState.FAILED)
    return False


def _finish(command: ApiCommand, state: CommandState) -> bool:
    command.state = state
    command.finished_at = utcnow()
    db.session.flush()
    return True


def _submit(fn: Any, *args: Any) -> Future[Any]:
    _last_sent["at"] = time.monotonic()
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return background.submit(app, fn, *args)


def _send(command_id: int) -> None:
    """Send a recorded start or stop to its station and record the station's answer."""
    command = db.session.get(ApiCommand, command_id)
    if command is None:
        return
    actor = db.session.get(User, command.user_id) if command.user_id else None
    station = command.station
    if command.kind is CommandKind.START:
        sent: commands.Command = commands.RemoteStart(
            tag=command.tag, outlet=command.outlet.number
        )
    else:
        assert command.session_id is not None
        sent = commands.RemoteStop(command.session_id)
    result = commands.send_command(actor, station, sent)  # commits
    # Conditional updates: the session may already have moved the command on
    # (another thread linked it) while the station's answer was on its way.
    if result.ok:
        db.session.execute(
            update(ApiCommand)
            .where(
                ApiCommand.id == command_id, ApiCommand.state == CommandState.PENDING
            )
            .values(state=CommandState.ACCEPTED)
        )
    else:
        db.session.execute(
            update(ApiCommand)
            .where(ApiCommand.id == command_id, ApiCommand.state.in_(OPEN_STATES))
            .values(
                state=_RESULT_STATES.get(result.status, CommandState.FAILED),
                detail=(result.detail or result.status.value)[:200],
                finished_at=utcnow(),
            )
        )
    db.session.commit()
    command = db.session.get(ApiCommand, command_id)
    if command is not None and advance(command):
        db.session.commit()


def _await(command_id: int, future: Future[Any] | None, wait: float) -> Outcome:
    """Wait up to `wait` s for the command to finish; return it as it stands."""
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        db.session.rollback()  # see what other connections committed
        command = db.session.get(ApiCommand, command_id)
        if command is None:
            raise NotFound(_l("No such command."))
        if advance(command):
            db.session.commit()
        if command.state not in OPEN_STATES or time.monotonic() >= deadline:
            return Outcome(command, _session_of(command))
        if future is not None and future.done() and future.exception() is not None:
            command.state = CommandState.FAILED
            command.detail = "internal error while sending"
            command.finished_at = utcnow()
            db.session.commit()
            return Outcome(command, None)
        time.sleep(_POLL_SECONDS)


# ---------------------------------------------------------------------------
# Receivers: a command that was answered 202 advances when its session moves


def advance_outlet(outlet_id: int) -> bool:
    """Advance the open commands of an outlet; True if any changed (flushed)."""
    changed = False
    for command in db.session.scalars(
        select(ApiCommand)
        .where(ApiCommand.outlet_id == outlet_id, ApiCommand.state.in_(OPEN_STATES))
        .order_by(ApiCommand.id)
    ):
        changed = advance(command) or changed
    return changed


def _advance_for_session(session_id: int) -> None:
    session = db.session.get(ChargingSession, session_id)
    if session is not None and advance_outlet(session.outlet_id):
        db.session.commit()


def _on_session_event(sender: Flask | None, **data: Any) -> None:
    if sender is None or time.monotonic() - _last_sent["at"] > _RECEIVER_WINDOW:
        return
    background.submit(sender, _advance_for_session, data["session_id"])


def init_app(app: Flask) -> None:
    """Connect the receivers that move open commands on (once per process)."""
    signals.session_started.connect(_on_session_event)
    signals.session_stopped.connect(_on_session_event)
