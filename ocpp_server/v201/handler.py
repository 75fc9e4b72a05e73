"""The portal's station handler for OCPP 2.0.1: each message → one service call → commit.

The units of work, batches and the coalesced heartbeat are those of the 1.6
handler (ocpp_server/v16/handler.py, whose class this one extends): only the
messages differ. Each method gets
the request payload with snake_case keys and returns the ``ocpp.v201.call_result``
to send back; translate.py maps the words.
"""

from __future__ import annotations

import json
import logging

from ocpp.exceptions import FormatViolationError
from ocpp.v201 import call_result

from app.models import Station, utcnow
from app.services import charging, station_reports, stations, transactions
from ocpp_server.v16.handler import PortalStationHandler
from ocpp_server.websocket.calls import CallContext, Payload

from . import calls, translate

log = logging.getLogger(__name__)


class PortalStationHandler201(PortalStationHandler):
    """Station → portal messages of OCPP 2.0.1, with app.services."""

    def boot_notification(  # type: ignore[override]
        self, ctx: CallContext, payload: Payload
    ) -> call_result.BootNotification:
        station = payload["charging_station"]
        info = stations.BootInfo(
            vendor=station["vendor_name"],
            model=station["model"],
            serial_number=station.get("serial_number") or "",
            firmware_version=station.get("firmware_version") or "",
        )
        result = self._run(ctx, lambda row: stations.record_boot(row, info))
        return call_result.BootNotification(
            current_time=translate.format_time(result.now),
            interval=result.heartbeat_interval,
            status=translate.BOOT[result.status],
        )

    def heartbeat(self, ctx: CallContext, payload: Payload) -> call_result.Heartbeat:  # type: ignore[override]
        if stations.seen_recently(self._seen.get(ctx.chargebox_id)):
            now = utcnow()  # coalesced: last seen was written moments ago
        else:
            now = self._run(ctx, stations.record_heartbeat)
        return call_result.Heartbeat(current_time=translate.format_time(now))

    def status_notification(  # type: ignore[override]
        self, ctx: CallContext, payload: Payload
    ) -> call_result.StatusNotification:
        outlet_status, fault = translate.status(payload)
        self._run(
            ctx,
            lambda station: stations.record_status(
                station,
                payload["evse_id"],
                outlet_status,
                fault=fault,
                timestamp=translate.parse_time(payload.get("timestamp")),
            ),
        )
        return call_result.StatusNotification()

    def authorize(self, ctx: CallContext, payload: Payload) -> call_result.Authorize:  # type: ignore[override]
        tag = translate.tag_of(payload["id_token"])
        result = self._run(ctx, lambda station: charging.authorize(station, tag))
        return call_result.Authorize(id_token_info=translate.id_token_info(result))

    def transaction_event(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.TransactionEvent:
        try:
            event = translate.transaction_event(payload)
        except (KeyError, ValueError) as exc:
            raise FormatViolationError(description=str(exc)[:100]) from exc
        result = self._run(
            ctx,
            lambda station: transactions.record_transaction_event(station, event),
        )
        if result.authorization is None:
            return call_result.TransactionEvent()
        return call_result.TransactionEvent(
            id_token_info=translate.id_token_info(result.authorization)
        )

    def meter_values(  # type: ignore[override]
        self, ctx: CallContext, payload: Payload
    ) -> call_result.MeterValues:
        samples = translate.samples(payload.get("meter_value"))
        self._run(
            ctx,
            lambda station: charging.record_meter_values(
                station, payload["evse_id"], samples
            ),
        )
        return call_result.MeterValues()

    def notify_report(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.NotifyReport:
        keys = translate.report_keys(payload.get("report_data"))
        generated_at = translate.parse_time(payload["generated_at"]) or utcnow()
        self._run(
            ctx,
            lambda station: station_reports.store_report_part(
                station,
                keys,
                generated_at=generated_at,
                last=not payload.get("tbc", False),
            ),
        )
        return call_result.NotifyReport()

    def notify_event(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.NotifyEvent:
        problems, notices = translate.problems(payload["event_data"])

        def record(station: Station) -> None:
            station_reports.record_problems(station, problems)
            for notice in notices:
                station_reports.record_notice(station, notice, {})

        self._run(ctx, record)
        return call_result.NotifyEvent()

    def security_event_notification(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.SecurityEventNotification:
        kind = str(payload["type"])
        self._run(
            ctx,
            lambda station: station_reports.record_security_event(
                station,
                kind,
                translate.parse_time(payload.get("timestamp")),
                payload.get("tech_info") or "",
                alarm=translate.SECURITY_ALARMS.get(kind),
            ),
        )
        return call_result.SecurityEventNotification()

    def firmware_status_notification(  # type: ignore[override]
        self, ctx: CallContext, payload: Payload
    ) -> call_result.FirmwareStatusNotification:
        self._run(
            ctx,
            lambda station: stations.record_firmware_status(station, payload["status"]),
        )
        return call_result.FirmwareStatusNotification()

    def log_status_notification(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.LogStatusNotification:
        self._run(
            ctx,
            lambda station: stations.record_diagnostics_status(
                station, payload["status"]
            ),
        )
        return call_result.LogStatusNotification()

    def data_transfer(  # type: ignore[override]
        self, ctx: CallContext, payload: Payload
    ) -> call_result.DataTransfer:
        data = payload.get("data")
        text = data if isinstance(data, str) or data is None else json.dumps(data)
        status = self._run(
            ctx,
            lambda station: stations.record_data_transfer(
                station, payload["vendor_id"], payload.get("message_id"), text
            ),
        )
        return call_result.DataTransfer(status=translate.DATA_TRANSFER[status])

    # Lifecycle ----------------------------------------------------------------

    def configuration_received(self, ctx: CallContext, payload: Payload) -> None:
        """The answer to the first-contact GetBaseReport: the table itself comes in
        NotifyReport messages; only a refusal is worth a line in the log."""
        result = calls.to_result(payload["outcome"])
        if not result.ok:
            log.warning(
                "%s: base report not fetched: %s", ctx.chargebox_id, result.status
            )
