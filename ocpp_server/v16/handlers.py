"""The pluggable *synchronous* station handler.

:class:`~.central_system.CentralSystem` receives every station->central system
CALL on the event loop and delegates it to an object implementing
:class:`StationHandler`.  Handler methods run in a handler thread
(:class:`~ocpp_server.websocket.loop.BatchExecutor`), so they may block (database, Flask app
context, domain services).  The calls that queued up while a handler thread was
busy reach it together, through ``run_batch``, which may run them as one unit
of work.  They return
the ``ocpp.v16.call_result`` dataclass to send back, or raise an
``ocpp.exceptions.OCPPError`` subclass to answer with that CALLERROR (any other
exception becomes ``InternalError``).

Handlers must NOT make a synchronous ``registry.call()`` and then wait for a
station to answer something that the station only sends after it got the
reply to the CALL being handled.  Calling the *same* station is fine (its
responses are routed independently of CALL handling).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ocpp.v16 import call_result

from ocpp_server.websocket.calls import CallContext, Payload, StationCall
from ocpp_server.websocket.loop import Outcome

__all__ = ["CallContext", "Payload", "StationCall", "StationHandler"]


class StationHandler(Protocol):
    """Synchronous business logic for station-initiated messages.

    ``payload`` is the request payload with snake_case keys, as produced by
    the ``ocpp`` library (``chargePointVendor`` -> ``charge_point_vendor``).
    """

    def run_batch(self, calls: Sequence[StationCall]) -> list[Outcome]:
        """Run the calls (to the methods below, of different stations) in order;
        one (result, None) or (None, exception) per call. Must not raise."""
        ...

    def boot_notification(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.BootNotification: ...
    def heartbeat(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.Heartbeat: ...
    def status_notification(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.StatusNotification: ...
    def authorize(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.Authorize: ...
    def start_transaction(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.StartTransaction: ...
    def meter_values(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.MeterValues: ...
    def stop_transaction(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.StopTransaction: ...
    def data_transfer(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.DataTransfer: ...
    def diagnostics_status_notification(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.DiagnosticsStatusNotification: ...
    def firmware_status_notification(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.FirmwareStatusNotification: ...

    # Lifecycle -----------------------------------------------------------
    def station_connected(self, ctx: CallContext, payload: Payload) -> None: ...
    def station_disconnected(self, ctx: CallContext, payload: Payload) -> None: ...
    def configuration_received(self, ctx: CallContext, payload: Payload) -> None:
        """Store what the first-contact fetch returned (``payload["outcome"]``),
        run like a station message; raising InternalError: try again later."""
        ...
