"""Bridge between a flask-sock (simple-websocket) connection and asyncio.

Threads involved for one station connection:

* the flask-sock handler thread (werkzeug/gunicorn worker thread) runs
  :meth:`StationConnection.pump`: it blocks in ``ws.receive(timeout=...)`` and
  posts every text frame to the event loop's mailbox (:class:`~.loop.Mailbox`);
* simple-websocket's own reader thread (reads the socket, answers pings);
* the per-process event loop thread (:mod:`.loop`), where the
  :class:`~.central_system.CentralSystem` lives and which performs the writes.

Writes.  ``ws.send`` is a blocking ``socket.send`` and simple-websocket does no
locking (wsproto state and the permessage-deflate compressor are shared), so
all application writes of a connection are serialised on the loop thread.  A
write is done *directly* from the loop when it cannot block: the socket polls
writable and the frame is small (<= ``direct_send_max``; with Linux's default
16 KiB minimum send buffer, POLLOUT guarantees that much free space).  Otherwise
(slow reader, big frame) it goes to the dedicated ``ocpp-send`` thread pool, in
order, with a timeout after which the socket is shut down.  So a station that
stops reading can never stall the loop for everybody else.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from simple_websocket import ConnectionClosed

from .central_system import CallOutcome, CentralSystem, TransportClosed
from .frames import Direction
from .handlers import StationHandler
from .loop import Mailbox, get_loop, get_mailbox, get_send_executor

if TYPE_CHECKING:
    from .registry import ConnectionRegistry

log = logging.getLogger(__name__)

SendMode = Literal["auto", "direct", "thread"]

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_POLICY_VIOLATION = 1008
CLOSE_INTERNAL_ERROR = 1011

_EOF = object()


class WebSocket(Protocol):
    """The subset of ``simple_websocket.Server`` used here."""

    sock: socket.socket
    connected: bool
    subprotocol: str | None

    def send(self, data: str | bytes) -> None: ...
    def receive(self, timeout: float | None = None) -> str | bytes | None: ...
    def close(self, reason: int | None = None, message: str | None = None) -> None: ...


FrameSink = Callable[[str, Direction, str], None]


@dataclass
class SendStats:
    direct: int = 0
    threaded: int = 0
    direct_max_s: float = 0.0
    direct_total_s: float = 0.0
    samples: list[float] = field(
        default_factory=list
    )  #: direct send durations, only if sampling enabled


class StationConnection:
    """One station's WebSocket, seen as ``async recv()/send()`` by ``ocpp``."""

    def __init__(
        self,
        chargebox_id: str,
        ws: WebSocket,
        loop: asyncio.AbstractEventLoop,
        send_executor: concurrent.futures.Executor,
        mailbox: Mailbox,
        *,
        frame_sink: FrameSink | None = None,
        send_mode: SendMode = "auto",
        direct_send_max: int = 2048,
        send_timeout: float = 30.0,
        max_pending_frames: int = 64,
        sample_send_times: bool = False,
    ) -> None:
        self.chargebox_id = chargebox_id
        self.loop = loop
        self._mailbox = mailbox
        self.charge_point: CentralSystem | None = None
        self.runner: asyncio.Task[None] | None = (
            None  #: task running charge_point.start()
        )
        self.connected_at = time.time()
        self.stats = SendStats()
        self._ws = ws
        self._send_executor = send_executor
        self._frame_sink = frame_sink
        self._send_mode: SendMode = send_mode
        self._direct_send_max = direct_send_max
        self._send_timeout = send_timeout
        self._max_pending_frames = max_pending_frames
        self._sample = sample_send_times
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self._closed = False  # written on the loop thread only
        self._closed_event = asyncio.Event()
        self._close_started = threading.Event()
        self._send_lock = asyncio.Lock()
        self._queued_writes = 0
        self._poller: Any = None
        # request/response traffic: don't let Nagle hold back small frames
        with contextlib.suppress(AttributeError, OSError):
            ws.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._poller = select.poll()
            self._poller.register(ws.sock.fileno(), select.POLLOUT)
        except (AttributeError, OSError, ValueError):
            self._send_mode = "thread" if send_mode == "auto" else send_mode
        self.replaced = False
        # For a graceful close (shutdown): CALLs received vs answers sent, and
        # registry calls to the station still waiting for its answer.
        self._calls_in = 0
        self._answers_out = 0
        self._calls_out = 0

    # -------------------------------------------------- Transport (loop side)

    @property
    def closed(self) -> bool:
        return self._closed

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
        self._answers_out += _message_type(message) in (3, 4)
        await self._write(lambda: self._ws.send(message), len(message))

    async def wait_closed(self) -> None:
        await self._closed_event.wait()

    # ----------------------------------------------------------- write path

    def _can_write_directly(self, size: int) -> bool:
        if self._send_mode == "direct":
            return True
        if self._send_mode == "thread" or size > self._direct_send_max:
            return False
        return any(ev & select.POLLOUT for _, ev in self._poller.poll(0))

    def _write_now(self, op: Callable[[], None]) -> None:
        try:
            op()
        except (ConnectionClosed, OSError) as exc:
            raise TransportClosed(self.chargebox_id) from exc

    async def _write(self, op: Callable[[], None], size: int) -> None:
        # Direct only when no threaded write is queued or running, to keep order.
        if self._queued_writes == 0 and self._can_write_directly(size):
            if self._sample:
                started = time.perf_counter()
                self._write_now(op)
                elapsed = time.perf_counter() - started
                self.stats.samples.append(elapsed)
                self.stats.direct_total_s += elapsed
                self.stats.direct_max_s = max(self.stats.direct_max_s, elapsed)
            else:
                self._write_now(op)
            self.stats.direct += 1
            return
        self.stats.threaded += 1
        self._queued_writes += 1
        # A separate task owns the lock until the thread is really done, so a
        # cancelled caller (e.g. a call() timing out) cannot let a second write
        # run concurrently with one still in progress.
        task = self.loop.create_task(self._write_in_thread(op))
        task.add_done_callback(_consume_exception)
        await asyncio.shield(task)

    async def _write_in_thread(self, op: Callable[[], None]) -> None:
        try:
            async with self._send_lock:
                future = self.loop.run_in_executor(
                    self._send_executor, self._write_now, op
                )
                done, _ = await asyncio.wait({future}, timeout=self._send_timeout)
                if not done:
                    log.warning(
                        "%s: send blocked for %.0fs, aborting connection",
                        self.chargebox_id,
                        self._send_timeout,
                    )
                    self._shutdown_socket()
                    await asyncio.wait({future}, timeout=5.0)
                    self._mark_closed()
                    raise TransportClosed(self.chargebox_id)
                future.result()
        finally:
            self._queued_writes -= 1

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
        """No CALL of the station unanswered, no call of ours unanswered."""
        return self._calls_out == 0 and self._answers_out >= self._calls_in

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
        self._close_started.set()
        if self._closed:
            return
        self._mark_closed()
        task = self.loop.create_task(self._send_close(code, reason))
        task.add_done_callback(_consume_exception)

    async def _send_close(self, code: int, reason: str) -> None:
        def close() -> None:
            try:
                self._ws.close(code, reason)
            finally:
                _wake(self._ws)

        try:
            await self._write(close, 64)
        except TransportClosed:
            _wake(self._ws)

    def close_soon(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Close from any thread (thread-safe, non-blocking, idempotent)."""
        if self._close_started.is_set():
            return
        self._close_started.set()
        try:
            self.loop.call_soon_threadsafe(self._close_on_loop, code, reason)
        except RuntimeError:  # loop already closed
            _wake(self._ws)

    def _shutdown_socket(self) -> None:
        with contextlib.suppress(OSError):
            self._ws.sock.shutdown(socket.SHUT_RDWR)

    # ------------------------------------------------ inbound (pump thread)

    def _feed(self, data: str) -> None:
        if self._closed:
            return
        if self._inbox.qsize() >= self._max_pending_frames:
            log.warning(
                "%s: %d frames pending, closing", self.chargebox_id, self._inbox.qsize()
            )
            self._close_on_loop(CLOSE_POLICY_VIOLATION, "Too many unprocessed messages")
            return
        self._calls_in += _message_type(data) == 2
        self._inbox.put_nowait(data)

    def pump(self, poll_interval: float = 10.0) -> None:
        """Forward frames to the loop until the connection ends (blocking)."""
        ws, sink, post = self._ws, self._frame_sink, self._mailbox.post
        try:
            while not self._close_started.is_set():
                data = ws.receive(timeout=poll_interval)
                if data is None:
                    continue
                if isinstance(data, bytes):  # OCPP-J uses text frames; be lenient
                    data = data.decode("utf-8", errors="replace")
                if sink is not None:
                    sink(self.chargebox_id, "in", data)
                post(self._feed, data)
        except ConnectionClosed:
            pass
        except RuntimeError:  # event loop closed (interpreter/test shutdown)
            log.debug("%s: event loop gone", self.chargebox_id)

    def release(self, grace: float = 2.0) -> None:
        """Pump thread, after pump(): make sure the socket is not left behind.

        simple-websocket's reader thread only exits when the peer answers our
        close frame (or the socket errors); do not wait for a peer that never
        does.
        """
        reader: threading.Thread | None = getattr(self._ws, "thread", None)
        if reader is not None and reader is not threading.current_thread():
            reader.join(grace)
            if reader.is_alive():
                self._shutdown_socket()
                reader.join(grace)


def _message_type(frame: str) -> int | None:
    """The MessageTypeId of an OCPP-J frame (2 CALL, 3 CALLRESULT, 4 CALLERROR)."""
    head = frame[:8].lstrip(" \t\r\n[")[:1]
    return int(head) if head in ("2", "3", "4") else None


def _wake(ws: WebSocket) -> None:
    """Wake a pump blocked in ``ws.receive()`` (simple-websocket internals)."""
    event = getattr(ws, "event", None)
    if event is not None:
        event.set()


def _consume_exception(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        if not isinstance(exc, TransportClosed):
            log.error("OCPP write task failed", exc_info=exc)


async def run_charge_point(
    connection: StationConnection, charge_point: CentralSystem
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


@dataclass(frozen=True)
class ConnectionOptions:
    send_mode: SendMode = "auto"
    direct_send_max: int = 2048
    send_timeout: float = 30.0
    max_pending_frames: int = 64
    #: how often the pump wakes up without traffic (closing also wakes it)
    poll_interval: float = 10.0
    fetch_configuration_on_boot: bool = True
    configuration_timeout: float = 30.0
    sample_send_times: bool = False


SUBPROTOCOL = "ocpp1.6"


def serve_station(
    ws: WebSocket,
    chargebox_id: str,
    *,
    registry: ConnectionRegistry,
    handler: StationHandler,
    frame_sink: FrameSink | None = None,
    options: ConnectionOptions = ConnectionOptions(),
) -> None:
    """Body of the flask-sock route: runs in the connection's handler thread."""
    if ws.subprotocol != SUBPROTOCOL:
        # Only reachable if SOCK_SERVER_OPTIONS lists other sub-protocols too
        # and the client preferred one of those.
        ws.close(CLOSE_PROTOCOL_ERROR, f"{SUBPROTOCOL} sub-protocol required")
        return

    loop = get_loop()
    send_executor = get_send_executor()
    mailbox = get_mailbox()

    async def start() -> StationConnection:
        # All asyncio objects (queues, events, locks) are created on the loop.
        conn = StationConnection(
            chargebox_id,
            ws,
            loop,
            send_executor,
            mailbox,
            frame_sink=frame_sink,
            send_mode=options.send_mode,
            direct_send_max=options.direct_send_max,
            send_timeout=options.send_timeout,
            max_pending_frames=options.max_pending_frames,
            sample_send_times=options.sample_send_times,
        )
        cp = CentralSystem(
            chargebox_id,
            conn,
            handler,
            fetch_configuration_on_boot=options.fetch_configuration_on_boot,
            configuration_timeout=options.configuration_timeout,
        )
        conn.charge_point = cp
        conn.runner = asyncio.get_running_loop().create_task(
            run_charge_point(conn, cp), name=f"ocpp-cp-{chargebox_id}"
        )
        return conn

    conn = asyncio.run_coroutine_threadsafe(start(), loop).result(10)

    previous = registry.register(conn)
    if previous is not None:
        previous.replaced = True
        previous.close_soon(CLOSE_NORMAL, "Replaced by a new connection")
    _notify(handler.station_connected, chargebox_id)
    try:
        conn.pump(options.poll_interval)
    finally:
        conn.close_soon()
        was_current = registry.unregister(conn)
        _notify(handler.station_disconnected, chargebox_id, replaced=not was_current)
        conn.release()


def _notify(method: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    try:
        method(*args, **kwargs)
    except Exception:
        log.exception("Station handler %s failed", getattr(method, "__name__", method))
