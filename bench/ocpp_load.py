"""OCPP 1.6 load benchmark: N simulated stations against the portal and a bare baseline.

Each simulated station is the ``ocpp`` library's v16 ``ChargePoint`` over a
``websockets`` client connection (asyncio, in one or more load-generator
processes). It connects to ``ws://127.0.0.1:PORT/Ocpp/websocket/<id>`` with the
``ocpp1.6`` sub-protocol, sends BootNotification (and answers the GetConfiguration
the portal sends on first contact), then repeats a cycle of ten messages:
Heartbeat, StatusNotification Preparing, StartTransaction, StatusNotification
Charging, MeterValues, MeterValues, Heartbeat, MeterValues, StopTransaction,
StatusNotification Available, each station from its own place in it (a place inside
a transaction opened during the ramp). ``--paced RATE``: every station sends RATE
messages a second (random phase); ``--closed``: a station sends its next message as
soon as the answer to the previous one arrives.

The same load runs, in the same run, against two servers on 127.0.0.1:

* ``portal``: the app (``wsgi:app``) under gunicorn with gunicorn.conf.py, one worker
  (or ``--workers``/``--instances``, below), ``gthread`` (a
  thread per connection) or ``gevent``, on a fresh database: SQLite in a temporary
  instance folder, or with DATABASE_URL set that PostgreSQL database (its tables are
  dropped and recreated). N stations are registered with one OPEN outlet each, so
  every StartTransaction is accepted without a tag. Every message goes through
  app/services and every frame into the message log, as in production.
* ``baseline``: a bare asyncio ``websockets`` + ``ocpp`` central system that answers
  every message and persists nothing (synchronous schema validation).

The window starts once the portal has stored the configuration it fetched from every
station on first contact (a GetConfiguration after each BootNotification; with
thousands of fresh stations that backlog runs well past the ramp and would fall into
the window), then a warm-up.

Measured for ``--duration`` seconds after a warm-up: connections held (stations
connected before the load and still connected at its end), messages/s (answered
CALLs), p50/p99/max round-trip latency as the station sees it (CALL sent ->
CALLRESULT received), errors (failed connects or boots, CALLERRORs, timeouts,
dropped connections), peak server RSS (VmHWM summed over the server's process tree)
and the CPU the server and the load generator used (cores). It prints one table, a
row per server and the ratio portal/baseline.

    .venv/bin/python -m bench.ocpp_load --stations 1000 --closed --duration 20
    .venv/bin/python -m bench.ocpp_load --stations 5000 --paced 0.2
    .venv/bin/python -m bench.ocpp_load --server portal --worker-class gevent \\
        --server-python /tmp/venv-with-gevent/bin/python
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m bench.ocpp_load --stations 1000 --closed

Several workers: ``--workers W`` (one gunicorn with W workers; the kernel spreads
the stations over them) and/or ``--instances N`` (N gunicorns on N ports, standing
in for N machines; the load generators split the stations between them) need Redis
(``--redis URL`` or ``REDIS_URL``; keys under a prefix unique to the run, deleted at
the end). With Redis, a probe in this process sends ``--command-rate`` Reset
commands a second to random stations during the window through a portal app that
holds no station, so each goes through Redis to the worker holding the station and
back: its round trip (p50/p99/max) is printed under the table.

    .venv/bin/python -m bench.ocpp_load --server portal --stations 500 --paced 0.2 \\
        --instances 2 --redis redis://127.0.0.1:6379/0

``--py-spy PATH`` samples the portal worker (GIL holder) during the measured window
and prints its hot spots. Bounded: at most 10,000 stations, a ramp-up timeout, the
measured window; every subprocess and the temporary folder are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import json
import logging
import math
import os
import random
import re
import resource
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocpp import messages
from ocpp.exceptions import OCPPError
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    AuthorizationStatus,
    ChargePointErrorCode,
    ChargePointStatus,
    Reason,
    RegistrationStatus,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parent.parent
MAX_STATIONS = 10_000
HOST = "127.0.0.1"
PATH = "/Ocpp/websocket"
SUBPROTOCOL = Subprotocol("ocpp1.6")
SECRET_KEY = "bench-ocpp-load-secret-0123456789abcdef"
RESPONSE_TIMEOUT = 30.0  # seconds a simulated station waits for an answer
STOP_GRACE = 5.0  # seconds after the window for calls still in flight
SETTLE_TIMEOUT = 300.0  # seconds to wait for the first contact's work after the ramp
CYCLE = (
    "Heartbeat",
    "StatusNotification:Preparing",
    "StartTransaction",
    "StatusNotification:Charging",
    "MeterValues",
    "MeterValues",
    "Heartbeat",
    "MeterValues",
    "StopTransaction",
    "StatusNotification:Available",
)
TARGETS = (
    "targets (issue 10, every message persisted): closed loop at 1,000 stations "
    ">= 5,500 msg/s; 5,000 stations held paced at 0.2 msg/s with p99 <= 30 ms"
)

# Both sides validate synchronously (the default validates in a thread pool).
messages.ASYNC_VALIDATION = False


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def chargebox_id(index: int) -> str:
    return f"BENCH{index:05d}"


# ---------------------------------------------------------------------------
# Process helpers (limits, /proc)


def nofile_target(stations: int) -> int:
    """An open-file limit well above what N connections need on either side."""
    return max(8192, 4 * stations + 4096)


def raise_nofile(target: int) -> int:
    """Raise RLIMIT_NOFILE to ``target`` (the hard limit too, when allowed)."""
    with contextlib.suppress(OSError, ValueError):
        target = min(target, int(Path("/proc/sys/fs/nr_open").read_text()))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, target))
        except (OSError, ValueError):
            target = hard  # not privileged: the hard limit is the ceiling
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(hard, target)))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (Linux /proc)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (all their threads)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all CPUs, /proc/stat)."""
    fields = [
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def status_kb(pid: int, key: str) -> int:
    with contextlib.suppress(OSError):
        match = re.search(
            rf"^{key}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M
        )
        if match:
            return int(match.group(1))
    return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class LineReader:
    """Reads JSON lines from a child's stdout with a deadline (no threads)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self.process = process
        self.fd = process.stdout.fileno()
        self.buffer = b""

    def read(self, deadline: float) -> dict[str, Any] | None:
        """The next JSON object the child printed; None on timeout or exit."""
        while True:
            if b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                if line.strip().startswith(b"{"):
                    result: dict[str, Any] = json.loads(line)
                    return result
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    return None
                self.buffer += chunk


# ---------------------------------------------------------------------------
# The portal's database


@dataclass(frozen=True)
class Database:
    url: str  #: DATABASE_URL for the server process
    description: str
    instance: Path


def prepare_database(tmp: Path, stations: int) -> Database:
    """Fresh schema through the real migrations, then N stations with 1 OPEN outlet."""
    from sqlalchemy import create_engine, make_url, text

    from app.config import normalise_database_url

    instance = tmp / "instance"
    instance.mkdir(exist_ok=True)
    url = os.environ.get("DATABASE_URL")
    if url:
        shown = make_url(normalise_database_url(url)).render_as_string(
            hide_password=True
        )
        description = f"PostgreSQL {shown} (its tables are DROPPED and recreated)"
        engine = create_engine(normalise_database_url(url))
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        path = tmp / "portal.db"
        url = f"sqlite:///{path}"
        description = f"SQLite {path}"
    database = Database(url, description, instance)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=portal_env(database),
        check=True,
        capture_output=True,
    )
    register_stations(normalise_database_url(url), stations)
    return database


def register_stations(url: str, stations: int) -> None:
    """Bulk insert: settings, one site, N stations, each with outlet 1 in OPEN mode."""
    from sqlalchemy import create_engine, insert, select

    from app.models import (
        ConnectPolicy,
        Outlet,
        OutletMode,
        OutletStatus,
        Protocol,
        Site,
        Station,
        SystemSettings,
    )

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            insert(SystemSettings),
            [
                {
                    "id": 1,
                    "connect_policy": ConnectPolicy.KNOWN_ONLY,
                    "default_outlet_mode": OutletMode.OPEN,
                }
            ],
        )
        site_id = connection.execute(
            insert(Site).values(name="Bench site").returning(Site.id)
        ).scalar_one()
        connection.execute(
            insert(Station),
            [
                {
                    "chargebox_id": chargebox_id(n),
                    "name": f"Bench station {n}",
                    "protocol": Protocol.OCPP16_JSON,
                    "site_id": site_id,
                    "heartbeat_interval": 300,
                }
                for n in range(stations)
            ],
        )
        station_ids = connection.execute(select(Station.id)).scalars().all()
        connection.execute(
            insert(Outlet),
            [
                {
                    "station_id": station_id,
                    "number": 1,
                    "mode": OutletMode.OPEN,
                    "status": OutletStatus.AVAILABLE,
                }
                for station_id in station_ids
            ],
        )
    engine.dispose()


def portal_env(
    database: Database, args: argparse.Namespace | None = None
) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database.url,
        "PORTAL_INSTANCE_PATH": str(database.instance),
        "FLASK_SECRET_KEY": SECRET_KEY,
    }
    env.pop("REDIS_URL", None)
    if args is not None and args.redis:
        env["REDIS_URL"] = args.redis
        env["FLASK_REDIS_KEY_PREFIX"] = args.redis_prefix
    return env


# ---------------------------------------------------------------------------
# Servers


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


def spawn(
    command: list[str], *, env: dict[str, str], nofile: int, **kwargs: Any
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        preexec_fn=functools.partial(raise_nofile, nofile),  # noqa: PLW1509 (no threads here)
        start_new_session=True,  # its own process group: stopped as a whole
        **kwargs,
    )


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
            if args.worker_class == "gthread":
                # Each WebSocket holds a pool thread (flask-sock's handler) for its life.
                command.append(f"--threads={args.stations + 64}")
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

    async def station(ws: ServerConnection) -> None:
        if ws.subprotocol != SUBPROTOCOL:
            await ws.close(1002, "ocpp1.6 required")
            return
        identity = ws.request.path.rstrip("/").rsplit("/", 1)[-1] if ws.request else ""
        with contextlib.suppress(ConnectionClosed):
            await BareCentralSystem(identity, ws).start()

    async with serve(
        station,
        HOST,
        port,
        subprotocols=[SUBPROTOCOL],
        ping_interval=60,
        compression=None,
        max_size=256 * 1024,
        backlog=4096,
    ):
        await asyncio.Future()


# ---------------------------------------------------------------------------
# Simulated stations (load-generator processes)

CONFIGURATION = [
    {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
    {"key": "MeterValueSampleInterval", "readonly": False, "value": "60"},
    {"key": "NumberOfConnectors", "readonly": True, "value": "1"},
    {"key": "AuthorizeRemoteTxRequests", "readonly": False, "value": "false"},
]


class SimChargePoint(ChargePoint):  # type: ignore[misc]
    """A station: answers the GetConfiguration the portal sends on first contact, and
    the Reset of the command round-trip probe."""

    @on(Action.get_configuration)
    def on_get_configuration(self, **_: Any) -> call_result.GetConfiguration:
        return call_result.GetConfiguration(configuration_key=CONFIGURATION)

    @on(Action.reset)
    def on_reset(self, **_: Any) -> call_result.Reset:
        return call_result.Reset(status="Accepted")


@dataclass
class Recorder:
    """What one load-generator process saw."""

    t0: float = math.inf  #: measured window, wall clock
    t1: float = math.inf
    latencies_us: list[int] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    closing: bool = False


class StationCycle:
    """A station's place in CYCLE: its next request, and what an answer changes.

    Shared by the load generator's stations here and bench.ocpp_profile's.
    """

    step: int
    meter_wh: int
    transaction_id: int | None

    def payload(self) -> Any:
        action, _, status = CYCLE[self.step].partition(":")
        if action == "StopTransaction" and self.transaction_id is None:
            action = "Heartbeat"  # its StartTransaction failed
        if action == "Heartbeat":
            return call.Heartbeat()
        if action == "StatusNotification":
            return call.StatusNotification(
                connector_id=1,
                error_code=ChargePointErrorCode.no_error,
                status=ChargePointStatus(status),
                timestamp=now_iso(),
            )
        if action == "StartTransaction":
            return call.StartTransaction(
                connector_id=1,
                id_tag="BENCH",
                meter_start=self.meter_wh,
                timestamp=now_iso(),
            )
        if action == "MeterValues":
            self.meter_wh += 250
            return call.MeterValues(
                connector_id=1,
                transaction_id=self.transaction_id,
                meter_value=[
                    {
                        "timestamp": now_iso(),
                        "sampled_value": [
                            {
                                "value": str(self.meter_wh),
                                "measurand": "Energy.Active.Import.Register",
                                "unit": "Wh",
                                "context": "Sample.Periodic",
                            }
                        ],
                    }
                ],
            )
        assert self.transaction_id is not None
        return call.StopTransaction(
            meter_stop=self.meter_wh,
            timestamp=now_iso(),
            transaction_id=self.transaction_id,
            reason=Reason.local,
        )

    def advance(self, request: Any, result: Any) -> None:
        if isinstance(request, call.StartTransaction):
            self.transaction_id = getattr(result, "transaction_id", None)
        elif isinstance(request, call.StopTransaction):
            self.transaction_id = None
        self.step = (self.step + 1) % len(CYCLE)


@dataclass
class SimStation(StationCycle):
    index: int
    url: str
    recorder: Recorder
    ws: ClientConnection | None = None
    cp: SimChargePoint | None = None
    reader: asyncio.Task[None] | None = None
    dropped: bool = False
    step: int = 0
    meter_wh: int = 0
    transaction_id: int | None = None

    @property
    def identity(self) -> str:
        return chargebox_id(self.index)

    @property
    def open(self) -> bool:
        return self.ws is not None and not self.dropped and self.ws.state is State.OPEN

    async def connect(self, gate: asyncio.Semaphore, deadline: float) -> bool:
        async with gate:
            for attempt in range(5):
                try:
                    self.ws = await connect(
                        f"{self.url}/{self.identity}",
                        subprotocols=[SUBPROTOCOL],
                        compression=None,
                        ping_interval=None,
                        open_timeout=max(1.0, deadline - time.monotonic()),
                        close_timeout=2,
                        max_size=1 << 20,
                    )
                    break
                except (OSError, TimeoutError) as exc:
                    if attempt == 4 or time.monotonic() > deadline:
                        self.recorder.errors[f"connect: {type(exc).__name__}"] += 1
                        return False
                    await asyncio.sleep(0.2 * (attempt + 1))
                except Exception as exc:  # e.g. InvalidStatus 404/500
                    self.recorder.errors[f"connect: {exc}"[:60]] += 1
                    return False
            assert self.ws is not None
            self.cp = SimChargePoint(
                self.identity, self.ws, response_timeout=RESPONSE_TIMEOUT
            )
            self.reader = asyncio.create_task(self.cp.start())
            self.reader.add_done_callback(self._reader_done)
            try:
                await self.cp.call(
                    call.BootNotification(
                        charge_point_vendor="Bench",
                        charge_point_model="Sim-1",
                        charge_point_serial_number=self.identity,
                        firmware_version="1.0",
                    ),
                    suppress=False,
                )
            except (OCPPError, TimeoutError, ConnectionClosed) as exc:
                self.recorder.errors[f"boot: {type(exc).__name__}"] += 1
                return False
            return await self._enter_cycle()

    async def _enter_cycle(self) -> bool:
        """Begin at a random place of the cycle (the same per station from run to
        run), so a window in which each station sends only a few messages (5,000
        stations at 0.2 msg/s) still sees the cycle's mix. A place inside a
        transaction first opens one, during the ramp."""
        assert self.cp is not None
        place = random.Random(self.index).randrange(len(CYCLE))
        if CYCLE.index("StartTransaction") < place <= CYCLE.index("StopTransaction"):
            self.step = CYCLE.index("StartTransaction")
            request = self.payload()
            try:
                self.advance(request, await self.cp.call(request, suppress=False))
            except (OCPPError, TimeoutError, ConnectionClosed) as exc:
                self.recorder.errors[f"start: {type(exc).__name__}"] += 1
                return False
        self.step = place
        return True

    def _reader_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        task.exception()  # retrieved: a closed connection is counted here instead
        if not self.dropped and not self.recorder.closing:
            self.recorder.errors["dropped"] += 1
        self.dropped = True

    async def run(self, start: float, rate: float | None) -> None:
        """Send the cycle until the window ends: paced at ``rate`` or closed loop."""
        rec = self.recorder
        interval = 1 / rate if rate else 0.0
        due = start + random.Random(self.index).random() * interval
        while not self.dropped:
            wait = due - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if time.time() >= rec.t1 or self.cp is None:
                return
            request = self.payload()
            started = time.perf_counter()
            try:
                result = await self.cp.call(
                    request, suppress=False, skip_schema_validation=True
                )
            except OCPPError as exc:
                rec.errors[f"CALLERROR {exc.code}"] += 1
                result = None
            except TimeoutError:
                rec.errors["timeout"] += 1
                result = None
            except ConnectionClosed:
                return  # counted as dropped by the reader
            finished = time.time()
            if result is not None and rec.t0 <= finished < rec.t1:
                rec.latencies_us.append(round((time.perf_counter() - started) * 1e6))
            self.advance(request, result)
            due = max(due + interval, finished) if rate else finished


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def client_main(args: argparse.Namespace) -> None:
    """One load-generator process: connect+boot its stations, wait for GO, run, report."""
    logging.getLogger("ocpp").setLevel(logging.CRITICAL)  # errors are counted instead
    loop = asyncio.get_running_loop()
    recorder = Recorder()
    stations = [
        SimStation(n, args.url, recorder)
        for n in range(args.first, args.first + args.count)
    ]
    gate = asyncio.Semaphore(args.ramp_concurrency)
    ramp_started = time.perf_counter()
    deadline = time.monotonic() + args.ramp_timeout
    tasks = [asyncio.create_task(s.connect(gate, deadline)) for s in stations]
    _, pending = await asyncio.wait(tasks, timeout=args.ramp_timeout)
    for task in pending:
        task.cancel()
        recorder.errors["connect: ramp timeout"] += 1
    await asyncio.gather(*tasks, return_exceptions=True)
    booted = [
        s
        for s, t in zip(stations, tasks, strict=True)
        if not t.cancelled() and t.exception() is None and t.result() and s.open
    ]
    emit(
        {
            "event": "ready",
            "booted": len(booted),
            "ramp_s": time.perf_counter() - ramp_started,
        }
    )

    go = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    recorder.t0, recorder.t1 = go["t0"], go["t1"]
    # Keep the long-lived connection objects out of the collector's way.
    gc.collect()
    gc.freeze()
    cpu: dict[str, float] = {}
    held: dict[str, int] = {}

    async def watch() -> None:
        await asyncio.sleep(max(0.0, recorder.t0 - time.time()))
        cpu["t0"] = time.process_time()
        await asyncio.sleep(max(0.0, recorder.t1 - time.time()))
        cpu["t1"] = time.process_time()
        held["n"] = sum(1 for s in booted if s.open)

    watcher = asyncio.create_task(watch())
    runners = [asyncio.create_task(s.run(go["start"], go["rate"])) for s in booted]
    await watcher
    _, late = (
        await asyncio.wait(runners, timeout=STOP_GRACE) if runners else (set(), set())
    )
    for task in late:
        task.cancel()
    recorder.closing = True
    emit(
        {
            "event": "result",
            "booted": len(booted),
            "held": held["n"],
            "latencies_us": recorder.latencies_us,
            "errors": dict(recorder.errors),
            "cpu": (cpu["t1"] - cpu["t0"]) / (recorder.t1 - recorder.t0),
            "late": len(late),
        }
    )
    closes = [asyncio.create_task(s.ws.close()) for s in stations if s.ws is not None]
    if closes:
        await asyncio.wait(closes, timeout=5)


# ---------------------------------------------------------------------------
# Orchestration


@dataclass
class Row:
    server: str
    kind: str
    stations: int
    booted: int = 0
    held: int = 0
    ramp_s: float = 0.0
    #: seconds after the ramp until the first contact's configuration was stored
    settle_s: float | None = 0.0
    msgs_per_s: float = 0.0
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    errors: Counter[str] = field(default_factory=Counter)
    rss_mb: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    other_cpu: float = 0.0
    log_tracebacks: int = 0
    commands: str = ""  #: the command round trip across workers, if measured

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def percentile(ordered: list[int], fraction: float) -> float:
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000


def run_load(
    server: Server,
    args: argparse.Namespace,
    profile: Path | None = None,
    probe: CommandProbe | None = None,
) -> Row:
    """Start the load generators, run the window, collect one table row."""
    row = Row(server.name, server.kind, args.stations)
    clients_wanted = max(args.clients, len(server.urls))
    per_client = math.ceil(args.stations / clients_wanted)
    clients: list[tuple[subprocess.Popen[bytes], LineReader]] = []
    ramp_timeout = args.ramp_timeout or 60 + args.stations / 25
    spy: subprocess.Popen[bytes] | None = None
    try:
        for number, first in enumerate(range(0, args.stations, per_client)):
            process = spawn(
                [
                    sys.executable,
                    "-m",
                    "bench.ocpp_load",
                    "_client",
                    "--url",
                    server.urls[number % len(server.urls)],
                    "--first",
                    str(first),
                    "--count",
                    str(min(per_client, args.stations - first)),
                    "--ramp-timeout",
                    str(ramp_timeout),
                    "--ramp-concurrency",
                    str(args.ramp_concurrency),
                ],
                env=dict(os.environ),
                nofile=nofile_target(args.stations),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            clients.append((process, LineReader(process)))
        deadline = time.monotonic() + ramp_timeout + 30
        for _, reader in clients:
            ready = reader.read(deadline)
            if ready is None:
                raise RuntimeError(
                    f"a load generator did not finish its ramp-up ({server.name})"
                )
            row.booted += ready["booted"]
            row.ramp_s = max(row.ramp_s, ready["ramp_s"])
        row.settle_s = server.wait_settled(row.booted, SETTLE_TIMEOUT)
        if row.settle_s is None:
            print(
                f"  {server.name}: first-contact configuration not all stored after "
                f"{SETTLE_TIMEOUT:g} s; measuring anyway",
                flush=True,
            )

        start = time.time() + 0.5
        t0 = start + args.warmup
        t1 = t0 + args.duration
        go = json.dumps({"start": start, "t0": t0, "t1": t1, "rate": args.paced}) + "\n"
        for process, _ in clients:
            assert process.stdin is not None
            process.stdin.write(go.encode())
            process.stdin.flush()
        time.sleep(max(0.0, t0 - time.time()))
        if probe is not None:
            probe.start(t1, args.stations, args.command_rate)
        spy = start_py_spy(args.py_spy, server.worker_pid(), profile)
        cpu0, busy0 = cpu_seconds(server.pids()), machine_busy_seconds()
        time.sleep(max(0.0, t1 - time.time()))
        row.server_cpu = (cpu_seconds(server.pids()) - cpu0) / args.duration
        if spy is not None:  # stop sampling exactly at the end of the window
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        busy = (machine_busy_seconds() - busy0) / args.duration

        latencies: list[int] = []
        deadline = time.monotonic() + STOP_GRACE + 60
        for _, reader in clients:
            result = reader.read(deadline)
            if result is None:
                raise RuntimeError(f"a load generator did not report ({server.name})")
            row.held += result["held"]
            latencies.extend(result["latencies_us"])
            row.errors.update(result["errors"])
            row.client_cpu += result["cpu"]
        # Busy CPU that neither the server nor the load generators used (py-spy, other
        # work on the machine, kernel time on nobody's account): should be near 0.
        row.other_cpu = max(0.0, busy - row.server_cpu - row.client_cpu)
        if spy is not None:
            try:
                spy.wait(timeout=60)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()
    finally:
        if spy is not None and spy.poll() is None:
            spy.kill()
            spy.wait()
        for process, _ in clients:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
    latencies.sort()
    row.msgs_per_s = len(latencies) / args.duration
    row.p50_ms = percentile(latencies, 0.50)
    row.p99_ms = percentile(latencies, 0.99)
    row.max_ms = latencies[-1] / 1000 if latencies else math.nan
    row.rss_mb = server.peak_rss_mb()
    row.log_tracebacks = server.log_problems()
    if probe is not None:
        probe.join()
        row.commands = probe.summary()
    return row


class CommandProbe:
    """Sends Reset to random stations during the window, one at a time, through a
    portal app of its own in this process: it holds no station, so every command
    goes through Redis to the worker that holds the station and its result comes
    back the same way (the cross-worker round trip, station's answer included)."""

    def __init__(self, args: argparse.Namespace, database: Database) -> None:
        from app import create_app
        from app.config import normalise_database_url

        self.app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": normalise_database_url(database.url),
                "SECRET_KEY": SECRET_KEY,
                "INSTANCE_PATH": str(database.instance / "command-probe"),
                "REDIS_URL": args.redis,
                "REDIS_KEY_PREFIX": args.redis_prefix,
                "OCPP_MESSAGE_LOG": False,
            }
        )
        self.latencies_ms: list[float] = []
        self.statuses: Counter[str] = Counter()
        self._thread: threading.Thread | None = None

    def start(self, t1: float, stations: int, rate: float) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(t1, stations, rate), daemon=True
        )
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(RESPONSE_TIMEOUT + 5)

    def _run(self, t1: float, stations: int, rate: float) -> None:
        from app.services.commands import Reset, StationAddress

        gateway = self.app.extensions["station_gateway"]
        pick = random.Random(1)
        due = time.time()
        while due < t1:
            time.sleep(max(0.0, due - time.time()))
            address = StationAddress(
                chargebox_id(pick.randrange(stations)), "OCPP16_JSON", None
            )
            started = time.perf_counter()
            result = gateway.send(address, Reset(), 10.0)
            elapsed = (time.perf_counter() - started) * 1000
            self.statuses[result.status.value] += 1
            if result.ok:
                self.latencies_ms.append(elapsed)
            due = max(due + 1 / rate, time.time())

    def summary(self) -> str:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return f"no command answered ({dict(self.statuses)})"
        p50 = ordered[len(ordered) // 2]
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        return (
            f"{sum(self.statuses.values())} Reset sent, "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))
            + f"; round trip p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"
        )


def forget_redis_keys(url: str, prefix: str) -> None:
    """Delete this run's keys (its prefix is unique to the run)."""
    import redis

    client = redis.Redis.from_url(url)
    with contextlib.suppress(redis.RedisError):
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
    client.close()


def start_py_spy(
    py_spy: str | None, pid: int, output: Path | None
) -> subprocess.Popen[bytes] | None:
    """Sample the GIL holder of the worker until SIGINT (the end of the window).

    ``--gil`` keeps the cost low with thousands of threads (sampling every thread's
    on-CPU state does not keep up); py-spy then reports the *last* GIL holder, so a
    sample whose leaf is a blocking wait means that no Python code was running.
    """
    if py_spy is None or output is None:
        return None
    command = [py_spy, "record", "--pid", str(pid), "--rate", "100", "--gil"]
    command += ["--nonblocking", "--format", "raw", "--output", str(output)]
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


PACKAGES = {
    "sqlalchemy (ORM + Core)": ("sqlalchemy/",),
    "  of which pool checkout / connect / ping": ("sqlalchemy/pool/",),
    "app.services": ("app/services/",),
    "ocpp_server": ("ocpp_server/",),
    "  of which message log (frames.py + log_frames)": ("frames.py", "log_frames"),
    "ocpp library (routing, validation)": ("ocpp/",),
    "jsonschema": ("jsonschema/",),
    "simple_websocket + wsproto": ("simple_websocket/", "wsproto/"),
    "asyncio": ("asyncio/",),
    "flask / werkzeug / flask_sqlalchemy": ("flask/", "werkzeug/", "flask_sqlalchemy/"),
    "flask_babel / babel (lazy strings)": ("flask_babel/", "babel/"),
    "gunicorn": ("gunicorn/",),
}
PROJECT = ("app/", "ocpp_server/", "admin_views/")
#: leaf frames that hold no GIL: blocked in a lock, a queue, a selector or a socket
WAITS = re.compile(
    r"^(Condition\.wait|Event\.wait|_wait_for_tstate_lock|wait \(|"
    r"\w*Selector\.select|select \(|SimpleQueue\.get|Queue\.get|get \(queue|"
    r"_worker \(concurrent/futures/thread\.py\))"
)


def print_profile(path: Path, top: int = 15) -> None:
    """Hot spots from py-spy's collapsed stacks: package, self and project shares."""
    if not path.exists():
        print("py-spy wrote no profile")
        return
    own: Counter[str] = Counter()
    waits: Counter[str] = Counter()
    project: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        frames = [
            f.replace(str(ROOT) + "/", "").split("site-packages/")[-1] for f in frames
        ]
        total += count
        if WAITS.match(frames[-1]):
            waits[frames[-1]] += count
            continue
        own[frames[-1]] += count
        for frame in set(frames):
            if any(f"({p}" in frame for p in PROJECT):
                project[frame] += count
        for name, needles in PACKAGES.items():
            if any(needle in frame for frame in frames for needle in needles):
                packages[name] += count
    if not total:
        print("py-spy recorded no samples")
        return
    idle = sum(waits.values())
    print(f"\nPortal worker profile (py-spy --gil, {total} samples):")
    print(
        f"  {100 * idle / total:5.1f} % no Python running (last GIL holder blocked in):"
    )
    for frame, count in waits.most_common(4):
        print(f"    {100 * count / total:5.1f} %  {frame}")
    print("  running, by package (inclusive):")
    for name in PACKAGES:
        print(f"    {100 * packages[name] / total:5.1f} %  {name}")
    print(f"  running, top {top} functions (self):")
    for frame, count in own.most_common(top):
        print(f"    {100 * count / total:5.1f} %  {frame}")
    print(f"  running, top {top} project functions (inclusive):")
    for frame, count in project.most_common(top):
        print(f"    {100 * count / total:5.1f} %  {frame}")


def ratio(portal: float, baseline: float) -> str:
    if not baseline or math.isnan(portal) or math.isnan(baseline):
        return "-"
    return f"{portal / baseline:.2f}x"


def print_table(rows: list[Row]) -> None:
    header = (
        f"| {'server':<9} | {'worker':<11} | {'stations':>8} | {'held':>6} | {'ramp s':>6} "
        f"| {'msg/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} | {'max ms':>7} | {'errors':>6} "
        f"| {'peak RSS MB':>11} | {'srv CPU':>7} | {'gen CPU':>7} | {'other':>5} |"
    )
    print(header)
    print("|" + "|".join("-" * len(part) for part in header.split("|")[1:-1]) + "|")
    for r in rows:
        print(
            f"| {r.server:<9} | {r.kind:<11} | {r.stations:>8} | {r.held:>6} | {r.ramp_s:>6.1f} "
            f"| {r.msgs_per_s:>7.0f} | {r.p50_ms:>7.1f} | {r.p99_ms:>7.1f} | {r.max_ms:>7.0f} "
            f"| {r.error_count:>6} | {r.rss_mb:>11.0f} | {r.server_cpu:>7.2f} "
            f"| {r.client_cpu:>7.2f} | {r.other_cpu:>5.2f} |"
        )
    portal = next((r for r in rows if r.server == "portal"), None)
    base = next((r for r in rows if r.server == "baseline"), None)
    if portal and base:
        print(
            f"| {'ratio':<9} | {'p/b':<11} | {'':>8} | {ratio(portal.held, base.held):>6} "
            f"| {ratio(portal.ramp_s, base.ramp_s):>6} "
            f"| {ratio(portal.msgs_per_s, base.msgs_per_s):>7} "
            f"| {ratio(portal.p50_ms, base.p50_ms):>7} | {ratio(portal.p99_ms, base.p99_ms):>7} "
            f"| {ratio(portal.max_ms, base.max_ms):>7} | {'':>6} "
            f"| {ratio(portal.rss_mb, base.rss_mb):>11} "
            f"| {ratio(portal.server_cpu, base.server_cpu):>7} | {'':>7} | {'':>5} |"
        )
    for r in rows:
        if r.commands:
            print(f"{r.server} commands across workers: {r.commands}")
    for r in rows:
        errors = {k: v for k, v in r.errors.items() if v}
        if errors or r.log_tracebacks:
            detail = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
            print(f"{r.server} errors: {detail or 'none'}; tracebacks in server log: "
                  f"{r.log_tracebacks}")  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ocpp_load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--stations", type=int, default=1000)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--closed", action="store_true", help="closed loop (default)")
    mode.add_argument(
        "--paced", type=float, metavar="RATE", help="messages/s per station"
    )
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="seconds before measuring"
    )
    parser.add_argument(
        "--server", choices=["portal", "baseline", "both"], default="both"
    )
    parser.add_argument(
        "--worker-class", choices=["gthread", "gevent"], default="gthread"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="gunicorn workers per instance"
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=1,
        help="separate gunicorns, one port each (stations split between them)",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        default=os.environ.get("REDIS_URL"),
        help="REDIS_URL for the portal (default $REDIS_URL); needed with >1 worker",
    )
    parser.add_argument(
        "--command-rate",
        type=float,
        default=10.0,
        metavar="N",
        help="with Redis: Reset commands/s across workers during the window (0: none)",
    )
    parser.add_argument(
        "--server-python",
        default=sys.executable,
        help="interpreter that runs gunicorn (e.g. a throw-away venv with gevent)",
    )
    parser.add_argument(
        "--gunicorn-args",
        metavar="ARGS",
        help="extra gunicorn options, e.g. '--timeout 30'",
    )
    parser.add_argument(
        "--clients", type=int, help="load-generator processes (default: auto)"
    )
    parser.add_argument(
        "--ramp-concurrency", type=int, default=50, help="per load generator"
    )
    parser.add_argument(
        "--ramp-timeout", type=float, help="seconds (default 60 + N/25)"
    )
    parser.add_argument(
        "--py-spy", metavar="PATH", help="profile the portal worker with py-spy"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (database, logs)"
    )
    parser.add_argument(
        "--py-spy-output", metavar="FILE", help="keep py-spy's collapsed stacks here"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.stations <= MAX_STATIONS:
        parser.error(f"--stations must be 1..{MAX_STATIONS}")
    if args.paced is not None and not 0 < args.paced <= 100:
        parser.error("--paced RATE must be in (0, 100]")
    if not 1 <= args.duration <= 600 or not 0 <= args.warmup <= 120:
        parser.error("--duration must be 1..600 s and --warmup 0..120 s")
    if args.paced:
        args.warmup = max(args.warmup, 1 / args.paced)
    if not 1 <= args.workers <= 16 or not 1 <= args.instances <= 8:
        parser.error("--workers must be 1..16 and --instances 1..8")
    if args.workers * args.instances > 1 and not args.redis:
        parser.error("more than one worker needs Redis: --redis URL or REDIS_URL")
    args.redis_prefix = f"bench-ocpp-load-{os.getpid()}-{uuid.uuid4().hex[:6]}:"
    if args.clients is None:
        args.clients = (
            1 if args.stations <= 2000 else min(4, math.ceil(args.stations / 2500))
        )
    args.clients = max(1, min(args.clients, args.stations))
    return args


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["_client"]:
        sub = argparse.ArgumentParser()
        sub.add_argument("--url", required=True)
        sub.add_argument("--first", type=int, required=True)
        sub.add_argument("--count", type=int, required=True)
        sub.add_argument("--ramp-timeout", type=float, required=True)
        sub.add_argument("--ramp-concurrency", type=int, required=True)
        asyncio.run(client_main(sub.parse_args(argv[1:])))
        return 0
    if argv[:1] == ["_baseline"]:
        sub = argparse.ArgumentParser()
        sub.add_argument("--port", type=int, required=True)
        asyncio.run(serve_baseline(sub.parse_args(argv[1:]).port))
        return 0

    args = parse_args(argv)
    if args.server != "baseline" and args.worker_class == "gevent":
        probe = subprocess.run([args.server_python, "-c", "import gevent"], check=False)
        if probe.returncode:
            print(f"gevent is not importable by {args.server_python}: install it into a "
                  "throw-away venv and pass --server-python", file=sys.stderr)  # fmt: skip
            return 2
    nofile = raise_nofile(nofile_target(args.stations))
    tmp = Path(tempfile.mkdtemp(prefix="bench-ocpp-load-"))
    rows: list[Row] = []
    mode = f"paced {args.paced:g} msg/s per station" if args.paced else "closed loop"
    try:
        database = None
        if args.server in ("portal", "both"):
            started = time.perf_counter()
            database = prepare_database(tmp, args.stations)
            print(f"Database: {database.description}; {args.stations} stations with "
                  f"1 OPEN outlet registered in {time.perf_counter() - started:.1f} s",
                  flush=True)  # fmt: skip
        print(
            f"Load: {args.stations} stations, {mode}, cycle {' > '.join(CYCLE)}; warm-up "
            f"{args.warmup:g} s, measured {args.duration:g} s; {args.clients} load "
            f"generator process(es); {os.cpu_count()} CPUs; nofile {nofile}",
            flush=True,
        )
        if database is not None:
            with portal_server(args, database, tmp) as server:
                profile = tmp / "portal.pyspy" if args.py_spy else None
                probe = None
                if args.redis and args.command_rate > 0:
                    probe = CommandProbe(args, database)
                rows.append(run_load(server, args, profile, probe))
                settle = rows[-1].settle_s
                print(
                    f"  portal done: {rows[-1].msgs_per_s:.0f} msg/s (first-contact "
                    "configuration stored "
                    + ("late" if settle is None else f"{settle:.1f} s after the ramp")
                    + ")",
                    flush=True,
                )
        if args.server in ("baseline", "both"):
            with baseline_server(args, tmp) as server:
                rows.append(run_load(server, args))
                print(f"  baseline done: {rows[-1].msgs_per_s:.0f} msg/s", flush=True)
        print()
        print_table(rows)
        print(TARGETS)
        if args.py_spy:
            print_profile(tmp / "portal.pyspy")
            if args.py_spy_output and (tmp / "portal.pyspy").exists():
                shutil.copy(tmp / "portal.pyspy", args.py_spy_output)
    finally:
        if args.redis:
            forget_redis_keys(args.redis, args.redis_prefix)
        if args.keep:
            print(f"kept {tmp} (database, server logs)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
