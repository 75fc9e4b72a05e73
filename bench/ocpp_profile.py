"""In-process profile of the OCPP 1.6 per-message path: CPU and SQL per message.

Drives the portal's own station handler (ocpp_server/v16/handler.py) and message-log
hook directly, without sockets or threads, for N registered stations through the
same cycle as ``bench.ocpp_load``. Because it runs in one thread and measures that
thread's CPU time (not wall time), its figures hardly move on a busy machine: use it
to compare changes of the per-message cost. What it leaves out (WebSocket, asyncio,
thread hops, lock waits) only ``bench.ocpp_load`` measures.

    .venv/bin/python -m bench.ocpp_profile --stations 200 --cycles 5
    .venv/bin/python -m bench.ocpp_profile --cprofile /tmp/handler.prof
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.ocpp_profile

It prints, per action: messages, CPU microseconds per message, SQL statements and
commits per message; and the same for the message log (per frame). With DATABASE_URL
set, that database's tables are DROPPED and recreated.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.v16 import call
from sqlalchemy import event

from bench.ocpp_load import (
    CYCLE,
    StationCycle,
    chargebox_id,
    portal_env,
    prepare_database,
)


class SimStation(StationCycle):
    """The load generator's station cycle, as handler calls."""

    def __init__(self, index: int) -> None:
        self.chargebox_id = chargebox_id(index)
        self.step = 0
        self.meter_wh = 0
        self.transaction_id: int | None = None
        self.uid = 0


_METHODS = {
    "BootNotification": "boot_notification",
    "Heartbeat": "heartbeat",
    "StatusNotification": "status_notification",
    "StartTransaction": "start_transaction",
    "MeterValues": "meter_values",
    "StopTransaction": "stop_transaction",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ocpp_profile")
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--cycles", type=int, default=5, help="cycles per station")
    parser.add_argument("--batch", type=int, default=100, help="frames per log batch")
    parser.add_argument("--cprofile", metavar="PATH", help="write cProfile stats")
    args = parser.parse_args(argv)

    from ocpp_server.v16.frames import parse_frame
    from ocpp_server.v16.handlers import CallContext

    tmp = Path(tempfile.mkdtemp(prefix="bench-ocpp-profile-"))
    try:
        database = prepare_database(tmp, args.stations)
        os.environ.update(portal_env(database))
        from app import create_app
        from app.extensions import db

        app = create_app()
        state = app.extensions["ocpp16"]
        handler = state.handler
        log_hook: Callable[[list[Any]], None] | None = (
            state.frames._hook if state.frames is not None else None
        )
        counts: Counter[str] = Counter()
        current = ["setup"]
        with app.app_context():
            engine = db.engine

        @event.listens_for(engine, "before_cursor_execute")
        def _count(*_: Any) -> None:
            counts[current[0]] += 1

        @event.listens_for(engine, "commit")
        def _commit(*_: Any) -> None:
            counts[current[0] + ":commit"] += 1

        stations = [SimStation(i) for i in range(args.stations)]
        cpu: dict[str, float] = defaultdict(float)
        messages: Counter[str] = Counter()
        pending: list[Any] = []

        def send(sim: SimStation, request: Any) -> Any:
            action = type(request).__name__
            sim.uid += 1
            uid = f"{sim.chargebox_id}-{sim.uid}"
            body = snake_to_camel_case(remove_nones(serialize_as_dict(request)))
            ctx = CallContext(sim.chargebox_id, uid, action)
            method = getattr(handler, _METHODS[action])
            current[0] = action
            t0 = time.thread_time()
            result = method(ctx, camel_to_snake_case(body))
            cpu[action] += time.thread_time() - t0
            messages[action] += 1
            answer = snake_to_camel_case(remove_nones(serialize_as_dict(result)))
            now = time.time()
            pending.append(
                (sim.chargebox_id, "in", json.dumps([2, uid, action, body]), now)
            )
            pending.append((sim.chargebox_id, "out", json.dumps([3, uid, answer]), now))
            if len(pending) >= args.batch:
                flush_log()
            return result

        def flush_log() -> None:
            if log_hook is None or not pending:
                pending.clear()
                return
            current[0] = "message log"
            t0 = time.thread_time()
            log_hook([parse_frame(*item) for item in pending])
            cpu["message log"] += time.thread_time() - t0
            messages["message log"] += len(pending)
            pending.clear()

        for sim in stations:
            current[0] = "connect"
            handler.station_connected(sim.chargebox_id)
            send(
                sim,
                call.BootNotification(
                    charge_point_vendor="Bench", charge_point_model="Sim"
                ),
            )
        flush_log()
        for key in list(cpu):
            cpu[key] = 0.0
        messages.clear()
        counts.clear()

        profiler = cProfile.Profile() if args.cprofile else None
        if profiler is not None:
            profiler.enable()
        for _ in range(args.cycles):
            for _step in CYCLE:
                for sim in stations:
                    request = sim.payload()
                    sim.advance(request, send(sim, request))
        flush_log()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.cprofile)

        total_msgs = sum(n for k, n in messages.items() if k != "message log")
        print(f"{args.stations} stations x {args.cycles} cycles; {engine.url!r}")
        print(
            f"| {'action':<18} | {'messages':>8} | {'CPU us/msg':>10} "
            f"| {'SQL/msg':>7} | {'commits/msg':>11} |"
        )
        print(f"|{'-' * 20}|{'-' * 10}|{'-' * 12}|{'-' * 9}|{'-' * 13}|")
        for action in [*_METHODS, "message log"]:
            n = messages[action]
            if not n:
                continue
            print(
                f"| {action:<18} | {n:>8} | {1e6 * cpu[action] / n:>10.0f} "
                f"| {counts[action] / n:>7.2f} | {counts[action + ':commit'] / n:>11.2f} |"
            )
        handled = sum(v for k, v in cpu.items() if k != "message log")
        print(
            f"per station message, handler + its 2 logged frames: "
            f"{1e6 * (handled + cpu['message log']) / total_msgs:.0f} us CPU, "
            f"{sum(v for k, v in counts.items() if ':' not in k) / total_msgs:.2f} SQL"
        )
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
