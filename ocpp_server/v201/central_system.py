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

import logging

from ocpp.v201 import ChargePoint, call
from ocpp.v201.enums import Action, RegistrationStatusEnumType

from ocpp_server.websocket import schemas
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

    #: the full report is asked for after an accepted boot only
    FIRST_CONTACT_AFTER = frozenset({RegistrationStatusEnumType.accepted.value})

    def first_contact_call(self) -> call.GetBaseReport:
        return call.GetBaseReport(request_id=1, report_base="FullInventory")
