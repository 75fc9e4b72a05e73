"""One measured run against one server: ramp, settle, warm-up, window; the Redis probe."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from bench.load.database import Database
from bench.load.processes import (
    LineReader,
    cpu_seconds,
    machine_busy_seconds,
    nofile_target,
    spawn,
)
from bench.load.report import Row, percentile
from bench.load.servers import Server
from bench.load.settings import (
    RESPONSE_TIMEOUT,
    SECRET_KEY,
    SETTLE_TIMEOUT,
    STOP_GRACE,
    chargebox_id,
)


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
    storm_cpu0 = cpu_seconds(server.pids())
    try:
        if args.storm:  # the storm is what is sampled (there is no window)
            spy = start_py_spy(args.py_spy, server.worker_pid(), profile)
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
                    "--ocpp",
                    args.ocpp,
                    *(["--storm"] if args.storm else []),
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
            row.boot_s = max(row.boot_s, ready.get("boot_s", 0.0))
        row.settle_s = server.wait_settled(row.booted, SETTLE_TIMEOUT)
        row.storm_cpu_s = cpu_seconds(server.pids()) - storm_cpu0
        if spy is not None and args.storm:
            spy.send_signal(signal.SIGINT)
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
        if not args.storm:
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
