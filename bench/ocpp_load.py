"""OCPP load benchmark: N simulated stations against the portal and a bare baseline.

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
soon as the answer to the previous one arrives. ``--ocpp 2.0.1``: the stations speak
OCPP 2.0.1 (``ocpp2.0.1``) and run the same cycle in its words, TransactionEvent
Started/Updated/Ended carrying the transaction and its meter values
(bench/load/ocpp201.py); the baseline answers 2.0.1 too.

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

``--storm``: a boot storm: every station connects and sends its BootNotification
at once (``--ramp-concurrency`` at a time per load generator), then a
StatusNotification for connector 0 and for connector 1 (2.0.1: for its EVSE's
connector), and opens no transaction;
printed are the seconds from the first connect until every BootNotification was
answered Accepted and until every first-contact configuration was stored, the
errors, the tracebacks in the server's log and the peak RSS.

    .venv/bin/python -m bench.ocpp_load --storm --stations 5000

``--py-spy PATH`` samples the portal worker (GIL holder) during the measured window
and prints its hot spots. Bounded: at most 10,000 stations, a ramp-up timeout, the
measured window; every subprocess and the temporary folder are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.load.database import prepare_database
from bench.load.processes import nofile_target, raise_nofile
from bench.load.report import Row, print_profile, print_storm, print_table
from bench.load.run import CommandProbe, forget_redis_keys, run_load
from bench.load.servers import baseline_server, portal_server, serve_baseline
from bench.load.settings import CYCLE, MAX_STATIONS, TARGETS
from bench.load.stations import client_main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ocpp_load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument(
        "--ocpp",
        choices=("1.6", "2.0.1"),
        default="1.6",
        help="the stations' OCPP version (2.0.1: bench/load/ocpp201.py's cycle)",
    )
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
        "--storm",
        action="store_true",
        help="boot storm: every station connects and boots at once; "
        "prints when all were Accepted and all first-contact configuration stored",
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
    if args.storm:  # no window worth the name: the ramp is what is measured
        args.paced, args.warmup, args.duration = None, 0.0, 1.0
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
        sub.add_argument("--ocpp", choices=("1.6", "2.0.1"), default="1.6")
        sub.add_argument("--storm", action="store_true")
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
            database = prepare_database(tmp, args.stations, args.ocpp)
            print(f"Database: {database.description}; {args.stations} stations with "
                  f"1 OPEN outlet registered in {time.perf_counter() - started:.1f} s",
                  flush=True)  # fmt: skip
        print(
            f"Load: {args.stations} OCPP {args.ocpp} stations, {mode}, "
            f"cycle {' > '.join(CYCLE)}; warm-up "
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
        if args.storm:
            for row in rows:
                print_storm(row, args.ramp_concurrency)
        else:
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
