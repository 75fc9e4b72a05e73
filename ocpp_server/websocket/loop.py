"""One asyncio event loop per process, running in a daemon thread.

The ``ocpp`` library is asyncio based while flask-sock runs the upgrade in a
server thread.  All ``ChargePoint`` objects of a process, and their sockets, live
on a single event loop that runs in a background daemon thread.  The loop is
started lazily on first use and transparently re-created when the PID changes,
so a ``gunicorn --preload`` fork (or any other fork) gets its own loop instead
of a reference to a thread that does not exist in the child.

Besides the loop, the per-process state holds:

* the handler threads (:class:`BatchExecutor`): station messages waiting for
  them are taken together, run as one batch (the station handler commits a
  batch once) and settled on the loop through a mailbox (:class:`Mailbox`) with
  one wake-up;
* the loop's default executor (``asyncio.to_thread``), for the rarer
  synchronous work (configuration received).

The loop itself reads and writes the stations' sockets (:mod:`.connection`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Handler threads (and the size of the loop's default executor).  Size it with
#: the database connection pool in mind.
HANDLER_WORKERS = 32
#: Most station messages one handler thread takes as one batch.
MAX_BATCH = 50

#: What a batch runner returns per call: (result, None) or (None, exception).
Outcome = tuple[Any, BaseException | None]
#: Runs calls as one batch; returns one outcome per call, in order.
BatchRunner = Callable[[Sequence[Any]], list[Outcome]]


class Mailbox:
    """Calls posted from other threads, run on the loop in order of posting.

    ``post`` wakes the loop only when no drain is already scheduled, so under
    load one wake-up runs many posted calls.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._calls: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False

    def post(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop soon (thread-safe).

        Raises RuntimeError when the loop is closed."""
        self._calls.append((fn, args))
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._drain)
        except RuntimeError:
            with self._lock:
                self._scheduled = False
            raise

    def _drain(self) -> None:
        with self._lock:  # cleared first: a call posted from now on schedules anew
            self._scheduled = False
        calls = self._calls
        while calls:
            fn, args = calls.popleft()
            try:
                fn(*args)
            except Exception:
                log.exception("posted call %r failed", fn)


@dataclass
class _Item:
    runner: BatchRunner
    call: Any
    future: asyncio.Future[Any]


class BatchExecutor:
    """Handler threads that take the calls waiting for them as one batch.

    A thread takes the first waiting call and, without waiting for more, every
    call queued behind it (up to ``max_batch``); the batch's runner decides what
    a batch means (the portal's handler commits it once). The outcomes go back
    to the loop in one posted call. An idle system therefore runs each call on
    its own, with no added latency; a busy one amortises the hand-offs and
    commits over the calls that queued up meanwhile.
    """

    def __init__(
        self, mailbox: Mailbox, workers: int, max_batch: int = MAX_BATCH
    ) -> None:
        self._mailbox = mailbox
        self._max_batch = max(1, max_batch)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"ocpp-handler-{n}", daemon=True)
            for n in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    async def run(self, runner: BatchRunner, call: Any) -> Any:
        """Have ``runner`` run ``call`` in a handler thread, batched with the
        calls queued next to it for the same runner."""
        future = asyncio.get_running_loop().create_future()
        self._queue.put(_Item(runner, call, future))
        return await future

    def _take(self) -> list[_Item] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # leave the stop signal for the next turn
                break
            batch.append(item)
        return batch

    def _work(self) -> None:
        while (batch := self._take()) is not None:
            settled: list[tuple[_Item, Outcome]] = []
            start = 0
            while start < len(batch):  # consecutive calls of one runner together
                runner = batch[start].runner
                end = start + 1
                while end < len(batch) and batch[end].runner == runner:
                    end += 1
                items = batch[start:end]
                try:
                    outcomes = runner([item.call for item in items])
                except Exception as exc:  # a runner must not raise; fail its calls
                    log.exception("batch runner failed")
                    outcomes = [(None, exc) for _ in items]
                settled.extend(zip(items, outcomes, strict=True))
                start = end
            try:
                self._mailbox.post(_settle, settled)
            except RuntimeError:
                return  # loop closed

    def stop(self, timeout: float) -> None:
        """Let the threads finish what they hold and end (idempotent)."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)


def _settle(settled: list[tuple[_Item, Outcome]]) -> None:
    for item, (result, error) in settled:
        if item.future.done():  # cancelled: the connection went away
            continue
        if error is not None:
            item.future.set_exception(error)
        else:
            item.future.set_result(result)


@dataclass(frozen=True)
class _LoopState:
    pid: int
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    mailbox: Mailbox
    handlers: BatchExecutor


_lock = threading.Lock()
_state: _LoopState | None = None


def configure(*, handler_workers: int | None = None) -> None:
    """Set the handler thread count; only affects loops created afterwards."""
    global HANDLER_WORKERS
    if handler_workers is not None:
        HANDLER_WORKERS = handler_workers


def _run(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        log.debug("OCPP event loop stopped")


def _start() -> _LoopState:
    loop = asyncio.new_event_loop()
    loop.set_default_executor(
        concurrent.futures.ThreadPoolExecutor(
            max_workers=HANDLER_WORKERS, thread_name_prefix="ocpp-handler"
        )
    )
    thread = threading.Thread(
        target=_run, args=(loop,), name="ocpp-event-loop", daemon=True
    )
    thread.start()
    mailbox = Mailbox(loop)
    handlers = BatchExecutor(mailbox, HANDLER_WORKERS)
    log.info("Started OCPP event loop thread in pid %s", os.getpid())
    return _LoopState(os.getpid(), loop, thread, mailbox, handlers)


def _get_state() -> _LoopState:
    global _state
    state = _state
    if state is not None and state.pid == os.getpid() and state.thread.is_alive():
        return state
    with _lock:
        state = _state
        if state is None or state.pid != os.getpid() or not state.thread.is_alive():
            # A different PID means we are in a forked child: the parent's loop
            # thread does not exist here.  Never touch (close) the inherited
            # loop object, its selector fds are shared with the parent.
            state = _start()
            _state = state
        return state


def get_loop() -> asyncio.AbstractEventLoop:
    """Return this process's OCPP event loop, starting it if needed."""
    return _get_state().loop


def get_mailbox() -> Mailbox:
    return _get_state().mailbox


def get_handlers() -> BatchExecutor:
    return _get_state().handlers


def is_started() -> bool:
    """Whether this process has started its loop (without starting it)."""
    state = _state
    return state is not None and state.pid == os.getpid() and state.thread.is_alive()


def is_loop_thread() -> bool:
    state = _state
    return (
        state is not None
        and state.pid == os.getpid()
        and threading.current_thread() is state.thread
    )


def run_coroutine(coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
    """Run ``coro`` on the OCPP loop from a synchronous thread and wait for it.

    Raises :class:`RuntimeError` when called from the loop thread itself (that
    would dead-lock) and :class:`TimeoutError` (after cancelling the coroutine)
    when it does not finish in ``timeout`` seconds.
    """
    if is_loop_thread():
        coro.close()
        raise RuntimeError(
            "run_coroutine() must not be called from the OCPP event loop thread"
        )
    future = asyncio.run_coroutine_threadsafe(coro, get_loop())
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise


def stop_loop(timeout: float = 5.0) -> None:
    """Stop the loop thread of this process (tests / orderly shutdown)."""
    global _state
    with _lock:
        state = _state
        _state = None
    if state is None or state.pid != os.getpid():
        return
    state.handlers.stop(timeout)
    state.loop.call_soon_threadsafe(state.loop.stop)
    state.thread.join(timeout)


def _after_fork_in_child() -> None:
    # The lock may have been held by another thread at fork time; that thread
    # does not exist in the child, so replace the lock.  The PID check in
    # _get_state() re-creates the loop lazily.
    global _lock, _state
    _lock = threading.Lock()
    _state = None


os.register_at_fork(after_in_child=_after_fork_in_child)
