"""One station's connection from handshake to close, for the version it agreed on.

An OCPP version plugs in as a :class:`StationVersion`: its sub-protocol, its
station handler, how it builds the charge point for a connection, and who it
admits. :func:`serve_station` is the body of the WebSocket route: it picks the
version by the sub-protocol the handshake agreed on, puts the connection and its
charge point on the event loop, keeps the registry current and tells the handler
when the station comes and goes.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .central_system import BatchHandler, CentralSystemBase
from .connection import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_NORMAL,
    CLOSE_PROTOCOL_ERROR,
    FrameSink,
    StationConnection,
    WebSocket,
    run_charge_point,
)
from .loop import get_loop
from .registry import ConnectionRegistry

log = logging.getLogger(__name__)

#: (chargebox_id, Basic password or None, remote address) -> None to admit the
#: station, or the HTTP status that refuses it (401 wrong password, 404 unknown).
Admitter = Callable[[str, str | None, str | None], int | None]


class StationLifecycle(BatchHandler, Protocol):
    """What the endpoint tells a version's station handler, besides its CALLs."""

    def station_connected(self, chargebox_id: str) -> None: ...
    def station_disconnected(self, chargebox_id: str, *, replaced: bool) -> None: ...


#: (chargebox id, the connection, the version's handler) -> the connection's
#: charge point (a subclass of CentralSystemBase for the version)
ChargePointFactory = Callable[[str, StationConnection, Any], CentralSystemBase]


@dataclass
class StationVersion:
    """An OCPP-J version served at the WebSocket endpoint."""

    subprotocol: str  #: "ocpp1.6"
    #: the version's station handler; read at each connection (tests swap it)
    handler: StationLifecycle
    charge_point: ChargePointFactory
    admit: Admitter | None = None


@dataclass(frozen=True)
class ConnectionOptions:
    send_timeout: float = 30.0
    #: how long a close waits for the station's answering close frame
    close_timeout: float = 2.0
    max_pending_frames: int = 64
    #: how often a route thread checks that the event loop still runs
    poll_interval: float = 10.0


def serve_station(
    ws: WebSocket,
    chargebox_id: str,
    *,
    registry: ConnectionRegistry,
    versions: Mapping[str, StationVersion],
    frame_sink: FrameSink | None = None,
    options: ConnectionOptions = ConnectionOptions(),
) -> None:
    """Body of the flask-sock route: runs in the connection's route thread."""
    version = versions.get(ws.subprotocol or "")
    if version is None:
        # Only reachable if SOCK_SERVER_OPTIONS lists other sub-protocols too
        # and the client preferred one of those.
        required = " or ".join(versions)
        ws.close(CLOSE_PROTOCOL_ERROR, f"{required} sub-protocol required")
        return
    if isinstance(ws.sock, ssl.SSLSocket):
        log.error("%s: TLS must end in front of the portal", chargebox_id)
        ws.close(CLOSE_INTERNAL_ERROR, "TLS is not served here")
        return
    ws.connected = False  # the loop owns the socket: flask-sock must not close it

    loop = get_loop()
    handler = version.handler

    async def start() -> StationConnection:
        # All asyncio objects (queues, events) are created on the loop.
        conn = StationConnection(
            chargebox_id,
            ws,
            loop,
            frame_sink=frame_sink,
            send_timeout=options.send_timeout,
            close_timeout=options.close_timeout,
            max_pending_frames=options.max_pending_frames,
        )
        cp = version.charge_point(chargebox_id, conn, handler)
        conn.charge_point = cp
        conn.runner = loop.create_task(
            run_charge_point(conn, cp), name=f"ocpp-cp-{chargebox_id}"
        )
        return conn

    async def attach(conn: StationConnection) -> None:
        await loop.connect_accepted_socket(lambda: conn, sock=ws.sock)

    conn = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    previous = registry.register(conn)
    if previous is not None:
        previous.replaced = True
        previous.close_soon(CLOSE_NORMAL, "Replaced by a new connection")
    _notify(handler.station_connected, chargebox_id)
    try:
        # Read only now: the station's first message finds it marked connected.
        asyncio.run_coroutine_threadsafe(attach(conn), loop).result(10)
        conn.wait_finished(options.poll_interval)
    except Exception:
        log.exception("%s: connection failed", chargebox_id)
        conn._abandon()
    finally:
        conn.close_soon()
        was_current = registry.unregister(conn)
        _notify(handler.station_disconnected, chargebox_id, replaced=not was_current)


def _notify(method: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    try:
        method(*args, **kwargs)
    except Exception:
        log.exception("Station handler %s failed", getattr(method, "__name__", method))
