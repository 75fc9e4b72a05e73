"""Observation of every OCPP frame in and out (for a message log).

The hot path (the event loop, for frames in and out) only puts the
raw text and a timestamp on a queue.  A single daemon thread per process
parses the frame, correlates CALLRESULT/CALLERROR frames with the action of the
CALL they answer, and calls the user hook with the frames of up to ``LINGER``
seconds at once (one database write per batch).  The hook may therefore block (e.g.
write to a database) without stalling the event loop, and it sees frames in
the order they were observed.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

Direction = Literal["in", "out"]

CALL, CALLRESULT, CALLERROR = 2, 3, 4


@dataclass(frozen=True, slots=True)
class Frame:
    """One WebSocket text frame, as seen by the central system."""

    timestamp: (
        float  #: ``time.time()`` when the frame was received / handed to the socket
    )
    chargebox_id: str
    direction: Direction  #: "in" = station -> central system
    raw: str
    message_type_id: int | None = None  #: None when the frame is not an OCPP-J array
    unique_id: str | None = None
    action: str | None = None  #: for results/errors: the action of the answered CALL
    payload: Any = (
        None  #: CALL/CALLRESULT payload, or CALLERROR ``[code, description, details]``
    )


#: receives frames in arrival order, in batches (one database write per batch)
FrameHook = Callable[[list[Frame]], None]


def parse_frame(
    chargebox_id: str, direction: Direction, raw: str, timestamp: float
) -> Frame:
    """Read what the log keeps of a frame; one it cannot read is kept as raw text."""
    try:
        return _parse(chargebox_id, direction, raw, timestamp)
    except RecursionError:  # JSON nested deeper than Python's recursion limit
        return Frame(timestamp, chargebox_id, direction, raw)


def _parse(
    chargebox_id: str, direction: Direction, raw: str, timestamp: float
) -> Frame:
    try:
        msg = json.loads(raw)
    except ValueError:
        return Frame(timestamp, chargebox_id, direction, raw)
    if not isinstance(msg, list) or len(msg) < 2 or not isinstance(msg[0], int):
        return Frame(timestamp, chargebox_id, direction, raw)
    type_id, unique_id = msg[0], msg[1]
    uid = unique_id if isinstance(unique_id, str) else json.dumps(unique_id)
    if type_id == CALL:
        action = msg[2] if len(msg) > 2 and isinstance(msg[2], str) else None
        return Frame(
            timestamp,
            chargebox_id,
            direction,
            raw,
            type_id,
            uid,
            action,
            msg[3] if len(msg) > 3 else None,
        )
    if type_id == CALLRESULT:
        return Frame(
            timestamp,
            chargebox_id,
            direction,
            raw,
            type_id,
            uid,
            None,
            msg[2] if len(msg) > 2 else None,
        )
    if type_id == CALLERROR:
        return Frame(
            timestamp, chargebox_id, direction, raw, type_id, uid, None, msg[2:]
        )
    return Frame(timestamp, chargebox_id, direction, raw, type_id, uid)


class FrameDispatcher:
    """Delivers frames to a hook from one background thread (PID aware)."""

    #: how many unanswered CALLs are remembered for action correlation
    MAX_PENDING = 10_000
    #: at most this many frames per hook call
    MAX_BATCH = 500
    #: after the first frame of a batch, wait this long (s) for more: one database
    #: write per batch, so under load a few larger batches cost far less than many
    #: small ones; the log lags the traffic by at most this much
    LINGER = 0.1

    def __init__(self, hook: FrameHook) -> None:
        self._hook = hook
        self._queue: queue.SimpleQueue[
            tuple[str, Direction, str, float] | threading.Event
        ] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()
        # (chargebox_id, direction of the CALL, unique_id) -> action
        self._pending: OrderedDict[tuple[str, Direction, str], str] = OrderedDict()

    def emit(self, chargebox_id: str, direction: Direction, raw: str) -> None:
        """Record a frame.  Cheap and non-blocking; callable from any thread."""
        self._ensure_thread()
        self._queue.put((chargebox_id, direction, raw, time.time()))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until all frames emitted so far were delivered (tests)."""
        self._ensure_thread()
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid():
                if self._pid != os.getpid():
                    self._queue = (
                        queue.SimpleQueue()
                    )  # inherited items belong to the parent
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="ocpp-frame-log", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        q = self._queue
        while True:
            batch: list[Frame] = []
            flushes: list[threading.Event] = []
            item = q.get()
            deadline = time.monotonic() + self.LINGER
            while True:
                if isinstance(item, threading.Event):
                    flushes.append(item)
                else:
                    batch.append(
                        self._correlate(parse_frame(item[0], item[1], item[2], item[3]))
                    )
                if len(batch) >= self.MAX_BATCH:
                    break
                try:
                    item = q.get_nowait()
                except queue.Empty:
                    remaining = deadline - time.monotonic()
                    if flushes or remaining <= 0:
                        break
                    try:
                        item = q.get(timeout=remaining)
                    except queue.Empty:
                        break
            if batch:
                try:
                    self._hook(batch)
                except Exception:
                    log.exception("OCPP frame hook failed")
            for done in flushes:
                done.set()

    def _correlate(self, frame: Frame) -> Frame:
        if frame.unique_id is None:
            return frame
        if frame.message_type_id == CALL:
            if frame.action is not None:
                self._pending[
                    (frame.chargebox_id, frame.direction, frame.unique_id)
                ] = frame.action
                while len(self._pending) > self.MAX_PENDING:
                    self._pending.popitem(last=False)
            return frame
        if frame.message_type_id in (CALLRESULT, CALLERROR):
            call_direction: Direction = "out" if frame.direction == "in" else "in"
            action = self._pending.pop(
                (frame.chargebox_id, call_direction, frame.unique_id), None
            )
            if action is not None:
                return Frame(
                    frame.timestamp,
                    frame.chargebox_id,
                    frame.direction,
                    frame.raw,
                    frame.message_type_id,
                    frame.unique_id,
                    action,
                    frame.payload,
                )
        return frame
