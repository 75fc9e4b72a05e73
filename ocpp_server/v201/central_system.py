"""OCPP 2.0.1 central-system side of one station connection.

``CentralSystem201`` is the shared OCPP-J charge point
(:class:`~ocpp_server.websocket.central_system.CentralSystemBase`: frame routing,
frame errors, the CALL worker, outgoing calls) on ``ocpp.v201.ChargePoint`` (the
2.0.1 schemas, compiled at start-up by :mod:`ocpp_server.websocket.schemas`). The
library speaks 2.0.1's error codes already, so none is respelled. What is 2.0.1's
own: the action -> handler table, and the full report (GetBaseReport) asked for
after an accepted BootNotification, as 1.6 fetches its configuration.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action, RegistrationStatusEnumType

from ocpp_server.websocket import schemas
from ocpp_server.websocket.calls import Transport
from ocpp_server.websocket.central_system import CentralSystemBase

from .handler import PortalStationHandler201

log = logging.getLogger(__name__)

schemas.install("2.0.1", Action)  # every schema compiled now, not on first use

SUBPROTOCOL = "ocpp2.0.1"


class CentralSystem201(CentralSystemBase, ChargePoint):  # type: ignore[misc]
    """Central-system endpoint for one connected OCPP 2.0.1 station."""

    #: OCPP 2.0.1 action -> the station handler method answering it
    HANDLERS = {
        Action.heartbeat: "heartbeat",
        Action.status_notification: "status_notification",
        Action.authorize: "authorize",
        Action.transaction_event: "transaction_event",
        Action.meter_values: "meter_values",
        Action.notify_report: "notify_report",
        Action.notify_event: "notify_event",
        Action.security_event_notification: "security_event_notification",
        Action.firmware_status_notification: "firmware_status_notification",
        Action.log_status_notification: "log_status_notification",
        Action.data_transfer: "data_transfer",
    }

    handler: PortalStationHandler201

    def __init__(
        self,
        chargebox_id: str,
        connection: Transport,
        handler: PortalStationHandler201,
        *,
        response_timeout: float = 300.0,
        report_on_boot: bool = True,
        report_timeout: float = 30.0,
    ) -> None:
        super().__init__(
            chargebox_id, connection, handler, response_timeout=response_timeout
        )
        self.boot_status: RegistrationStatusEnumType | None = None
        self._report_on_boot = report_on_boot
        self._report_timeout = report_timeout
        self._report_requested = False

    @on(Action.boot_notification)
    async def on_boot_notification(
        self, call_unique_id: str, **payload: Any
    ) -> call_result.BootNotification:
        result: call_result.BootNotification = await self.delegate(
            Action.boot_notification, "boot_notification", call_unique_id, payload
        )
        self.boot_status = RegistrationStatusEnumType(result.status)
        return result

    @after(Action.boot_notification)
    def after_boot_notification(self, **payload: Any) -> None:
        # After the BootNotification CALLRESULT was sent: the report never delays it.
        if (
            self._report_on_boot
            and not self._report_requested
            and self.boot_status == RegistrationStatusEnumType.accepted
        ):
            self._report_requested = True
            self.spawn(self._fetch_report())

    async def _fetch_report(self) -> None:
        outcome = await self.call_outcome(
            call.GetBaseReport(request_id=1, report_base="FullInventory"),
            self._report_timeout,
        )
        try:
            await asyncio.to_thread(
                self.handler.configuration_received, self.id, outcome
            )
        except Exception:
            log.exception("%s: configuration_received handler failed", self.id)
