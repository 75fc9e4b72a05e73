"""Flask + flask-sock wiring for ``ws://HOST/Ocpp/websocket/<chargebox id>``.

The handshake is checked in a blueprint ``before_request`` hook, i.e. before
flask-sock builds the ``simple_websocket.Server`` (whose constructor already
writes the ``101 Switching Protocols``):

* no ``ocpp1.6`` in ``Sec-WebSocket-Protocol`` -> HTTP 400 (simple-websocket
  would otherwise accept the upgrade without a sub-protocol);
* optional HTTP Basic auth (OCPP 1.6 security profile 1): a callback decides,
  refusal -> HTTP 401 with ``WWW-Authenticate``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, request
from flask_sock import Sock

from .connection import (
    SUBPROTOCOL,
    ConnectionOptions,
    HandOver,
    WebSocket,
    serve_station,
)
from .frames import FrameDispatcher, FrameHook
from .handlers import StationHandler
from .registry import ConnectionRegistry

#: (chargebox_id, Basic password or None, remote address) -> None to admit the
#: station, or the HTTP status that refuses it (401 wrong password, 404 unknown).
Admitter = Callable[[str, str | None, str | None], int | None]

EXTENSION_KEY = "ocpp16"
DEFAULT_SOCK_SERVER_OPTIONS = {
    "subprotocols": [SUBPROTOCOL],
    "ping_interval": 60,  # pings; no pong by the next ping -> closed
    "max_message_size": 256 * 1024,  # bigger frames -> close 1009
}


@dataclass
class Ocpp16State:
    blueprint: Blueprint
    registry: ConnectionRegistry
    handler: StationHandler
    sock: Sock
    frames: FrameDispatcher | None
    options: ConnectionOptions
    #: set on shutdown (ocpp_server/shutdown.py): new stations are sent elsewhere
    draining: bool = False
    #: connections whose handler thread has not returned yet (shutdown waits)
    active: int = 0


def _offered_subprotocols() -> list[str]:
    header = ",".join(request.headers.getlist("Sec-WebSocket-Protocol"))
    return [p.strip() for p in header.split(",") if p.strip()]


def init_ocpp16(
    app: Flask,
    *,
    handler: StationHandler,
    registry: ConnectionRegistry | None = None,
    admit: Admitter | None = None,
    frame_hook: FrameHook | None = None,
    options: ConnectionOptions | None = None,
    url_prefix: str = "/Ocpp/websocket",
) -> Ocpp16State:
    """Register the OCPP 1.6 endpoint on ``app``; returns the shared state."""
    sock_options = app.config.setdefault(
        "SOCK_SERVER_OPTIONS", dict(DEFAULT_SOCK_SERVER_OPTIONS)
    )
    if SUBPROTOCOL not in sock_options.get("subprotocols", []):
        raise ValueError(
            f"SOCK_SERVER_OPTIONS['subprotocols'] must contain {SUBPROTOCOL!r}"
        )
    # The event loop reads the socket after the handshake (connection.py).
    app.config["SOCK_SERVER_OPTIONS"] = {**sock_options, "thread_class": HandOver}

    bp = Blueprint("ocpp16", __name__, url_prefix=url_prefix)
    sock = Sock()
    state = Ocpp16State(
        blueprint=bp,
        registry=registry or ConnectionRegistry(),
        handler=handler,
        sock=sock,
        frames=FrameDispatcher(frame_hook) if frame_hook is not None else None,
        options=options or ConnectionOptions(),
    )
    endpoints = {f"{bp.name}.station", f"{bp.name}.station_slash"}

    @bp.before_request
    def check_handshake() -> Response | None:
        if request.endpoint not in endpoints:
            return None
        if state.draining:
            return Response(
                "Shutting down, connect again\n",
                status=503,
                mimetype="text/plain",
                headers={"Retry-After": "5"},
            )
        if SUBPROTOCOL not in _offered_subprotocols():
            return Response(
                f"WebSocket sub-protocol {SUBPROTOCOL} required\n",
                status=400,
                mimetype="text/plain",
            )
        if admit is not None:
            chargebox_id = (request.view_args or {}).get("chargebox_id", "")
            auth = request.authorization
            # Security profile 1: the user name is the station's own identity.
            password = None
            if (
                auth is not None
                and auth.type == "basic"
                and auth.username == chargebox_id
            ):
                password = auth.password
            refusal = admit(chargebox_id, password, request.remote_addr)
            if refusal == 401:
                return Response(
                    "Unauthorized\n",
                    status=401,
                    mimetype="text/plain",
                    headers={"WWW-Authenticate": 'Basic realm="OCPP", charset="UTF-8"'},
                )
            if refusal is not None:
                return Response(
                    "Unknown station\n", status=refusal, mimetype="text/plain"
                )
        return None

    active_lock = threading.Lock()

    def station(ws: WebSocket, chargebox_id: str) -> None:
        with active_lock:
            state.active += 1
        try:
            serve_station(
                ws,
                chargebox_id,
                registry=state.registry,
                handler=state.handler,
                frame_sink=state.frames.emit if state.frames is not None else None,
                options=state.options,
            )
        finally:
            with active_lock:
                state.active -= 1

    # flask-sock's route() returns None, so register each rule separately.
    sock.route("/<chargebox_id>", bp=bp, endpoint="station")(station)
    sock.route("/<chargebox_id>/", bp=bp, endpoint="station_slash")(station)
    app.register_blueprint(bp)
    sock.init_app(app)
    app.extensions[EXTENSION_KEY] = state
    return state


def get_state(app: Flask) -> Ocpp16State:
    state: Ocpp16State = app.extensions[EXTENSION_KEY]
    return state
