"""The OCPP 2.0.1 side of the benchmark (``--ocpp 2.0.1``): a simulated 2.0.1
station running the same ten-message cycle in 2.0.1's words, and the bare 2.0.1
central system of the baseline.

The cycle, step by step as the 1.6 one (settings.CYCLE): Heartbeat; StatusNotification
Occupied; TransactionEvent Started (its own transaction id, a Transaction.Begin
reading); TransactionEvent Updated (charging state Charging); three TransactionEvent
Updated with a periodic meter value and a Heartbeat among them (a 2.0.1 station
reports a transaction's meter values in its events); TransactionEvent Ended (a
Transaction.End reading); StatusNotification Available. On first contact the
station answers the portal's GetBaseReport and sends its report in a NotifyReport.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, ClassVar

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action
from websockets.typing import Subprotocol

from bench.load.settings import CYCLE, now_iso
from bench.load.stations import SimStation

SUBPROTOCOL201 = Subprotocol("ocpp2.0.1")

REPORT = [
    {
        "component": {"name": "OCPPCommCtrlr"},
        "variable": {"name": "HeartbeatInterval"},
        "variable_attribute": [{"value": "300", "mutability": "ReadWrite"}],
    },
    {
        "component": {"name": "SampledDataCtrlr"},
        "variable": {"name": "TxUpdatedInterval"},
        "variable_attribute": [{"value": "60", "mutability": "ReadWrite"}],
    },
    {
        "component": {"name": "EVSE", "evse": {"id": 1}},
        "variable": {"name": "Power"},
        "variable_attribute": [{"value": "22000", "mutability": "ReadOnly"}],
    },
]


class SimChargePoint201(ChargePoint):  # type: ignore[misc]
    """A 2.0.1 station: answers GetBaseReport (then reports) and the probe's Reset."""

    @on(Action.get_base_report)
    def on_get_base_report(self, request_id: int, **_: Any) -> Any:
        self._report = asyncio.ensure_future(self._send_report(request_id))
        return call_result.GetBaseReport(status="Accepted")

    async def _send_report(self, request_id: int) -> None:
        await asyncio.sleep(0)  # after the answer
        await self.call(
            call.NotifyReport(
                request_id=request_id,
                generated_at=now_iso(),
                seq_no=0,
                report_data=REPORT,
            )
        )

    @on(Action.reset)
    def on_reset(self, **_: Any) -> Any:
        return call_result.Reset(status="Accepted")


def _energy(wh: int, context: str) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": now_iso(),
            "sampled_value": [
                {
                    "value": wh,
                    "measurand": "Energy.Active.Import.Register",
                    "unit_of_measure": {"unit": "Wh"},
                    "context": context,
                }
            ],
        }
    ]


class SimStation201(SimStation):
    """SimStation speaking 2.0.1: the same cycle and measurements."""

    SUBPROTOCOL: ClassVar[Subprotocol] = SUBPROTOCOL201
    CHARGE_POINT: ClassVar[type] = SimChargePoint201
    _transactions: ClassVar[itertools.count[int]] = itertools.count(1)

    def boot_request(self) -> Any:
        return call.BootNotification(
            charging_station={
                "model": "Sim-201",
                "vendor_name": "Bench",
                "serial_number": self.identity,
                "firmware_version": "1.0",
            },
            reason="PowerUp",
        )

    def status_requests(self) -> list[Any]:
        return [
            call.StatusNotification(
                timestamp=now_iso(),
                connector_status="Available",
                evse_id=1,
                connector_id=1,
            )
        ]

    def _event(self, event_type: str, trigger: str, **fields: Any) -> Any:
        info = {"transaction_id": self.ref, **fields.pop("info", {})}
        self.seq_no += 1
        return call.TransactionEvent(
            event_type=event_type,
            timestamp=now_iso(),
            trigger_reason=trigger,
            seq_no=self.seq_no - 1,
            transaction_info=info,
            **fields,
        )

    def payload(self) -> Any:
        action, _, status = CYCLE[self.step].partition(":")
        needs_transaction = action in ("MeterValues", "StopTransaction")
        if self.transaction_id is None and (needs_transaction or status == "Charging"):
            action = "Heartbeat"  # its Started failed
        if action == "Heartbeat":
            return call.Heartbeat()
        if action == "StatusNotification" and status != "Charging":
            return call.StatusNotification(
                timestamp=now_iso(),
                connector_status="Available" if status == "Available" else "Occupied",
                evse_id=1,
                connector_id=1,
            )
        if action == "StartTransaction":
            self.ref = f"{self.identity}-{next(self._transactions)}"
            self.seq_no = 0
            return self._event(
                "Started",
                "CablePluggedIn",
                evse={"id": 1, "connector_id": 1},
                id_token={"id_token": "BENCH", "type": "Central"},
                meter_value=_energy(self.meter_wh, "Transaction.Begin"),
            )
        if action == "StatusNotification":  # Charging
            return self._event(
                "Updated", "ChargingStateChanged", info={"charging_state": "Charging"}
            )
        if action == "MeterValues":
            self.meter_wh += 250
            return self._event(
                "Updated",
                "MeterValuePeriodic",
                meter_value=_energy(self.meter_wh, "Sample.Periodic"),
            )
        return self._event(
            "Ended",
            "EVCommunicationLost",
            info={"stopped_reason": "EVDisconnected"},
            meter_value=_energy(self.meter_wh, "Transaction.End"),
        )

    def advance(self, request: Any, result: Any) -> None:
        if isinstance(request, call.TransactionEvent):
            if request.event_type == "Started":
                self.transaction_id = 1 if result is not None else None
            elif request.event_type == "Ended":
                self.transaction_id = None
        self.step = (self.step + 1) % len(CYCLE)


class BareCentralSystem201(ChargePoint):  # type: ignore[misc]
    """The 2.0.1 baseline: answers every station message, stores nothing."""

    @on(Action.boot_notification)
    def on_boot_notification(self, **_: Any) -> Any:
        return call_result.BootNotification(
            current_time=now_iso(), interval=300, status="Accepted"
        )

    @on(Action.heartbeat)
    def on_heartbeat(self) -> Any:
        return call_result.Heartbeat(current_time=now_iso())

    @on(Action.status_notification)
    def on_status_notification(self, **_: Any) -> Any:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, **_: Any) -> Any:
        return call_result.Authorize(id_token_info={"status": "Accepted"})

    @on(Action.transaction_event)
    def on_transaction_event(self, id_token: Any = None, **_: Any) -> Any:
        if id_token is None:
            return call_result.TransactionEvent()
        return call_result.TransactionEvent(id_token_info={"status": "Accepted"})

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> Any:
        return call_result.MeterValues()
