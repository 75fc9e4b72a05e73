"""A station's WebSocket, read and written on the process's event loop.

flask-sock routes the upgrade and simple-websocket answers the handshake (the
sub-protocol, permessage-deflate). From then on the connection belongs to the event
loop (:mod:`.loop`): simple-websocket is given a reader "thread" that never starts
(:class:`HandOver`, its ``thread_class``), and the socket goes to asyncio
(``loop.connect_accepted_socket``) together with the wsproto state the handshake
left. One loop reads and writes every connection of the process:

* no thread wakes per frame (before: simple-websocket's reader thread and the
  route's pump thread, two GIL hand-overs for every frame in);
* a write never blocks: asyncio buffers it; a station that stops reading is dropped
  once its buffer has stayed full for ``send_timeout``;
* the keep-alive pings and the frame size limit of ``SOCK_SERVER_OPTIONS``
  (``ping_interval``, ``max_message_size``) are kept here, as simple-websocket kept
  them.

The route's thread (werkzeug's or gunicorn's) returns once it has handed the
connection over (:func:`take_socket`): the loop gets the connection on a socket of
its own, and the server's socket object is left on a dead end, so what the server
does with it after the request (a shutdown, a close) no longer reaches the station.
A held station therefore costs no thread, only its objects on the loop. Nothing
here depends on the OCPP version: the charge point on the connection is the
version's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any, Protocol

from wsproto.connection import Connection, ConnectionState
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError

from .calls import CallOutcome, TransportClosed
from .central_system import CentralSystemBase
from .frames import Direction

log = logging.getLogger(__name__)

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_POLICY_VIOLATION = 1008
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011

#: Bytes asyncio may buffer for a station before writes wait for it to read.
WRITE_BUFFER_HIGH = 256 * 1024

_EOF = object()


class WebSocket(Protocol):
    """The subset of ``simple_websocket.Server`` used here."""

    sock: socket.socket
    ws: Any  #: wsproto's WSConnection, past the handshake
    connected: bool
    subprotocol: str | None
    ping_interval: float | None
    max_message_size: int | None

    def close(self, reason: int | None = None, message: str | None = None) -> None: ...


class HandOver:
    """simple-websocket's ``thread_class`` for the OCPP endpoint: the reader thread
    it would start never starts; the event loop reads the socket instead."""

    name = "ocpp-handed-over"

    def __init__(self, target: Callable[[], None] | None = None, **_: Any) -> None:
        pass

    def start(self) -> None:
        pass

    def is_alive(self) -> bool:
        return False

    def join(self, timeout: float | None = None) -> None:
        pass


def take_socket(sock: socket.socket) -> socket.socket:
    """The connection behind the server's ``sock``, on a socket of the caller's.

    ``sock``'s descriptor is pointed at a closed socket pair: the server's shutdown
    and close after the request (gunicorn half-closes the connection, werkzeug's
    socketserver shuts its write side) reach that pair, and the station's
    connection stays open on the returned socket until the loop closes it."""
    own = sock.dup()
    dead, peer = socket.socketpair()
    try:
        os.dup2(dead.fileno(), sock.fileno(), inheritable=False)
    finally:
        dead.close()
        peer.close()
    return own


FrameSink = Callable[[str, Direction, str], None]


class StationConnection(asyncio.Protocol):
    """One station's WebSocket: ``recv()/send()`` for the ``ocpp`` ChargePoint, an
    asyncio protocol for the socket. Everything but :meth:`close_soon` and
    :meth:`close_soon` runs on the loop. ``sock``: the connection's socket, once
    taken from the server (:func:`take_socket`); ``ws`` gives the handshake's
    state and is not kept."""

    def __init__(
        self,
        chargebox_id: str,
        ws: WebSocket,
        loop: asyncio.AbstractEventLoop,
        *,
        sock: socket.socket | None = None,
        frame_sink: FrameSink | None = None,
        send_timeout: float = 30.0,
        close_timeout: float = 2.0,
        max_pending_frames: int = 64,
    ) -> None:
        self.chargebox_id = chargebox_id
        self.loop = loop
        self.charge_point: CentralSystemBase | None = None
        #: the OCPP version's sub-protocol the handshake agreed on ("ocpp1.6")
        self.subprotocol = ws.subprotocol
        #: task running charge_point.start()
        self.runner: asyncio.Task[None] | None = None
        self.replaced = False
        self._sock = sock if sock is not None else ws.sock
        self._finished = asyncio.Event()  # the socket is closed
        self._protocol: Connection = ws.ws.connection
        self._ping_interval = ws.ping_interval or None
        self._max_message_size = ws.max_message_size or None
        self._frame_sink = frame_sink
        self._send_timeout = send_timeout
        self._close_timeout = close_timeout
        self._max_pending_frames = max_pending_frames
        self._transport: asyncio.Transport | None = None
        self._unsent: list[bytes] = []  # written before the socket was attached
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self._parts: list[Any] = []  # a fragmented message so far
        self._size = 0
        self._closed = False
        self._closed_event = asyncio.Event()
        self._close_started = threading.Event()
        self._writable: asyncio.Future[None] | None = None  # set while paused
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._pong_received = True
        # For a graceful close (shutdown): registry calls to the station still
        # waiting for its answer.
        self._calls_out = 0

    # -------------------------------------------- Transport (for the ChargePoint)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def socket(self) -> socket.socket:
        """The connection's own socket (the loop reads and writes it)."""
        return self._sock

    async def recv(self) -> str:
        item = await self._inbox.get()
        if item is _EOF:
            self._inbox.put_nowait(_EOF)  # keep later recv() calls failing too
            raise TransportClosed(self.chargebox_id)
        assert isinstance(item, str)
        return item

    async def send(self, message: str) -> None:
        if self._closed:
            raise TransportClosed(self.chargebox_id)
        if self._frame_sink is not None:
            self._frame_sink(self.chargebox_id, "out", message)
        self._write(self._protocol.send(TextMessage(data=message)))
        if self._writable is not None:  # the station reads slowly: wait for it
            await asyncio.shield(self._writable)
            if self._closed:
                raise TransportClosed(self.chargebox_id)

    async def wait_closed(self) -> None:
        await self._closed_event.wait()

    # ------------------------------------------------- asyncio.Protocol (socket)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)
        if self._unsent:
            transport.write(b"".join(self._unsent))
            self._unsent.clear()
        if self._closed:  # closed before the socket was attached
            self._await_close_reply()
        elif self._ping_interval:
            self._timers["ping"] = self.loop.call_later(self._ping_interval, self._ping)

    def data_received(self, data: bytes) -> None:
        try:
            self._protocol.receive_data(data)
        except LocalProtocolError:  # data after the close handshake
            return
        self._handle_events()

    def eof_received(self) -> bool:
        self._protocol.receive_data(None)  # the connection is gone: 1006
        self._handle_events()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._mark_closed()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._finished.set()

    def pause_writing(self) -> None:
        self._writable = self.loop.create_future()
        self._timers["stall"] = self.loop.call_later(self._send_timeout, self._stalled)

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None
        timer = self._timers.pop("stall", None)
        if timer is not None:
            timer.cancel()

    # --------------------------------------------------------- inbound frames

    def _handle_events(self) -> None:
        protocol, out = self._protocol, []
        for event in protocol.events():
            if isinstance(event, TextMessage | BytesMessage):
                if not self._closed:  # past a close, only its answer matters
                    self._message_part(event)
            elif isinstance(event, Ping):
                if protocol.state is ConnectionState.OPEN:  # none after our close
                    out.append(protocol.send(event.response()))
            elif isinstance(event, Pong):
                self._pong_received = True
            elif isinstance(event, CloseConnection):
                self._closed_by_peer(event, out)
                return
        if out:
            self._write(b"".join(out))

    def _message_part(self, event: TextMessage | BytesMessage) -> None:
        self._size += len(event.data)
        if self._max_message_size and self._size > self._max_message_size:
            self._close_on_loop(CLOSE_MESSAGE_TOO_BIG, "Message is too big")
            return
        if not event.message_finished:
            self._parts.append(event.data)
            return
        data: Any = event.data
        if self._parts:
            self._parts.append(data)
            data = ("" if isinstance(data, str) else b"").join(self._parts)
            self._parts = []
        self._size = 0
        if not isinstance(data, str):  # OCPP-J uses text frames; be lenient
            data = bytes(data).decode("utf-8", errors="replace")
        if self._frame_sink is not None:
            self._frame_sink(self.chargebox_id, "in", data)
        self._feed(data)

    def _feed(self, data: str) -> None:
        if self._closed:
            return
        if self._inbox.qsize() >= self._max_pending_frames:
            log.warning(
                "%s: %d frames pending, closing", self.chargebox_id, self._inbox.qsize()
            )
            self._close_on_loop(CLOSE_POLICY_VIOLATION, "Too many unprocessed messages")
            return
        self._inbox.put_nowait(data)

    def _closed_by_peer(self, event: CloseConnection, out: list[bytes]) -> None:
        state = self._protocol.state
        if state is ConnectionState.REMOTE_CLOSING:  # the peer closes: answer
            out.append(self._protocol.send(event.response()))
        elif state is ConnectionState.OPEN:  # a frame wsproto cannot parse
            out.append(self._protocol.send(CloseConnection(event.code, event.reason)))
        self._mark_closed()
        if out:
            self._write(b"".join(out))
        if self._transport is not None:
            self._transport.close()  # the server closes TCP first (RFC 6455 7.1.1)

    # ------------------------------------------------------------------ writes

    def _write(self, data: bytes) -> None:
        if self._transport is None:
            self._unsent.append(data)
        elif not self._transport.is_closing():
            self._transport.write(data)

    def _stalled(self) -> None:
        log.warning(
            "%s: send blocked for %.0fs, aborting connection",
            self.chargebox_id,
            self._send_timeout,
        )
        if self._transport is not None:
            self._transport.abort()

    def _ping(self) -> None:
        if self._closed:
            return
        if not self._pong_received:
            self._close_on_loop(CLOSE_POLICY_VIOLATION, "Ping/Pong timeout")
            return
        self._pong_received = False
        self._write(self._protocol.send(Ping()))
        assert self._ping_interval is not None
        self._timers["ping"] = self.loop.call_later(self._ping_interval, self._ping)

    # ---------------------------------------------- graceful close (shutdown)

    async def tracked_call(self, payload: Any, timeout: float) -> CallOutcome:
        """``charge_point.call_outcome`` counted, so a graceful close waits for it."""
        assert self.charge_point is not None
        self._calls_out += 1
        try:
            return await self.charge_point.call_outcome(payload, timeout)
        finally:
            self._calls_out -= 1

    @property
    def idle(self) -> bool:
        """No frame of the station waiting to be read or answered, no call of ours
        waiting for the station's answer. A frame the portal drops unanswered (no
        id to answer to, such as ``[2]``) leaves nothing waiting. Read it on the
        loop: an answer is counted once its handling has ended."""
        cp = self.charge_point
        return (
            self._calls_out == 0
            and self._inbox.empty()
            and (cp is None or cp.owed == 0)
        )

    async def close_when_idle(self, code: int, reason: str, wait: float) -> None:
        """Close once every message in flight is answered (at most ``wait`` s)."""
        deadline = self.loop.time() + wait
        while not self._closed and not self.idle and self.loop.time() < deadline:
            await asyncio.sleep(0.02)
        self._close_on_loop(code, reason)
        await self.wait_closed()

    # ------------------------------------------------------------- closing

    def _mark_closed(self) -> None:
        if not self._closed:
            self._closed = True
            self._closed_event.set()
            self._inbox.put_nowait(_EOF)

    def _close_on_loop(self, code: int, reason: str) -> None:
        """Send a close frame; the socket closes on the peer's answer or after
        ``close_timeout``."""
        self._close_started.set()
        if self._closed:
            return
        self._mark_closed()
        with contextlib.suppress(LocalProtocolError):
            self._write(self._protocol.send(CloseConnection(code, reason)))
        if self._transport is not None:
            self._await_close_reply()

    def _await_close_reply(self) -> None:
        assert self._transport is not None
        self._timers["close"] = self.loop.call_later(
            self._close_timeout, self._transport.abort
        )

    def close_soon(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Close from any thread (thread-safe, non-blocking, idempotent)."""
        if self._close_started.is_set():
            return
        self._close_started.set()
        try:
            self.loop.call_soon_threadsafe(self._close_on_loop, code, reason)
        except RuntimeError:  # loop already closed
            self._abandon()

    async def wait_finished(self) -> None:
        """Until the socket is closed."""
        await self._finished.wait()

    def _abandon(self) -> None:
        """The socket could not be attached: close it (on the loop)."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._mark_closed()
        self._finished.set()


async def run_charge_point(
    connection: StationConnection, charge_point: CentralSystemBase
) -> None:
    """Loop side of a connection: run ``charge_point.start()`` until EOF."""
    code, reason = CLOSE_NORMAL, ""
    try:
        await charge_point.start()
    except TransportClosed:
        pass
    except Exception:
        log.exception("%s: charge point task crashed", connection.chargebox_id)
        code, reason = CLOSE_INTERNAL_ERROR, "Internal error"
    finally:
        connection._close_on_loop(code, reason)
