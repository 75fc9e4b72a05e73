"""Graceful shutdown of a worker (gunicorn.conf.py calls :func:`begin` on SIGTERM).

1. New station handshakes are refused (503, Retry-After) while gunicorn stops
   accepting on this worker.
2. Each OCPP 1.6 station is closed with 1001 "going away" once the messages in
   flight on its connection are answered (at most ``OCPP_SHUTDOWN_IDLE_WAIT`` s),
   the closes spread evenly over ``OCPP_SHUTDOWN_SPREAD`` seconds so the stations
   do not all reconnect to the other workers at the same moment. Commands being
   sent are waited for; a station's queued transaction messages go to the worker it
   reconnects to (the services take a repeated start or stop as the same one).
3. The worker leaves Redis (its station entries, its command channel) and lets go
   of the scheduler lock, so another worker takes the jobs over at once.

Everything must fit in gunicorn's ``graceful_timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from flask import Flask

from ocpp_server.websocket.connection import CLOSE_GOING_AWAY, StationConnection
from ocpp_server.websocket.loop import get_loop, is_started, run_coroutine, stop_loop
from ocpp_server.websocket.routes import get_state

log = logging.getLogger(__name__)

_apps: weakref.WeakSet[Flask] = weakref.WeakSet()
_lock = threading.Lock()
_drainer: threading.Thread | None = None


def register(app: Flask) -> None:
    """Remember an app whose stations a SIGTERM must let go (ocpp_server.init_app)."""
    _apps.add(app)


def begin(then: Callable[[], None] | None = None) -> threading.Thread:
    """Start draining every registered app in a thread (idempotent, non-blocking);
    call ``then`` when done. The process is ending: its OCPP loop stops last."""
    global _drainer  # noqa: PLW0603 (one drain per process)
    with _lock:
        if _drainer is None:
            _drainer = threading.Thread(
                target=_drain_all, args=(then,), name="ocpp-drain", daemon=True
            )
            _drainer.start()
        return _drainer


def _drain_all(then: Callable[[], None] | None) -> None:
    try:
        for app in list(_apps):
            try:
                drain(app)
            except Exception:
                log.exception("graceful shutdown failed")
        _stop_loop()
    finally:
        if then is not None:
            then()


def _stop_loop(timeout: float = 10.0) -> None:
    """Let the handlers still running finish, then stop this process's OCPP loop."""
    if not is_started():
        return
    try:
        run_coroutine(get_loop().shutdown_default_executor(), timeout)
    except Exception as exc:
        log.warning("shutdown: OCPP handlers did not finish: %s", exc)
    stop_loop()


def drain(
    app: Flask, *, spread: float | None = None, idle_wait: float | None = None
) -> None:
    """Let go of every station and command of this app; returns when done."""
    spread = float(app.config["OCPP_SHUTDOWN_SPREAD"] if spread is None else spread)
    idle_wait = float(
        app.config["OCPP_SHUTDOWN_IDLE_WAIT"] if idle_wait is None else idle_wait
    )
    state = get_state(app)
    state.draining = True
    connections = state.registry.connections()
    log.info(
        "shutting down: closing %d station connection(s) over %.0f s",
        len(connections),
        spread,
    )
    if connections:
        run_coroutine(
            _close_spread(connections, spread, idle_wait), spread + idle_wait + 5
        )
    deadline = time.monotonic() + idle_wait
    while state.active.value > 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # the handler threads record the disconnects
    router: Any = app.extensions.get("station_router")
    if router is not None:
        router.stop()
    scheduler_lock: Any = app.extensions.get("scheduler_lock")
    if scheduler_lock is not None:
        scheduler_lock.stop()
    log.info("shutdown: stations closed, routing and scheduler released")


async def _close_spread(
    connections: list[StationConnection], spread: float, idle_wait: float
) -> None:
    step = spread / len(connections)

    async def close(index: int, connection: StationConnection) -> None:
        await asyncio.sleep(index * step)
        await connection.close_when_idle(
            CLOSE_GOING_AWAY, "Server restarting", idle_wait
        )

    assert asyncio.get_running_loop() is get_loop()
    await asyncio.gather(
        *(close(i, c) for i, c in enumerate(connections)), return_exceptions=True
    )


def wait(timeout: float) -> None:
    """Wait for a drain begun by :func:`begin` (no-op if none was)."""
    drainer = _drainer
    if drainer is not None:
        drainer.join(timeout)
