"""A simulated OCPP 1.6 station for the tests: the `ocpp` library's ChargePoint over a
real `websockets` connection, run on its own event loop in a background thread so
that tests stay synchronous."""

from __future__ import annotations

import asyncio
import base64
import ftplib
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
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
        answer = self.answers.get(name, ANSWERS[name])
        if name == "GetDiagnostics" and answer.file_name:
            self.upload_diagnostics(payload["location"], answer.file_name)
        return answer

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
        # Installed charging profiles by (connector, profile id), as a station keeps them.
        self.profiles: dict[tuple[int, int], dict[str, Any]] = {}
        self.clock: Any = lambda: datetime.now(UTC)
        self.uploads: list[tuple[str, str]] = []  # (location, outcome)

    def names(self) -> list[str]:
        return [name for name, _payload in self.received]

    def profile(self, connector: int, profile_id: int) -> dict[str, Any] | None:
        return self.profiles.get((connector, profile_id))

    # Smart charging as OCPP 1.6 §3.13 describes it, enough for the tests.

    def install_profile(self, connector: int, profile: dict[str, Any]) -> None:
        """Store a profile; one with the same id, or the same purpose and stack
        level on the same connector, is replaced."""
        for key, old in list(self.profiles.items()):
            same_slot = key[0] == connector and (
                old["charging_profile_purpose"],
                old["stack_level"],
            ) == (profile["charging_profile_purpose"], profile["stack_level"])
            if key[1] == profile["charging_profile_id"] or same_slot:
                del self.profiles[key]
        self.profiles[(connector, profile["charging_profile_id"])] = profile

    def clear_profiles(self, **criteria: Any) -> bool:
        """Remove the profiles matching every criterion given; tell if any went."""
        gone = [
            key
            for key, profile in self.profiles.items()
            if criteria.get("id") in (None, key[1])
            and criteria.get("connector_id") in (None, key[0])
            and criteria.get("charging_profile_purpose")
            in (None, profile["charging_profile_purpose"])
            and criteria.get("stack_level") in (None, profile["stack_level"])
        ]
        for key in gone:
            del self.profiles[key]
        return bool(gone)

    def _limit_now(self, profile: dict[str, Any]) -> float:
        chart = profile["charging_schedule"]
        periods = chart["charging_schedule_period"]
        elapsed = 0.0
        if "start_schedule" in chart:
            start = datetime.fromisoformat(
                chart["start_schedule"].replace("Z", "+00:00")
            )
            elapsed = (self.clock() - start).total_seconds()
            if profile["charging_profile_kind"] == "Recurring":
                elapsed %= chart["duration"]
        current = periods[0]
        for period in periods:
            if period["start_period"] <= elapsed:
                current = period
        return float(current["limit"])

    def composite_limit(self, connector: int) -> float | None:
        """The limit in force now on a connector: TxProfile over TxDefaultProfile
        (own connector over connector 0), highest stack level, within
        ChargePointMaxProfile."""

        def best(purpose: str, connectors: tuple[int, ...]) -> dict[str, Any] | None:
            for where in connectors:
                found = [
                    p
                    for (c, _i), p in self.profiles.items()
                    if c == where and p["charging_profile_purpose"] == purpose
                ]
                if found:
                    return max(found, key=lambda p: p["stack_level"])
            return None

        tx = best("TxProfile", (connector,)) or best("TxDefaultProfile", (connector, 0))
        limits = [
            self._limit_now(p)
            for p in (tx, best("ChargePointMaxProfile", (0,)))
            if p is not None
        ]
        return min(limits) if limits else None

    def upload_diagnostics(self, location: str, file_name: str) -> None:
        """Upload a diagnostics file to the location, in a thread, as a station does
        after answering GetDiagnostics; then report Uploaded or UploadFailed."""
        loop = asyncio.get_running_loop()
        content = f"diagnostics of {self.id}\n".encode() * 64

        def upload() -> None:
            try:
                outcome = upload_by_ftp(location, file_name, content)
            except (OSError, ftplib.Error) as exc:
                outcome = f"failed: {exc}"
            self.uploads.append((location, outcome))
            if outcome == "skipped":
                return
            status = "Uploaded" if outcome == "uploaded" else "UploadFailed"
            asyncio.run_coroutine_threadsafe(
                self.call(call.DiagnosticsStatusNotification(status=status)), loop
            )

        threading.Thread(target=upload, daemon=True).start()


def upload_by_ftp(location: str, file_name: str, content: bytes) -> str:
    """STOR a file into the folder of an ftp:// URL with the URL's credentials.

    Only to this machine: a location elsewhere (the tests' example hosts) is
    "skipped", so no test ever reaches off the machine.
    """
    parts = urlsplit(location)
    if parts.scheme != "ftp" or parts.hostname not in ("127.0.0.1", "localhost"):
        return "skipped"
    with ftplib.FTP() as ftp:
        ftp.connect(parts.hostname, parts.port or 21, timeout=5)
        ftp.login(unquote(parts.username or ""), unquote(parts.password or ""))
        if parts.path.strip("/"):
            ftp.cwd(unquote(parts.path))
        ftp.storbinary(f"STOR {file_name}", io.BytesIO(content))
    return "uploaded"


for _name in ANSWERS:
    setattr(SimulatedStation, f"on_{_name}", _answering(Action(_name)))


@on(Action.set_charging_profile)
async def _set_charging_profile(self: SimulatedStation, **payload: Any) -> Any:
    self.received.append(("SetChargingProfile", payload))
    self.got_call.set()
    if "SetChargingProfile" in self.answers:
        return self.answers["SetChargingProfile"]
    self.install_profile(payload["connector_id"], payload["cs_charging_profiles"])
    return call_result.SetChargingProfile(status="Accepted")


@on(Action.clear_charging_profile)
async def _clear_charging_profile(self: SimulatedStation, **payload: Any) -> Any:
    self.received.append(("ClearChargingProfile", payload))
    self.got_call.set()
    self.clear_profiles(**payload)
    return call_result.ClearChargingProfile(status="Accepted")


@on(Action.get_composite_schedule)
async def _get_composite_schedule(self: SimulatedStation, **payload: Any) -> Any:
    self.received.append(("GetCompositeSchedule", payload))
    self.got_call.set()
    if "GetCompositeSchedule" in self.answers:
        return self.answers["GetCompositeSchedule"]
    connector = payload["connector_id"]
    limit = self.composite_limit(connector)
    if limit is None:  # accepted, with no schedule in force
        return call_result.GetCompositeSchedule(
            status="Accepted", connector_id=connector
        )
    return call_result.GetCompositeSchedule(
        status="Accepted",
        connector_id=connector,
        schedule_start=self.clock().isoformat().replace("+00:00", "Z"),
        charging_schedule={
            "duration": payload["duration"],
            "charging_rate_unit": "A",
            "charging_schedule_period": [{"start_period": 0, "limit": limit}],
        },
    )


SimulatedStation.on_SetChargingProfile = _set_charging_profile  # type: ignore[attr-defined]
SimulatedStation.on_ClearChargingProfile = _clear_charging_profile  # type: ignore[attr-defined]
SimulatedStation.on_GetCompositeSchedule = _get_composite_schedule  # type: ignore[attr-defined]


class StationRunner:
    """Drives a SimulatedStation from synchronous test code."""

    def __init__(self, loop: asyncio.AbstractEventLoop, cp: Any, ws: Any) -> None:
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
    url: str,
    chargebox_id: str,
    *,
    password: str | None = None,
    subprotocols: tuple[str, ...] = ("ocpp1.6",),
    station_class: type[ChargePoint] = SimulatedStation,
) -> Iterator[StationRunner]:
    """Connect a simulated station to `url` and keep it serving until the block ends
    (a 2.0.1 one: tests/ocpp_server/v201/station.py)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    headers = {}
    if password is not None:
        token = base64.b64encode(f"{chargebox_id}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"

    async def connect() -> tuple[Any, Any, asyncio.Task[None]]:
        ws = await websockets.connect(
            f"{url}/Ocpp/websocket/{chargebox_id}".replace("http://", "ws://"),
            subprotocols=list(subprotocols),  # type: ignore[arg-type]
            additional_headers=headers,
        )
        cp = station_class(chargebox_id, ws, response_timeout=10)
        task = asyncio.ensure_future(cp.start())
        return cp, ws, task

    cp, ws, task = asyncio.run_coroutine_threadsafe(connect(), loop).result(10)
    try:
        yield StationRunner(loop, cp, ws)
    finally:

        async def stop() -> None:
            task.cancel()
            await ws.close()
            # e.g. a status report sent after an upload, still waiting for its answer
            others = asyncio.all_tasks() - {asyncio.current_task()}
            for other in others:
                other.cancel()
            await asyncio.gather(*others, return_exceptions=True)

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
