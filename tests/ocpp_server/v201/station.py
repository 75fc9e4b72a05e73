"""A simulated OCPP 2.0.1 station for the tests: the `ocpp` library's v201 ChargePoint
over a real `websockets` connection, on its own event loop in a background thread
(tests/ocpp_server/v16/station.py runs it), answering every portal → station call
of the issue and keeping the raw frames it got for the schema test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action

from tests.ocpp_server.v16.station import StationRunner, running_station

ANSWERS: dict[str, Any] = {
    "Reset": call_result.Reset(status="Accepted"),
    "ChangeAvailability": call_result.ChangeAvailability(status="Accepted"),
    "ClearCache": call_result.ClearCache(status="Accepted"),
    "UnlockConnector": call_result.UnlockConnector(status="Unlocked"),
    "RequestStartTransaction": call_result.RequestStartTransaction(status="Accepted"),
    "RequestStopTransaction": call_result.RequestStopTransaction(status="Accepted"),
    "UpdateFirmware": call_result.UpdateFirmware(status="Accepted"),
    "GetLog": call_result.GetLog(status="Accepted", filename="log-CP.zip"),
    "SendLocalList": call_result.SendLocalList(status="Accepted"),
    "GetLocalListVersion": call_result.GetLocalListVersion(version_number=7),
    "ReserveNow": call_result.ReserveNow(status="Accepted"),
    "CancelReservation": call_result.CancelReservation(status="Accepted"),
    "TriggerMessage": call_result.TriggerMessage(status="Accepted"),
    "SetChargingProfile": call_result.SetChargingProfile(status="Accepted"),
    "ClearChargingProfile": call_result.ClearChargingProfile(status="Accepted"),
    "DataTransfer": call_result.DataTransfer(status="Accepted", data="pong"),
    "SetVariables": None,  # answered per variable (below)
    "GetVariables": None,
    "GetBaseReport": call_result.GetBaseReport(status="Accepted"),
    "GetCompositeSchedule": None,
}

#: the device model the simulated station reports (GetBaseReport → NotifyReport)
VARIABLES: list[dict[str, Any]] = [
    {
        "component": {"name": "OCPPCommCtrlr"},
        "variable": {"name": "HeartbeatInterval"},
        "variable_attribute": [{"value": "300", "mutability": "ReadWrite"}],
    },
    {
        "component": {"name": "EVSE", "evse": {"id": 1}},
        "variable": {"name": "Power"},
        "variable_attribute": [{"value": "22000", "mutability": "ReadOnly"}],
    },
    {
        "component": {"name": "SampledDataCtrlr"},
        "variable": {"name": "TxUpdatedMeasurands"},
        "variable_attribute": [
            {"value": "Energy.Active.Import.Register", "mutability": "ReadWrite"}
        ],
    },
]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def energy(wh: float, context: str) -> dict[str, Any]:
    """A meter value of one energy register reading, now."""
    return {
        "timestamp": now_iso(),
        "sampled_value": [{"value": wh, "context": context}],
    }


def _answering(action: Action) -> Any:
    name = action.value

    async def handler(self: SimulatedStation201, **payload: Any) -> Any:
        self.received.append((name, payload))
        self.got_call.set()
        if self.silent:
            await asyncio.sleep(3600)
        if name in self.answers:
            return self.answers[name]
        return await getattr(self, f"answer_{name}", self._canned(name))(payload)

    handler.__name__ = f"on_{name}"
    return on(action)(handler)


class SimulatedStation201(ChargePoint):
    """Answers every portal call of OCPP 2.0.1 the portal sends; records them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, Any] = {}
        self.silent = False
        self.got_call = asyncio.Event()
        self.variables = {
            (json.dumps(v["component"], sort_keys=True), v["variable"]["name"]): v
            for v in VARIABLES
        }
        #: charging profiles installed, by (evse id, profile id)
        self.profiles: dict[tuple[int, int], dict[str, Any]] = {}
        #: every text frame the portal sent, as received
        self.frames: list[str] = []
        self.tasks: set[asyncio.Future[None]] = set()
        self.transactions = 0  # started on a RequestStartTransaction
        self.meter = 1000  # Wh at a remote start

    def names(self) -> list[str]:
        return [name for name, _payload in self.received]

    def _canned(self, name: str) -> Any:
        async def answer(_payload: dict[str, Any]) -> Any:
            return ANSWERS[name]

        return answer

    async def answer_SetVariables(self, payload: dict[str, Any]) -> Any:
        return call_result.SetVariables(
            set_variable_result=[
                {
                    "attribute_status": "Accepted",
                    "component": item["component"],
                    "variable": item["variable"],
                }
                for item in payload["set_variable_data"]
            ]
        )

    async def answer_GetVariables(self, payload: dict[str, Any]) -> Any:
        results = []
        for item in payload["get_variable_data"]:
            key = (
                json.dumps(item["component"], sort_keys=True),
                item["variable"]["name"],
            )
            known = self.variables.get(key)
            result = {
                "attribute_status": "Accepted" if known else "UnknownVariable",
                "component": item["component"],
                "variable": item["variable"],
            }
            if known:
                result["attribute_value"] = known["variable_attribute"][0]["value"]
            results.append(result)
        return call_result.GetVariables(get_variable_result=results)

    async def answer_GetBaseReport(self, payload: dict[str, Any]) -> Any:
        # The report follows the answer, in two parts (tbc on the first).
        request_id = payload["request_id"]

        async def report() -> None:
            await asyncio.sleep(0.05)
            parts = [VARIABLES[:2], VARIABLES[2:]]
            for seq_no, part in enumerate(parts):
                await self.call(
                    call.NotifyReport(
                        request_id=request_id,
                        generated_at=now_iso(),
                        seq_no=seq_no,
                        report_data=part,
                        tbc=seq_no < len(parts) - 1,
                    )
                )

        self.tasks.add(asyncio.ensure_future(report()))
        return ANSWERS["GetBaseReport"]

    async def answer_RequestStartTransaction(self, payload: dict[str, Any]) -> Any:
        # As a station does: the transaction starts after the answer.
        async def start() -> None:
            await asyncio.sleep(0.05)
            self.transactions += 1
            await self.call(
                call.TransactionEvent(
                    event_type="Started",
                    timestamp=now_iso(),
                    trigger_reason="RemoteStart",
                    seq_no=0,
                    transaction_info={
                        "transaction_id": f"RS-{self.transactions}",
                        "remote_start_id": payload["remote_start_id"],
                        "charging_state": "Charging",
                    },
                    evse={"id": payload.get("evse_id") or 1, "connector_id": 1},
                    id_token=payload["id_token"],
                    meter_value=[energy(self.meter, "Transaction.Begin")],
                )
            )

        self.tasks.add(asyncio.ensure_future(start()))
        return ANSWERS["RequestStartTransaction"]

    async def answer_RequestStopTransaction(self, payload: dict[str, Any]) -> Any:
        async def stop() -> None:
            await asyncio.sleep(0.05)
            await self.call(
                call.TransactionEvent(
                    event_type="Ended",
                    timestamp=now_iso(),
                    trigger_reason="RemoteStop",
                    seq_no=1,
                    transaction_info={
                        "transaction_id": payload["transaction_id"],
                        "stopped_reason": "Remote",
                    },
                    meter_value=[energy(self.meter + 2500, "Transaction.End")],
                )
            )

        self.tasks.add(asyncio.ensure_future(stop()))
        return ANSWERS["RequestStopTransaction"]

    async def answer_SetChargingProfile(self, payload: dict[str, Any]) -> Any:
        profile = payload["charging_profile"]
        self.profiles[(payload["evse_id"], profile["id"])] = profile
        return ANSWERS["SetChargingProfile"]

    async def answer_ClearChargingProfile(self, payload: dict[str, Any]) -> Any:
        wanted = payload.get("charging_profile_id")
        for key in list(self.profiles):
            if wanted in (None, key[1]):
                del self.profiles[key]
        return ANSWERS["ClearChargingProfile"]

    async def answer_GetCompositeSchedule(self, payload: dict[str, Any]) -> Any:
        evse = payload["evse_id"]
        limits = [
            float(p["charging_schedule"][0]["charging_schedule_period"][0]["limit"])
            for (e, _id), p in self.profiles.items()
            if e in (evse, 0)
        ]
        if not limits:
            return call_result.GetCompositeSchedule(status="Accepted")
        return call_result.GetCompositeSchedule(
            status="Accepted",
            schedule={
                "evse_id": evse,
                "duration": payload["duration"],
                "schedule_start": now_iso(),
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": min(limits)}],
            },
        )

    async def route_message(self, raw_msg: str) -> None:
        self.frames.append(raw_msg)
        await super().route_message(raw_msg)


for _name in ANSWERS:
    setattr(SimulatedStation201, f"on_{_name}", _answering(Action(_name)))


@contextmanager
def running_station201(
    url: str,
    chargebox_id: str,
    *,
    password: str | None = None,
    subprotocols: tuple[str, ...] = ("ocpp2.0.1",),
) -> Iterator[StationRunner]:
    """Connect a simulated 2.0.1 station to `url` for the length of the block."""
    with running_station(
        url,
        chargebox_id,
        password=password,
        subprotocols=subprotocols,
        station_class=SimulatedStation201,
    ) as runner:
        yield runner
