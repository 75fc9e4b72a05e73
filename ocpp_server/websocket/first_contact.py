"""The first-contact work of the stations that booted: admitted a few at a time.

After an accepted BootNotification the portal asks the station for its
configuration (1.6 GetConfiguration, 2.0.1 GetBaseReport) and stores it. When a
fleet reconnects at once (a deploy, a network blip) thousands of stations boot
within seconds: started all at once, their requests wait behind each other on the
loop and in the database until they time out, and their writes fight the station
messages for the database's lock. So the work goes through one queue per process,
in boot order, and at most ``CONCURRENCY`` stations' work runs at a time; while
stations are still booting (one did within ``STORM_QUIET`` seconds) only one runs,
so the connects and boots of a storm go first: the BootNotification is answered at
once, live traffic keeps its pace, and the backlog drains at its own.

Work that fails for a reason that may pass (the station's answer timed out, the
database was busy) is queued again, after the others, up to ``ATTEMPTS`` times.
Everything runs on the OCPP event loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: stations whose first-contact work runs at the same time (per process)
CONCURRENCY = 8
#: seconds since the last boot's work was queued before CONCURRENCY applies (one
#: runs at a time until then: a storm's connects and boots first)
STORM_QUIET = 0.5
#: tries per station, the first included, for work that reports it may be retried
ATTEMPTS = 3
#: seconds before a retried station's work is queued again
RETRY_DELAY = 2.0

#: One station's work: returns True when done, False to be tried again later.
Work = Callable[[], Awaitable[bool]]


@dataclass
class _Job:
    name: str
    work: Work
    attempt: int = 1


class FirstContactQueue:
    """A queue of first-contact work with a fixed concurrency (on the loop)."""

    def __init__(
        self,
        concurrency: int = CONCURRENCY,
        attempts: int = ATTEMPTS,
        retry_delay: float = RETRY_DELAY,
        quiet: float = STORM_QUIET,
    ) -> None:
        self.concurrency = max(1, concurrency)
        self.quiet = quiet
        self._last_submit = -math.inf
        self._wake: asyncio.TimerHandle | None = None
        self.attempts = max(1, attempts)
        self.retry_delay = retry_delay
        self._waiting: deque[_Job] = deque()
        self._running = 0
        #: the most jobs that ever ran at once (tests: never above concurrency)
        self.peak = 0
        #: jobs finished (done, given up or failed)
        self.finished = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def submit(self, name: str, work: Work) -> None:
        """Queue ``work`` (for the station ``name``); it runs when a place is free."""
        self._waiting.append(_Job(name, work))
        loop = asyncio.get_running_loop()
        self._last_submit = loop.time()
        self._start_next()
        if self._wake is None:  # full concurrency once it is quiet
            self._wake = loop.call_later(self.quiet, self._quiet_now)

    def _quiet_now(self) -> None:
        self._wake = None
        loop = asyncio.get_running_loop()
        left = self._last_submit + self.quiet - loop.time()
        if left > 0:  # stations booted meanwhile
            self._wake = loop.call_later(left, self._quiet_now)
        else:
            self._start_next()

    def _start_next(self) -> None:
        storm = self._wake is not None  # a boot within the last ``quiet`` seconds
        limit = 1 if storm else self.concurrency
        while self._waiting and self._running < limit:
            job = self._waiting.popleft()
            self._running += 1
            self.peak = max(self.peak, self._running)
            task = asyncio.get_running_loop().create_task(
                self._run(job), name=f"first-contact-{job.name}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, job: _Job) -> None:
        retry = False
        try:
            done = await job.work() is not False
            retry = not done and job.attempt < self.attempts
            if not done and not retry:
                log.warning("%s: first-contact work given up", job.name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: first-contact work failed", job.name)
        finally:
            self._running -= 1
            if not retry:
                self.finished += 1
            self._start_next()
        if retry:
            job.attempt += 1
            await asyncio.sleep(self.retry_delay)
            self._waiting.append(job)
            self._start_next()


_queues: dict[asyncio.AbstractEventLoop, FirstContactQueue] = {}


def get_queue(loop: asyncio.AbstractEventLoop | None = None) -> FirstContactQueue:
    """The queue of the process's OCPP loop (the running loop by default)."""
    loop = loop or asyncio.get_running_loop()
    queue = _queues.get(loop)
    if queue is None:
        for old in [old for old in _queues if old.is_closed()]:
            del _queues[old]
        queue = _queues[loop] = FirstContactQueue()
    return queue
