"""One asyncio event loop per process, running in a daemon thread.

The ``ocpp`` library is asyncio based while flask-sock runs one OS thread per
WebSocket connection.  All ``ChargePoint`` objects of a process live on a
single event loop that runs in a background daemon thread.  The loop is
started lazily on first use and transparently re-created when the PID changes,
so a ``gunicorn --preload`` fork (or any other fork) gets its own loop instead
of a reference to a thread that does not exist in the child.

Besides the loop, the per-process state holds two thread pools:

* the loop's default executor (``asyncio.to_thread``), used for the
  synchronous station handlers (database work);
* a small dedicated executor for WebSocket writes that could block
  (see :mod:`.connection`), so a stuck station cannot starve the handler pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Size of the loop's default executor (``asyncio.to_thread``).  Size it with
#: the database connection pool in mind.
HANDLER_WORKERS = 32
#: Size of the executor used for WebSocket writes that could block.
SEND_WORKERS = 8


@dataclass(frozen=True)
class _LoopState:
    pid: int
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    send_executor: concurrent.futures.ThreadPoolExecutor


_lock = threading.Lock()
_state: _LoopState | None = None


def configure(
    *, handler_workers: int | None = None, send_workers: int | None = None
) -> None:
    """Set executor sizes; only affects loops created afterwards."""
    global HANDLER_WORKERS, SEND_WORKERS
    if handler_workers is not None:
        HANDLER_WORKERS = handler_workers
    if send_workers is not None:
        SEND_WORKERS = send_workers


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
    send_executor = concurrent.futures.ThreadPoolExecutor(
        max_workers=SEND_WORKERS, thread_name_prefix="ocpp-send"
    )
    thread = threading.Thread(
        target=_run, args=(loop,), name="ocpp-event-loop", daemon=True
    )
    thread.start()
    log.info("Started OCPP event loop thread in pid %s", os.getpid())
    return _LoopState(os.getpid(), loop, thread, send_executor)


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


def get_send_executor() -> concurrent.futures.Executor:
    return _get_state().send_executor


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
    state.loop.call_soon_threadsafe(state.loop.stop)
    state.thread.join(timeout)
    state.send_executor.shutdown(wait=False, cancel_futures=True)


def _after_fork_in_child() -> None:
    # The lock may have been held by another thread at fork time; that thread
    # does not exist in the child, so replace the lock.  The PID check in
    # _get_state() re-creates the loop lazily.
    global _lock, _state
    _lock = threading.Lock()
    _state = None


os.register_at_fork(after_in_child=_after_fork_in_child)
