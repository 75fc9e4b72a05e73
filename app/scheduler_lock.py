"""One scheduler across workers and machines: whoever holds the lock runs the jobs.

The lock is, by what is there: a PostgreSQL session advisory lock when the database
is PostgreSQL (held by a connection of its own; a dead process's connection closes
and frees it), else a Redis key with an expiry refreshed by its holder when
REDIS_URL is set, else an exclusive ``flock`` on instance/scheduler.lock (freed by
the kernel when the process dies). The first attempt is made at start-up; a thread
tries again every SCHEDULER_LOCK_RETRY seconds, checks that the holder still holds
it, and stops the scheduler if it lost it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from flask import Flask

log = logging.getLogger(__name__)


class Lock(Protocol):
    description: str

    def try_acquire(self) -> bool: ...
    def still_held(self) -> bool: ...
    def release(self) -> None: ...


def _key64(text: str) -> int:
    """A signed 64-bit advisory lock key from a name."""
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresLock:
    def __init__(self, url: str, connect_args: dict[str, Any], name: str) -> None:
        from sqlalchemy import create_engine, make_url
        from sqlalchemy.pool import NullPool

        self._engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
        # Distinct per database and schema (search_path), so that separate portals
        # (or test runs) sharing one server do not exclude each other.
        shown = make_url(url).render_as_string(hide_password=True)
        self.key = _key64(f"{name}|{shown}|{connect_args.get('options', '')}")
        self.description = f"PostgreSQL advisory lock {self.key}"
        self._connection: Any = None

    def try_acquire(self) -> bool:
        from sqlalchemy import text

        connection = self._engine.connect()
        try:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar()
            connection.commit()  # a session lock outlives the transaction
        except Exception:
            connection.close()
            raise
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def still_held(self) -> bool:
        from sqlalchemy import text

        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
            return True
        except Exception:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None
            return False

    def release(self) -> None:
        from sqlalchemy import text

        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}
                )
                self._connection.commit()
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None
        self._engine.dispose()


_REFRESH_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_DELETE_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLock:
    def __init__(self, url: str, key: str, ttl: int) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self.key = key
        self.ttl = ttl
        self.token = f"{os.getpid()}:{uuid.uuid4().hex}"
        self.description = f"Redis lock {key}"
        self._refresh = self._redis.register_script(_REFRESH_IF_MINE)
        self._delete = self._redis.register_script(_DELETE_IF_MINE)

    def try_acquire(self) -> bool:
        return bool(self._redis.set(self.key, self.token, nx=True, ex=self.ttl))

    def still_held(self) -> bool:
        try:
            return bool(self._refresh(keys=[self.key], args=[self.token, self.ttl]))
        except Exception:
            return False

    def release(self) -> None:
        with contextlib.suppress(Exception):
            self._delete(keys=[self.key], args=[self.token])


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"lock file {path}"
        self._file: Any = None

    def try_acquire(self) -> bool:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def still_held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def lock_for(app: Flask) -> Lock:
    """PostgreSQL advisory lock, else Redis, else a lock file in instance/."""
    name = str(app.config["SCHEDULER_LOCK_NAME"])
    url = str(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.startswith("postgresql"):
        options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
        return PostgresLock(url, dict(options.get("connect_args") or {}), name)
    if app.config.get("REDIS_URL"):
        ttl = max(10, round(3 * float(app.config["SCHEDULER_LOCK_RETRY"])))
        key = f"{app.config['REDIS_KEY_PREFIX']}lock:{name}"
        return RedisLock(app.config["REDIS_URL"], key, ttl)
    return FileLock(Path(app.instance_path) / f"{name}.lock")


class Leader:
    """Runs the scheduler while this process holds the lock."""

    def __init__(
        self, lock: Lock, start: Callable[[], Any], retry: float, app: Flask
    ) -> None:
        self.lock = lock
        self._start = start
        self._retry = retry
        self._app = app
        self.scheduler: Any = None
        self._stopped = threading.Event()
        self._mutex = threading.Lock()
        self._thread = threading.Thread(
            target=self._watch, name="scheduler-lock", daemon=True
        )

    def begin(self) -> None:
        self._attempt()
        self._thread.start()

    def _attempt(self) -> None:
        with self._mutex:
            if self._stopped.is_set() or self.scheduler is not None:
                return
            try:
                acquired = self.lock.try_acquire()
            except Exception as exc:
                log.warning(
                    "scheduler lock: %s unavailable: %s", self.lock.description, exc
                )
                return
            if not acquired:
                log.info(
                    "scheduler lock: %s held elsewhere; pid %s waits",
                    self.lock.description,
                    os.getpid(),
                )
                return
            self.scheduler = self._start()
            self._app.extensions["scheduler"] = self.scheduler
            log.info(
                "scheduler lock: pid %s holds %s, scheduler started",
                os.getpid(),
                self.lock.description,
            )

    def _watch(self) -> None:
        while not self._stopped.wait(self._retry):
            try:
                if self.scheduler is None:
                    self._attempt()
                elif not self.lock.still_held():
                    log.warning("scheduler lock: lost %s", self.lock.description)
                    with self._mutex:
                        self._stop_scheduler()
            except Exception:
                log.exception("scheduler lock: check failed")

    def _stop_scheduler(self) -> None:
        if self.scheduler is not None:
            with contextlib.suppress(Exception):
                self.scheduler.shutdown(wait=False)
            self.scheduler = None
            self._app.extensions.pop("scheduler", None)

    def stop(self) -> None:
        """Stop the scheduler here and free the lock (graceful shutdown)."""
        self._stopped.set()
        with self._mutex:
            self._stop_scheduler()
            self.lock.release()
