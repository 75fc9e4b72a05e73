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
import concurrent.futures
import logging
import os
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .calls import CallContext, Payload, StationCall
from .central_system import BatchHandler, CentralSystemBase
from .connection import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_NORMAL,
    CLOSE_PROTOCOL_ERROR,
    FrameSink,
    StationConnection,
    WebSocket,
    run_charge_point,
    take_socket,
)
from .loop import get_handlers, get_loop
from .registry import ConnectionRegistry

log = logging.getLogger(__name__)

T = TypeVar("T")

#: seconds a connection waits for the handler thread to record its connect before
#: it is held and read anyway
CONNECT_WAIT = 30.0  # s: a boot storm's handler queue, at most

#: (chargebox_id, Basic password or None, remote address) -> None to admit the
#: station, or the HTTP status that refuses it (401 wrong password, 404 unknown).
Admitter = Callable[[str, str | None, str | None], int | None]


class StationLifecycle(BatchHandler, Protocol):
    """What the endpoint tells a version's station handler, besides its CALLs."""

    # Run through ``run_batch`` like station messages (StationCall methods):
    def station_connected(self, ctx: CallContext, payload: Payload) -> None: ...
    #: ``payload["replaced"]``: a newer connection of the station took over
    def station_disconnected(self, ctx: CallContext, payload: Payload) -> None: ...


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


def serve_station(
    ws: WebSocket,
    chargebox_id: str,
    *,
    registry: ConnectionRegistry,
    versions: Mapping[str, StationVersion],
    frame_sink: FrameSink | None = None,
    options: ConnectionOptions = ConnectionOptions(),
    active: ActiveCount | None = None,
) -> None:
    """Body of the flask-sock route, in the server's thread: hands the connection
    to the event loop and returns (the thread goes back to the server).

    ``active`` counts the connections whose disconnect is not recorded yet (a
    worker shutting down waits for them)."""
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
    ws.connected = False  # the loop owns the connection: flask-sock must not close it
    sock = take_socket(ws.sock)
    loop = get_loop()

    def connection() -> StationConnection:  # on the loop: its asyncio objects too
        try:
            return StationConnection(
                chargebox_id,
                ws,
                loop,
                sock=sock,
                frame_sink=frame_sink,
                send_timeout=options.send_timeout,
                close_timeout=options.close_timeout,
                max_pending_frames=options.max_pending_frames,
            )
        except Exception:
            sock.close()
            raise

    if active is not None:
        active.add(1)
    try:
        asyncio.run_coroutine_threadsafe(
            _serve(connection, version, registry, active), loop
        )
    except RuntimeError:  # the loop is gone: the process ends
        sock.close()
        if active is not None:
            active.add(-1)


class ActiveCount:
    """Connections whose disconnect is not recorded yet (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, n: int) -> None:
        with self._lock:
            self.value += n


async def _serve(
    connection: Callable[[], StationConnection],
    version: StationVersion,
    registry: ConnectionRegistry,
    active: ActiveCount | None,
) -> None:
    """One connection on the loop, from the handshake to its recorded disconnect."""
    loop = asyncio.get_running_loop()
    try:
        conn = connection()
    except Exception:
        log.exception("connection failed")
        if active is not None:
            active.add(-1)
        raise
    chargebox_id, handler = conn.chargebox_id, version.handler
    try:
        cp = version.charge_point(chargebox_id, conn, handler)
        conn.charge_point = cp
        # Held (commands reach it) and read only once the station is marked
        # connected: a command or its first message finds it online. Marked on the
        # handler thread, with the station messages, so a boot storm's connects go
        # to the database in batches; waited for at most CONNECT_WAIT.
        marked = loop.create_task(
            _lifecycle(handler, "station_connected", chargebox_id, {})
        )
        await asyncio.wait({marked}, timeout=CONNECT_WAIT)
        previous = await _on_registry(registry, registry.register, conn)
        if previous is not None:
            previous.replaced = True
            previous.close_soon(CLOSE_NORMAL, "Replaced by a new connection")
        conn.runner = loop.create_task(
            run_charge_point(conn, cp), name=f"ocpp-cp-{chargebox_id}"
        )
        try:
            await loop.connect_accepted_socket(lambda: conn, sock=conn.socket)
        except Exception:
            log.exception("%s: connection failed", chargebox_id)
            conn._abandon()
        await conn.wait_finished()
        was_current = await _on_registry(registry, registry.unregister, conn)
        await _lifecycle(
            handler,
            "station_disconnected",
            chargebox_id,
            {"replaced": not was_current},
        )
    except Exception:
        log.exception("%s: connection failed", chargebox_id)
        conn._abandon()
    finally:
        if active is not None:
            active.add(-1)


#: threads for the registry's listeners (Redis), apart from the loop's default
#: executor, which a boot storm's first-contact work keeps busy (one pool a process)
_registry_pools: dict[int, concurrent.futures.ThreadPoolExecutor] = {}


def _registry_pool() -> concurrent.futures.ThreadPoolExecutor:
    pid = os.getpid()
    if pid not in _registry_pools:
        _registry_pools[pid] = concurrent.futures.ThreadPoolExecutor(4, "ocpp-registry")
    return _registry_pools[pid]


async def _on_registry(
    registry: ConnectionRegistry,
    change: Callable[[StationConnection], T],
    conn: StationConnection,
) -> T:
    """``change(conn)``: at once on the loop if nobody listens to the registry,
    else on a registry thread (a listener may block: Redis)."""
    if not registry.listeners:
        return change(conn)
    return await asyncio.get_running_loop().run_in_executor(
        _registry_pool(), change, conn
    )


async def _lifecycle(
    handler: StationLifecycle, method: str, chargebox_id: str, payload: Payload
) -> None:
    """Have the handler thread run the lifecycle ``method`` like a station message
    (:mod:`.loop`: batched with the messages waiting); a failure is logged."""
    call = StationCall(CallContext(chargebox_id, "", method), method, payload)
    try:
        await get_handlers().run(handler.run_batch, call)
    except Exception as exc:
        log.warning("%s: %s not recorded: %r", chargebox_id, method, exc)
