"""Simulated stations: the ``ocpp`` v16 ChargePoint over ``websockets``, in the
load-generator processes, each running the cycle and reporting its calls."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ocpp.exceptions import OCPPError
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    ChargePointErrorCode,
    ChargePointStatus,
    Reason,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from bench.load.settings import (
    CYCLE,
    RESPONSE_TIMEOUT,
    STOP_GRACE,
    SUBPROTOCOL,
    chargebox_id,
    now_iso,
)

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
    #: perf_counter when the last BootNotification of this process was answered
    last_boot: float = 0.0


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
    """A 1.6 station (bench/load/ocpp201.py's SimStation201 speaks 2.0.1)."""

    SUBPROTOCOL: ClassVar[Any] = SUBPROTOCOL
    CHARGE_POINT: ClassVar[type] = SimChargePoint

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
    ref: str = ""  #: 2.0.1: the station's own id of its transaction
    seq_no: int = 0  #: 2.0.1: the next TransactionEvent's seqNo
    #: ``--storm``: after its boot the station reports its connectors' status and
    #: starts its cycle with a Heartbeat (a fleet coming back opens no transaction)
    storm: bool = False

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
                        subprotocols=[self.SUBPROTOCOL],
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
            self.cp = self.CHARGE_POINT(
                self.identity, self.ws, response_timeout=RESPONSE_TIMEOUT
            )
            self.reader = asyncio.create_task(self.cp.start())
            self.reader.add_done_callback(self._reader_done)
            try:
                await self.cp.call(self.boot_request(), suppress=False)
            except (OCPPError, TimeoutError, ConnectionClosed) as exc:
                self.recorder.errors[f"boot: {type(exc).__name__}"] += 1
                return False
            self.recorder.last_boot = max(self.recorder.last_boot, time.perf_counter())
            if self.storm:
                return await self._report_status()
            return await self._enter_cycle()

    def status_requests(self) -> list[Any]:
        """What a station reports after its boot: the station (connector 0) and its
        connector are Available."""
        return [
            call.StatusNotification(
                connector_id=connector,
                error_code=ChargePointErrorCode.no_error,
                status=ChargePointStatus.available,
                timestamp=now_iso(),
            )
            for connector in (0, 1)
        ]

    async def _report_status(self) -> bool:
        assert self.cp is not None
        for request in self.status_requests():
            try:
                await self.cp.call(request, suppress=False)
            except (OCPPError, TimeoutError, ConnectionClosed) as exc:
                self.recorder.errors[f"status: {type(exc).__name__}"] += 1
                return False
        self.step = 0
        return True

    def boot_request(self) -> Any:
        return call.BootNotification(
            charge_point_vendor="Bench",
            charge_point_model="Sim-1",
            charge_point_serial_number=self.identity,
            firmware_version="1.0",
        )

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
    station_class = SimStation
    if args.ocpp == "2.0.1":
        from bench.load.ocpp201 import SimStation201

        station_class = SimStation201
    stations = [
        station_class(n, args.url, recorder, storm=args.storm)
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
            "boot_s": max(0.0, recorder.last_boot - ramp_started),
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
