"""The servers under load: the portal under gunicorn, and the bare baseline."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import (
    Action,
    AuthorizationStatus,
    RegistrationStatus,
)
from websockets.exceptions import ConnectionClosed

from bench.load.database import Database, portal_env
from bench.load.processes import (
    free_port,
    nofile_target,
    process_tree,
    spawn,
    status_kb,
)
from bench.load.settings import HOST, PATH, SUBPROTOCOL, now_iso


@dataclass
class Instance:
    """One server process tree (a gunicorn master and its workers) on one port."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path


@dataclass
class Server:
    name: str
    kind: str  #: worker class / implementation, for the table
    instances: list[Instance]
    #: the portal's database, where the first contact's work lands (None: baseline)
    database_url: str | None = None

    def wait_settled(self, booted: int, timeout: float) -> float | None:
        """Wait until the portal has stored the configuration it fetched from every
        booted station on first contact (GetConfiguration after BootNotification),
        so that work does not fall into the measured window; return the seconds
        waited, or None when it did not settle in time."""
        if self.database_url is None or booted == 0:
            return 0.0
        from sqlalchemy import create_engine, func, select

        from app.models import StationConfigKey

        engine = create_engine(self.database_url)
        started = time.monotonic()
        try:
            while time.monotonic() - started < timeout:
                with engine.connect() as connection:
                    stored = connection.execute(
                        select(func.count(func.distinct(StationConfigKey.station_id)))
                    ).scalar_one()
                if stored >= booted:
                    return time.monotonic() - started
                time.sleep(0.5)
            return None
        finally:
            engine.dispose()

    @property
    def urls(self) -> list[str]:
        return [f"ws://{HOST}:{i.port}{PATH}" for i in self.instances]

    def pids(self) -> list[int]:
        return [pid for i in self.instances for pid in process_tree(i.process.pid)]

    def worker_pid(self) -> int:
        """The process that serves the connections (the first gunicorn worker)."""
        pids = process_tree(self.instances[0].process.pid)
        return pids[1] if len(pids) > 1 else pids[0]

    def peak_rss_mb(self) -> float:
        return sum(status_kb(pid, "VmHWM") for pid in self.pids()) / 1024

    def log_problems(self) -> int:
        """Tracebacks in the servers' logs (each failed message logs one)."""
        count = 0
        for instance in self.instances:
            with contextlib.suppress(OSError):
                count += instance.log.read_text(errors="replace").count("Traceback")
        return count

    def wait_ready(self, probe: str | None, timeout: float = 90.0) -> None:
        for instance in self.instances:
            self._wait_ready(instance, probe, timeout)

    def _wait_ready(
        self, instance: Instance, probe: str | None, timeout: float
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if instance.process.poll() is not None:
                break
            try:
                if probe is None:
                    socket.create_connection((HOST, instance.port), timeout=1).close()
                else:
                    url = f"http://{HOST}:{instance.port}{probe}"
                    with urllib.request.urlopen(url, timeout=5) as response:
                        response.read()
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        tail = instance.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{self.name} server did not start:\n{tail}")

    def stop(self) -> None:
        for instance in self.instances:
            if instance.process.poll() is None:
                instance.process.send_signal(signal.SIGTERM)
        for instance in self.instances:
            with contextlib.suppress(subprocess.TimeoutExpired):
                instance.process.wait(timeout=15)
            # Whatever is left of the group we started (workers that hang on to threads).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(instance.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                instance.process.wait(timeout=10)


@contextlib.contextmanager
def portal_server(
    args: argparse.Namespace, database: Database, tmp: Path
) -> Iterator[Server]:
    """``--instances`` gunicorns (one port each) of ``--workers`` workers each."""
    connections = args.stations + 256
    instances: list[Instance] = []
    kind = args.worker_class
    if args.instances > 1 or args.workers > 1:
        kind += f" {args.instances}x{args.workers}"
    from app.config import normalise_database_url

    server = Server("portal", kind, instances, normalise_database_url(database.url))
    try:
        for number in range(args.instances):
            port = free_port()
            log = tmp / f"portal-{args.worker_class}-{number}.log"
            command = [
                args.server_python,
                "-m",
                "gunicorn",
                "--config=gunicorn.conf.py",
                f"--workers={args.workers}",
                f"--worker-class={args.worker_class}",
                f"--worker-connections={connections}",
                f"--bind={HOST}:{port}",
                "--backlog=4096",
                "--timeout=120",
                "--graceful-timeout=20",
                "--log-level=warning",
            ]
            command += shlex.split(args.gunicorn_args or "")
            command.append("wsgi:app")
            with log.open("wb") as out:
                process = spawn(
                    command,
                    env=portal_env(database, args),
                    nofile=nofile_target(args.stations),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            instances.append(Instance(process, port, log))
        server.wait_ready("/login")
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def baseline_server(args: argparse.Namespace, tmp: Path) -> Iterator[Server]:
    port = free_port()
    log = tmp / "baseline.log"
    with log.open("wb") as out:
        process = spawn(
            [sys.executable, "-m", "bench.ocpp_load", "_baseline", "--port", str(port)],
            env=dict(os.environ),
            nofile=nofile_target(args.stations),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server("baseline", "asyncio", [Instance(process, port, log)])
    try:
        server.wait_ready(None)
        yield server
    finally:
        server.stop()


class BareCentralSystem(ChargePoint):  # type: ignore[misc]
    """The baseline: answers every station message, stores nothing."""

    transaction_ids = iter(range(1, 1 << 62))

    @on(Action.boot_notification)
    def on_boot_notification(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(
            current_time=now_iso(), interval=300, status=RegistrationStatus.accepted
        )

    @on(Action.heartbeat)
    def on_heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=now_iso())

    @on(Action.status_notification)
    def on_status_notification(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, **_: Any) -> call_result.Authorize:
        return call_result.Authorize(
            id_tag_info={"status": AuthorizationStatus.accepted}
        )

    @on(Action.start_transaction)
    def on_start_transaction(self, **_: Any) -> call_result.StartTransaction:
        return call_result.StartTransaction(
            transaction_id=next(self.transaction_ids),
            id_tag_info={"status": AuthorizationStatus.accepted},
        )

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    def on_stop_transaction(self, **_: Any) -> call_result.StopTransaction:
        return call_result.StopTransaction()


async def serve_baseline(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    from bench.load.ocpp201 import SUBPROTOCOL201, BareCentralSystem201

    kinds: dict[str, type[ChargePoint]] = {
        SUBPROTOCOL: BareCentralSystem,
        SUBPROTOCOL201: BareCentralSystem201,
    }

    async def station(ws: ServerConnection) -> None:
        kind = kinds.get(ws.subprotocol)  # type: ignore[arg-type]
        if kind is None:
            await ws.close(1002, "ocpp1.6 or ocpp2.0.1 required")
            return
        identity = ws.request.path.rstrip("/").rsplit("/", 1)[-1] if ws.request else ""
        with contextlib.suppress(ConnectionClosed):
            await kind(identity, ws).start()

    async with serve(
        station,
        HOST,
        port,
        subprotocols=[SUBPROTOCOL, SUBPROTOCOL201],
        ping_interval=60,
        compression=None,
        max_size=256 * 1024,
        backlog=4096,
    ):
        await asyncio.Future()
