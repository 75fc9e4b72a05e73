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
error spellings, action table), its station handler and its translate module,
and registers a :class:`~.endpoint.StationVersion` with
``get_state(app).add_version``. ``init_app`` sets up the one endpoint.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from app.extensions import db
from app.models import Direction, Protocol
from app.services import message_log, stations

from . import loop
from .endpoint import Admitter, ConnectionOptions
from .frames import Frame
from .routes import WebSocketState, get_state, init_websocket

__all__ = ["admitter", "get_state", "handler_threads", "init_app"]

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
        result = stations.admit_station(
            chargebox_id, password, protocol=protocol, address=address
        )
        db.session.commit()
        return _REFUSALS.get(result.admission)

    return admit


def init_app(app: Flask) -> WebSocketState:
    """Register the OCPP-J endpoint, with the message log; versions add themselves."""
    station_ids = message_log.StationIds()  # one lookup per identity, not per frame

    def log_frames(frames: list[Frame]) -> None:
        with app.app_context():
            message_log.record_messages(
                [
                    message_log.LoggedMessage(
                        frame.chargebox_id,
                        Direction(frame.direction),
                        frame.raw,
                        frame.action or "",
                        frame.unique_id or "",
                        datetime.fromtimestamp(frame.timestamp, UTC),
                    )
                    for frame in frames
                ],
                station_ids,
            )
            db.session.commit()

    loop.configure(handler_workers=handler_threads(app))
    return init_websocket(
        app,
        frame_hook=log_frames if app.config["OCPP_MESSAGE_LOG"] else None,
        options=ConnectionOptions(),
    )
