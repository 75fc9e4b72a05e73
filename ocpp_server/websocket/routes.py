"""Flask + flask-sock wiring for ``ws://HOST/Ocpp/websocket/<chargebox id>``.

One endpoint serves every OCPP-J version the portal speaks; the sub-protocol of
the handshake says which: the portal's preferred one of those the station offers
(:class:`~.endpoint.StationVersion`, added with :meth:`WebSocketState.add_version`).
The handshake is checked in a blueprint ``before_request`` hook, i.e. before
flask-sock builds the ``simple_websocket.Server`` (whose constructor already
writes the ``101 Switching Protocols``):

* no sub-protocol of a served version in ``Sec-WebSocket-Protocol`` -> HTTP 400
  (simple-websocket would otherwise accept the upgrade without a sub-protocol);
* optional HTTP Basic auth (OCPP 1.6 security profile 1): the version's
  callback decides, refusal -> HTTP 401 with ``WWW-Authenticate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, Flask, Response, request
from flask_sock import Sock

from .connection import HandOver, WebSocket
from .endpoint import ActiveCount, ConnectionOptions, StationVersion, serve_station
from .frames import FrameDispatcher, FrameHook
from .registry import ConnectionRegistry

EXTENSION_KEY = "ocpp_websocket"


@dataclass
class WebSocketState:
    app: Flask
    blueprint: Blueprint
    registry: ConnectionRegistry
    sock: Sock
    frames: FrameDispatcher | None
    options: ConnectionOptions
    #: sub-protocol -> the version served with it
    versions: dict[str, StationVersion] = field(default_factory=dict)
    #: set on shutdown (ocpp_server/shutdown.py): new stations are sent elsewhere
    draining: bool = False
    #: connections whose disconnect is not recorded yet (shutdown waits for them)
    active: ActiveCount = field(default_factory=ActiveCount)

    def preference(self) -> list[str]:
        """The served sub-protocols, most preferred first (the configured order)."""
        configured = self.app.config["SOCK_SERVER_OPTIONS"].get("subprotocols", [])
        return [p for p in configured if p in self.versions]

    def add_version(self, version: StationVersion) -> StationVersion:
        """Serve ``version`` at the endpoint (its sub-protocol must be configured)."""
        offered = self.app.config["SOCK_SERVER_OPTIONS"].get("subprotocols", [])
        if version.subprotocol not in offered:
            raise ValueError(
                "SOCK_SERVER_OPTIONS['subprotocols'] must contain "
                f"{version.subprotocol!r}"
            )
        self.versions[version.subprotocol] = version
        return version


def _offered_subprotocols() -> list[str]:
    header = ",".join(request.headers.getlist("Sec-WebSocket-Protocol"))
    return [p.strip() for p in header.split(",") if p.strip()]


def init_websocket(
    app: Flask,
    *,
    registry: ConnectionRegistry | None = None,
    frame_hook: FrameHook | None = None,
    options: ConnectionOptions | None = None,
    url_prefix: str = "/Ocpp/websocket",
) -> WebSocketState:
    """Register the OCPP-J endpoint on ``app``; returns the shared state."""
    sock_options = app.config["SOCK_SERVER_OPTIONS"]
    # The event loop reads the socket after the handshake (connection.py).
    app.config["SOCK_SERVER_OPTIONS"] = {**sock_options, "thread_class": HandOver}

    bp = Blueprint("ocpp_websocket", __name__, url_prefix=url_prefix)
    sock = Sock()
    state = WebSocketState(
        app=app,
        blueprint=bp,
        registry=registry or ConnectionRegistry(),
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
        # The portal's order decides (SOCK_SERVER_OPTIONS["subprotocols"]), not
        # the station's: the handshake is left offering only the one chosen, so
        # simple-websocket (which takes the client's first it knows) agrees.
        offered = _offered_subprotocols()
        chosen = next((p for p in state.preference() if p in offered), None)
        version = state.versions.get(chosen or "")
        if version is not None:
            request.environ["HTTP_SEC_WEBSOCKET_PROTOCOL"] = chosen
        else:
            required = " or ".join(state.versions)
            return Response(
                f"WebSocket sub-protocol {required} required\n",
                status=400,
                mimetype="text/plain",
            )
        if version.admit is not None:
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
            refusal = version.admit(chargebox_id, password, request.remote_addr)
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

    def station(ws: WebSocket, chargebox_id: str) -> None:
        serve_station(
            ws,
            chargebox_id,
            registry=state.registry,
            versions=state.versions,
            frame_sink=state.frames.emit if state.frames is not None else None,
            options=state.options,
            active=state.active,
        )

    # flask-sock's route() returns None, so register each rule separately.
    sock.route("/<chargebox_id>", bp=bp, endpoint="station")(station)
    sock.route("/<chargebox_id>/", bp=bp, endpoint="station_slash")(station)
    app.register_blueprint(bp)
    sock.init_app(app)
    app.extensions[EXTENSION_KEY] = state
    return state


def get_state(app: Flask) -> WebSocketState:
    state: WebSocketState = app.extensions[EXTENSION_KEY]
    return state
