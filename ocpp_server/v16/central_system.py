"""OCPP 1.6 central-system side of one station connection.

``CentralSystem`` is the shared OCPP-J charge point
(:class:`~ocpp_server.websocket.central_system.CentralSystemBase`: frame routing,
the CALL worker, outgoing calls) on ``ocpp.v16.ChargePoint`` (the 1.6 schemas, here
compiled at start-up: :mod:`ocpp_server.websocket.schemas`). What is 1.6's own:

* OCPP 1.6 spells two error codes differently from 2.0.1; the library emits
  the 2.0.1 spelling ``FormatViolation``.  Outgoing codes are normalised to
  the 1.6 enum (``FormationViolation``, ``OccurenceConstraintViolation``).
* Every station->central-system message of OCPP 1.6 core/firmware goes to the
  synchronous :class:`~.handlers.StationHandler` method that ``HANDLERS`` names;
  after a BootNotification the portal did not reject, the station's configuration
  is fetched (the first-contact call of CentralSystemBase).
"""

from __future__ import annotations

import logging

from ocpp.exceptions import (
    FormationViolationError,
    FormatViolationError,
    OccurenceConstraintViolationError,
    OccurrenceConstraintViolationError,
    OCPPError,
)
from ocpp.v16 import ChargePoint, call
from ocpp.v16.enums import Action, RegistrationStatus

from ocpp_server.websocket import schemas
from ocpp_server.websocket.central_system import CentralSystemBase, compact_error

from .handlers import StationHandler

log = logging.getLogger(__name__)

schemas.install("1.6", Action)  # every schema compiled now, not on first use

SUBPROTOCOL = "ocpp1.6"

#: 2.0.1 spelling emitted by the library -> OCPP 1.6 spelling
_V16_ERROR_CLASSES: dict[type[OCPPError], type[OCPPError]] = {
    FormatViolationError: FormationViolationError,
    OccurrenceConstraintViolationError: OccurenceConstraintViolationError,
}


def to_v16_error(error: OCPPError) -> OCPPError:
    """Return ``error`` with a 1.6 error code and compact details."""
    return compact_error(error, _V16_ERROR_CLASSES)


class CentralSystem(CentralSystemBase, ChargePoint):  # type: ignore[misc]
    """Central-system endpoint for one connected OCPP 1.6 station."""

    ERROR_SPELLINGS = _V16_ERROR_CLASSES
    #: OCPP 1.6 action -> the StationHandler method answering it
    HANDLERS = {
        Action.heartbeat: "heartbeat",
        Action.status_notification: "status_notification",
        Action.authorize: "authorize",
        Action.start_transaction: "start_transaction",
        Action.meter_values: "meter_values",
        Action.stop_transaction: "stop_transaction",
        Action.data_transfer: "data_transfer",
        Action.diagnostics_status_notification: "diagnostics_status_notification",
        Action.firmware_status_notification: "firmware_status_notification",
    }

    handler: StationHandler

    #: the configuration is fetched after any boot the portal did not reject
    FIRST_CONTACT_AFTER = frozenset(
        {RegistrationStatus.accepted.value, RegistrationStatus.pending.value}
    )

    def first_contact_call(self) -> call.GetConfiguration:
        return call.GetConfiguration()
