"""Work that must not hold up the caller: run it on a small pool, in an app context.

Signal receivers (see `signals`) hand their work here: pushing a charging profile
to a station or posting a webhook takes a network round trip the station's own
message must not wait for. Each task runs in its own app context (its own
database session) and a failure is logged, never lost silently.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from flask import Flask

from app.extensions import db

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pool = ThreadPoolExecutor(
    max_workers=4, thread_name_prefix="background"
)  # lazy threads
_pending: set[Future[Any]] = set()


def submit(
    app: Flask, fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> Future[Any]:
    """Run fn(*args, **kwargs) in an app context of `app` on the background pool."""

    def run() -> Any:
        with app.app_context():
            try:
                return fn(*args, **kwargs)
            except Exception:
                db.session.rollback()
                log.exception("background task %s failed", getattr(fn, "__name__", fn))
                raise

    future = _pool.submit(run)
    with _lock:
        _pending.add(future)
    future.add_done_callback(_forget)
    return future


def _forget(future: Future[Any]) -> None:
    with _lock:
        _pending.discard(future)


def wait_idle(timeout: float = 10.0) -> None:
    """Wait until every task submitted so far has finished (tests, shutdown)."""
    with _lock:
        waiting = list(_pending)
    for future in waiting:
        future.exception(timeout=timeout)  # failures were logged by the task
