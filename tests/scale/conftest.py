"""Two (or more) gunicorn instances of the portal on PostgreSQL and Redis.

Each instance is a separate gunicorn (its own master and worker, its own port),
standing in for a worker on another machine. They share a PostgreSQL schema made for
this test run through the real migrations (always PostgreSQL, also when the rest of
the suite runs on SQLite: the advisory lock and the shared store are what is tested)
and Redis under a key prefix of this run. PostgreSQL or Redis missing is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import create_engine, text

from app import create_app
from app.config import normalise_database_url
from app.extensions import db
from app.models import AccessRule, Protocol
from app.services import topology

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"
SECRET = "scale-test-secret-0123456789abcdef"


def _postgres_base() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql")) else POSTGRES


@pytest.fixture(scope="session")
def scale_database() -> Iterator[str]:
    """A fresh schema of its own, migrated; the URL selects it by search_path."""
    base = normalise_database_url(_postgres_base())
    schema = f"scale_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(base)
    with engine.begin() as connection:  # fails (never skips) without PostgreSQL
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}?options=-csearch_path%3D{schema}"
    try:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url, "FLASK_SECRET_KEY": SECRET},
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield url
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    """A key prefix for this test run; its keys are deleted at the end."""
    prefix = f"test-scale-{os.getpid()}-{uuid.uuid4().hex[:6]}:"
    client = redis.Redis.from_url(REDIS)
    client.ping()  # fails (never skips) without Redis
    yield prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS)
    yield client
    client.close()


@pytest.fixture
def add_stations(
    scale_database: str, tmp_path: Path
) -> Iterator[Callable[[int], list[str]]]:
    """Register n new 1.6 stations (one OPEN outlet each); return their ids."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(scale_database),
            "SECRET_KEY": SECRET,
            "INSTANCE_PATH": str(tmp_path / "seed-instance"),
            "TESTING": True,
        }
    )

    def make(count: int) -> list[str]:
        run = uuid.uuid4().hex[:6]
        ids = [f"SC{run}{n:03d}" for n in range(count)]
        with app.app_context():
            site = topology.create_site(None, f"Scale {run}")
            for chargebox_id in ids:
                topology.create_station(
                    None,
                    topology.StationInput(
                        chargebox_id=chargebox_id,
                        protocol=Protocol.OCPP16_JSON,
                        access=AccessRule.OPEN,
                    ),
                    site=site,
                )
            db.session.commit()
            db.session.remove()
        return ids

    yield make
    with app.app_context():
        db.engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Portal:
    """One gunicorn instance (master + one worker) on its own port."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def get(self, path: str, timeout: float = 30) -> dict[str, Any]:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.port}{path}", timeout=timeout
        ) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with contextlib.suppress(OSError):
                self.get("/_probe/ping", timeout=2)
                return
            time.sleep(0.2)
        raise AssertionError(f"portal {self.name} did not start:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def worker_pid(self) -> int:
        return int(self.get("/_probe/ping")["pid"])

    def terminate(self, timeout: float = 40) -> None:
        """SIGTERM to the master: gunicorn's graceful stop."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL to master and worker: the machine is gone."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def start_portals(
    scale_database: str, redis_prefix: str, tmp_path: Path
) -> Iterator[Callable[..., list[Portal]]]:
    """Start gunicorn instances (in parallel) sharing the database and Redis."""
    started: list[Portal] = []
    instance = tmp_path / "instance"
    instance.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": scale_database,
        "REDIS_URL": REDIS,
        "PORTAL_INSTANCE_PATH": str(instance),
        "FLASK_SECRET_KEY": SECRET,
        "FLASK_REDIS_KEY_PREFIX": redis_prefix,
        "FLASK_OCPP_FETCH_CONFIG_ON_BOOT": "false",
        "FLASK_OCPP_COMMAND_TIMEOUT": "10",
        "FLASK_OCPP_MESSAGE_LOG": "false",
        "FLASK_OCPP_SHUTDOWN_SPREAD": "2",
        "FLASK_OCPP_SHUTDOWN_IDLE_WAIT": "3",
        "FLASK_SCHEDULER_LOCK_NAME": f"scale-{uuid.uuid4().hex[:8]}",
        "FLASK_SCHEDULER_LOCK_RETRY": "1",
        "PORTAL_LOG_LEVEL": "info",
    }

    def start(*names: str, port: int | None = None, **extra_env: str) -> list[Portal]:
        portals = []
        for name in names:
            chosen = port or _free_port()
            log = tmp_path / f"{name}-{len(started)}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [
                        # to try the gevent worker: a venv with gevent, and
                        # SCALE_WORKER_CLASS=gevent
                        os.environ.get("SCALE_GUNICORN_PYTHON", sys.executable),
                        "-m",
                        "gunicorn",
                        "--config",
                        "gunicorn.conf.py",
                        "--worker-class",
                        os.environ.get("SCALE_WORKER_CLASS", "gthread"),
                        f"--bind=127.0.0.1:{chosen}",
                        "--workers=1",
                        "--threads=150",
                        "tests.scale.probe_app:app",
                    ],
                    cwd=ROOT,
                    env={**env, **extra_env},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            portal = Portal(name, chosen, process, log)
            started.append(portal)
            portals.append(portal)
        for portal in portals:
            portal.wait_ready()
        return portals

    yield start
    for portal in started:
        if portal.process.poll() is None:
            portal.kill()


def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Return check()'s first truthy value within the timeout, else fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {check}")
        time.sleep(0.1)
