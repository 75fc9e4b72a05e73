"""The cyclic garbage collector, tuned for a process that holds thousands of stations."""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

log = logging.getLogger("gc")

# A full collection walks every object of every held station: 0.8-1.2 s at 5,000
# (measured, issue 20), and every station's answer waits for it. Python makes one
# after 10 collections of the middle generation; after 1,000 they come a hundred
# times more rarely. Nearly every object is freed by its reference count, at once,
# either way: only garbage in reference cycles waits for a full collection.
FULL_COLLECTION_AFTER = 1000
SLOW = 0.1  # seconds: a collection this long is logged


def tune() -> None:
    """Call once the app is built: what it built lives as long as the process and is
    kept out of the collector's passes (`gc.freeze`, issue 10); full collections
    are made rarer; one that stops the process for long is logged."""
    gc.freeze()
    gc.set_threshold(*gc.get_threshold()[:2], FULL_COLLECTION_AFTER)
    if _log_slow not in gc.callbacks:
        gc.callbacks.append(_log_slow)


_started = [0.0]


def _log_slow(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    took = time.perf_counter() - _started[0]
    if took >= SLOW:
        log.warning(
            "garbage collection of generation %d stopped the process for %.0f ms "
            "(%d objects collected)",
            info["generation"],
            1000 * took,
            info["collected"],
        )
