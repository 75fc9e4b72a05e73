"""OCPP-J over WebSocket, for every OCPP version that speaks it (v16/, later v201/).

What a version does not change lives here, each in its own module:

* ``calls``: the types both ends share (transport, call outcome, a CALL to handle);
* ``loop``: the process's event loop and its batching handler threads;
* ``connection``: a station's WebSocket, read and written on the loop;
* ``central_system``: the charge point base of one connection (frame routing and
  frame errors, the CALL worker, outgoing calls, the action -> handler table);
* ``registry``: the stations connected to this process, and the gateway's sender;
* ``endpoint``: a version as the endpoint serves it, one connection's life;
* ``routes``: the flask-sock endpoint, sub-protocol negotiation and admission;
* ``frames``: the message log's view of each frame in and out.

A version brings its ``CentralSystemBase`` subclass (its ``ocpp`` ChargePoint,
error spellings, action table, first-contact call), its station handler and its
translate module, and plugs them in with :func:`serve_version`. ``init_app`` sets
up the one endpoint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import Direction, Protocol
from app.services import message_log, stations
from app.services.commands import Command, CommandResult, StationAddress

from . import loop
from .calls import CallOutcome
from .central_system import CentralSystemBase
from .connection import StationConnection
from .endpoint import Admitter, ConnectionOptions, StationLifecycle, StationVersion
from .frames import Frame
from .registry import command_sender
from .routes import WebSocketState, get_state, init_websocket

__all__ = ["admitter", "get_state", "handler_threads", "init_app", "serve_version"]

log = logging.getLogger(__name__)

#: tries to write a batch of the message log when the database is busy
LOG_ATTEMPTS = 5
LOG_RETRY_DELAY = 0.5  # seconds, times the attempt

_REFUSALS = {
    stations.Admission.UNKNOWN: 404,
    stations.Admission.BAD_PASSWORD: 401,
}

#: handler threads per process: one. A thread takes every station message queued
#: behind the one it runs as one batch, so one thread keeps the batches large; more
#: threads only split them and fight over the GIL (measured with batches, 1,000
#: stations closed loop on PostgreSQL: 1 thread ~505 msg/s, 2 388, 3 342, 15 317;
#: docs/ocpp-performance.md). Several cores are used with several worker processes.
DEFAULT_HANDLER_THREADS = 1


def handler_threads(app: Flask) -> int:
    """How many threads run station messages: OCPP_HANDLER_THREADS, else one."""
    configured = int(app.config.get("OCPP_HANDLER_THREADS") or 0)
    return configured if configured > 0 else DEFAULT_HANDLER_THREADS


def admitter(protocol: Protocol) -> Admitter:
    """The handshake's admission of a station speaking ``protocol``."""

    def admit(
        chargebox_id: str, password: str | None, address: str | None
    ) -> int | None:
        admission = stations.admit_connection(
            chargebox_id, password, protocol=protocol, address=address
        )
        return _REFUSALS.get(admission)

    return admit


def serve_version(
    app: Flask,
    endpoint: WebSocketState,
    *,
    subprotocol: str,
    charge_point: type[CentralSystemBase],
    handler: StationLifecycle,
    protocol: Protocol,
    to_call: Callable[[Command], Any],
    to_result: Callable[[CallOutcome], CommandResult],
    name: str,
) -> tuple[StationVersion, Callable[[StationAddress, Command, float], CommandResult]]:
    """Serve an OCPP-J version at the endpoint: its charge point for each
    connection (the first-contact call after a boot as OCPP_FETCH_CONFIG_ON_BOOT
    says, within OCPP_COMMAND_TIMEOUT), its handler, its admission; return the
    version and the gateway's sender for it."""
    on_boot = bool(app.config["OCPP_FETCH_CONFIG_ON_BOOT"])
    timeout = float(app.config["OCPP_COMMAND_TIMEOUT"])

    def make(
        chargebox_id: str, connection: StationConnection, station_handler: Any
    ) -> CentralSystemBase:
        return charge_point(
            chargebox_id,
            connection,
            station_handler,
            first_contact_on_boot=on_boot,
            first_contact_timeout=timeout,
        )

    version = endpoint.add_version(
        StationVersion(
            subprotocol=subprotocol,
            handler=handler,
            charge_point=make,
            admit=admitter(protocol),
        )
    )
    return version, command_sender(endpoint.registry, to_call, to_result, name)


def init_app(app: Flask) -> WebSocketState:
    """Register the OCPP-J endpoint, with the message log; versions add themselves."""
    station_ids = message_log.StationIds()  # one lookup per identity, not per frame

    def log_frames(frames: list[Frame]) -> None:
        rows = [
            message_log.LoggedMessage(
                frame.chargebox_id,
                Direction(frame.direction),
                frame.raw,
                frame.action or "",
                frame.unique_id or "",
                datetime.fromtimestamp(frame.timestamp, UTC),
            )
            for frame in frames
        ]
        # A database busy past its timeout (SQLite under a boot storm) is waited
        # out: the log lags a little more instead of losing the frames.
        for attempt in range(1, LOG_ATTEMPTS + 1):
            with app.app_context():
                try:
                    message_log.record_messages(rows, station_ids)
                    db.session.commit()
                    return
                except OperationalError:
                    db.session.rollback()
                    if attempt == LOG_ATTEMPTS:
                        raise
                    log.warning("message log: database busy, %d frames wait", len(rows))
            time.sleep(LOG_RETRY_DELAY * attempt)

    loop.configure(handler_workers=handler_threads(app))
    return init_websocket(
        app,
        frame_hook=log_frames if app.config["OCPP_MESSAGE_LOG"] else None,
        options=ConnectionOptions(),
    )
