"""A simulated OCPP 1.6 station for the tests: the `ocpp` library's ChargePoint over a
real `websockets` connection, run on its own event loop in a background thread so
that tests stay synchronous."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action

ANSWERS: dict[str, Any] = {
    "Reset": call_result.Reset(status="Accepted"),
    "ChangeAvailability": call_result.ChangeAvailability(status="Accepted"),
    "ChangeConfiguration": call_result.ChangeConfiguration(status="Accepted"),
    "ClearCache": call_result.ClearCache(status="Accepted"),
    "UnlockConnector": call_result.UnlockConnector(status="Unlocked"),
    "RemoteStartTransaction": call_result.RemoteStartTransaction(status="Accepted"),
    "RemoteStopTransaction": call_result.RemoteStopTransaction(status="Accepted"),
    "UpdateFirmware": call_result.UpdateFirmware(),
    "GetDiagnostics": call_result.GetDiagnostics(file_name="diag-CP.zip"),
    "SendLocalList": call_result.SendLocalList(status="Accepted"),
    "GetLocalListVersion": call_result.GetLocalListVersion(list_version=7),
    "ReserveNow": call_result.ReserveNow(status="Accepted"),
    "CancelReservation": call_result.CancelReservation(status="Accepted"),
    "TriggerMessage": call_result.TriggerMessage(status="Accepted"),
    "SetChargingProfile": call_result.SetChargingProfile(status="Accepted"),
    "ClearChargingProfile": call_result.ClearChargingProfile(status="Accepted"),
    "GetCompositeSchedule": call_result.GetCompositeSchedule(
        status="Accepted", connector_id=1
    ),
    "DataTransfer": call_result.DataTransfer(status="Accepted", data="pong"),
    "GetConfiguration": call_result.GetConfiguration(
        configuration_key=[
            {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
            {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
        ]
    ),
}


def _answering(action: Action) -> Any:
    name = action.value

    async def handler(self: SimulatedStation, **payload: Any) -> Any:
        self.received.append((name, payload))
        self.got_call.set()
        if self.silent:
            await asyncio.sleep(3600)
        return self.answers.get(name, ANSWERS[name])

    handler.__name__ = f"on_{name}"
    return on(action)(handler)


class SimulatedStation(ChargePoint):
    """Answers every central-system call of OCPP 1.6 and records what it got."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, Any] = {}
        self.silent = False
        self.got_call = asyncio.Event()

    def names(self) -> list[str]:
        return [name for name, _payload in self.received]


for _name in ANSWERS:
    setattr(SimulatedStation, f"on_{_name}", _answering(Action(_name)))


class StationRunner:
    """Drives a SimulatedStation from synchronous test code."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, cp: SimulatedStation, ws: Any
    ) -> None:
        self.loop, self.cp, self.ws = loop, cp, ws

    def _run(self, coro: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, payload: Any) -> Any:
        """Send a station → portal message and return the portal's answer."""
        return self._run(self.cp.call(payload))

    def send_raw(self, frame: str | bytes) -> None:
        self._run(self.ws.send(frame))

    def close(self) -> None:
        self._run(self.ws.close())

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake."""
        self.loop.call_soon_threadsafe(self.ws.transport.abort)

    @property
    def received(self) -> list[tuple[str, dict[str, Any]]]:
        return self.cp.received


@contextmanager
def running_station(
    url: str, chargebox_id: str, *, password: str | None = None
) -> Iterator[StationRunner]:
    """Connect a simulated station to `url` and keep it serving until the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    headers = {}
    if password is not None:
        token = base64.b64encode(f"{chargebox_id}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"

    async def connect() -> tuple[SimulatedStation, Any, asyncio.Task[None]]:
        ws = await websockets.connect(
            f"{url}/Ocpp/websocket/{chargebox_id}".replace("http://", "ws://"),
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=headers,
        )
        cp = SimulatedStation(chargebox_id, ws, response_timeout=10)
        task = asyncio.ensure_future(cp.start())
        return cp, ws, task

    cp, ws, task = asyncio.run_coroutine_threadsafe(connect(), loop).result(10)
    try:
        yield StationRunner(loop, cp, ws)
    finally:

        async def stop() -> None:
            task.cancel()
            await ws.close()

        try:
            asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()


def run_async(coro: Any, timeout: float = 30.0) -> Any:
    """Run a coroutine to completion on a fresh loop in its own thread.

    The main thread may already have a running loop (Playwright's sync API keeps
    one while a browser is open), where asyncio.run() refuses to start.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if "error" in outcome:
        raise outcome["error"]
    if "value" not in outcome:
        raise TimeoutError("coroutine did not finish")
    return outcome["value"]
