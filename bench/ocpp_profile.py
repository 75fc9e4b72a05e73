"""In-process profile of the OCPP 1.6 per-message path: CPU and SQL per message.

Drives the portal's own station handler (ocpp_server/v16/handler.py) and message-log
hook directly, without sockets or threads, for N registered stations through the
same cycle as ``bench.ocpp_load``. Because it runs in one thread and measures that
thread's CPU time (not wall time), its figures hardly move on a busy machine: use it
to compare changes of the per-message cost. What it leaves out (WebSocket, asyncio,
thread hops, lock waits) only ``bench.ocpp_load`` measures.

    .venv/bin/python -m bench.ocpp_profile --stations 200 --cycles 5
    .venv/bin/python -m bench.ocpp_profile --group 50   # messages batched as under load
    .venv/bin/python -m bench.ocpp_profile --history 5000  # outlets with a past
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
from datetime import UTC, datetime, timedelta
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

from bench.load.database import portal_env, prepare_database
from bench.load.settings import CYCLE, chargebox_id
from bench.load.stations import StationCycle


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
    parser.add_argument(
        "--group",
        type=int,
        default=1,
        help="station messages per handler batch (1: each its own unit of work; "
        "a busy portal takes up to ocpp_server.websocket.loop.MAX_BATCH)",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        metavar="N",
        help="meter values each outlet has stored already (a portal that has run "
        "for a while; a MeterValues looks for repeats among them)",
    )
    parser.add_argument("--cprofile", metavar="PATH", help="write cProfile stats")
    args = parser.parse_args(argv)

    from ocpp_server.websocket.calls import CallContext, StationCall
    from ocpp_server.websocket.frames import parse_frame

    tmp = Path(tempfile.mkdtemp(prefix="bench-ocpp-profile-"))
    try:
        database = prepare_database(tmp, args.stations)
        os.environ.update(portal_env(database))
        from app import create_app
        from app.extensions import db

        app = create_app()
        handler = app.extensions["ocpp16"].handler
        frames = app.extensions["ocpp_websocket"].frames
        log_hook: Callable[[list[Any]], None] | None = (
            frames._hook if frames is not None else None
        )
        counts: Counter[str] = Counter()
        current = ["setup"]
        with app.app_context():
            engine = db.engine
            if args.history:
                _store_history(args.history)

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

        def send(group: list[tuple[SimStation, Any]]) -> list[Any]:
            """One batch of the handler (as a handler thread takes the messages
            queued behind each other), of one action."""
            action = type(group[0][1]).__name__
            calls, frames = [], []
            for sim, request in group:
                sim.uid += 1
                uid = f"{sim.chargebox_id}-{sim.uid}"
                body = snake_to_camel_case(remove_nones(serialize_as_dict(request)))
                ctx = CallContext(sim.chargebox_id, uid, action)
                calls.append(
                    StationCall(ctx, _METHODS[action], camel_to_snake_case(body))
                )
                frames.append(
                    (sim.chargebox_id, uid, json.dumps([2, uid, action, body]))
                )
            current[0] = action
            t0 = time.thread_time()
            outcomes = handler.run_batch(calls)
            cpu[action] += time.thread_time() - t0
            messages[action] += len(calls)
            results = []
            now = time.time()
            for (identity, uid, raw), (result, error) in zip(
                frames, outcomes, strict=True
            ):
                if error is not None:
                    raise error
                answer = snake_to_camel_case(remove_nones(serialize_as_dict(result)))
                pending.append((identity, "in", raw, now))
                pending.append((identity, "out", json.dumps([3, uid, answer]), now))
                results.append(result)
            if len(pending) >= args.batch:
                flush_log()
            return results

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
            handler.station_connected(
                CallContext(sim.chargebox_id, "connect", "connect"), {}
            )
            send(
                [
                    (
                        sim,
                        call.BootNotification(
                            charge_point_vendor="Bench", charge_point_model="Sim"
                        ),
                    )
                ]
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
                for first in range(0, len(stations), args.group):
                    group = [
                        (sim, sim.payload())
                        for sim in stations[first : first + args.group]
                    ]
                    for (sim, request), result in zip(group, send(group), strict=True):
                        sim.advance(request, result)
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


def _store_history(per_outlet: int) -> None:
    """Store `per_outlet` energy readings, 5 minutes apart, for every outlet."""
    from sqlalchemy import insert, select, update

    from app.extensions import db
    from app.models import MeterValue, Outlet

    start = datetime(2025, 1, 1, tzinfo=UTC)
    for outlet_id in db.session.scalars(select(Outlet.id)).all():
        db.session.execute(
            insert(MeterValue),
            [
                {
                    "outlet_id": outlet_id,
                    "sampled_at": start + timedelta(minutes=5 * i),
                    "measurand": "Energy.Active.Import.Register",
                    "value": float(i),
                    "unit": "Wh",
                    "context": "Sample.Periodic",
                }
                for i in range(per_outlet)
            ],
        )
    if per_outlet:  # as the portal keeps it when it stores a sample
        newest = start + timedelta(minutes=5 * (per_outlet - 1))
        db.session.execute(update(Outlet).values(newest_sample_at=newest))
    db.session.commit()


if __name__ == "__main__":
    raise SystemExit(main())
