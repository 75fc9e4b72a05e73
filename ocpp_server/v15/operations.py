"""The portal's CentralSystemService handler: each operation calls one service.

Every call first admits the station named by its chargeBoxIdentity header (the
1.5 counterpart of a 1.6 WebSocket connect: unknown identities raise the "not
registered" alarm in stations.admit_station) and stores its callback address;
then it translates the request, calls one service function and translates the
result back. The route (routes.py) commits or rolls back the unit of work.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import partial

from flask import Flask, current_app

from app.extensions import db
from app.models import Protocol, Station, utcnow
from app.services import charging, commands, stations
from app.services.errors import DomainError
from app.services.stations import Admission
from ocpp_server.v15 import central_system as cs
from ocpp_server.v15 import translate
from ocpp_server.v15.faults import FaultSubcode, OcppFaultError
from ocpp_server.v15.headers import CallContext

log = logging.getLogger(__name__)

# Seconds between the BootNotification answer and the first-contact
# GetConfiguration: the station gets to process its answer first.
FETCH_CONFIGURATION_DELAY = 1.0


class PortalCentralSystem:
    """Implements central_system.CentralSystemHandler on the domain services."""

    def authorize(self, ctx: CallContext, req: cs.AuthorizeReq) -> cs.AuthorizeConf:
        station = _admitted_station(ctx)
        authorization = charging.authorize(station, req["idTag"])
        return {"idTagInfo": translate.id_tag_info(authorization)}

    def boot_notification(
        self, ctx: CallContext, req: cs.BootNotificationReq
    ) -> cs.BootNotificationConf:
        station = _booting_station(ctx)
        if station is None:
            return translate.boot_refused(utcnow())
        result = stations.record_boot(station, translate.boot_info(req))
        if result.fetch_configuration and current_app.config.get(
            "OCPP_FETCH_CONFIG_ON_BOOT", True
        ):
            app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
            ctx.after_response.append(
                partial(fetch_configuration_later, app, station.chargebox_id)
            )
        return translate.boot_conf(result)

    def data_transfer(
        self, ctx: CallContext, req: cs.DataTransferReq
    ) -> cs.DataTransferConf:
        station = _admitted_station(ctx)
        status = stations.record_data_transfer(
            station, req["vendorId"], req["messageId"], req["data"]
        )
        return translate.data_transfer_conf(status)

    def diagnostics_status_notification(
        self, ctx: CallContext, req: cs.DiagnosticsStatusNotificationReq
    ) -> cs.EmptyConf:
        stations.record_diagnostics_status(_admitted_station(ctx), req["status"])
        return {}

    def firmware_status_notification(
        self, ctx: CallContext, req: cs.FirmwareStatusNotificationReq
    ) -> cs.EmptyConf:
        stations.record_firmware_status(_admitted_station(ctx), req["status"])
        return {}

    def heartbeat(self, ctx: CallContext, req: cs.HeartbeatReq) -> cs.HeartbeatConf:
        return {"currentTime": stations.record_heartbeat(_admitted_station(ctx))}

    def meter_values(self, ctx: CallContext, req: cs.MeterValuesReq) -> cs.EmptyConf:
        station = _admitted_station(ctx)
        report = translate.meter_report(req, ctx.charge_box_identity)
        charging.record_meter_values(
            station, report.outlet_number, report.samples, report.session_id
        )
        return {}

    def start_transaction(
        self, ctx: CallContext, req: cs.StartTransactionReq
    ) -> cs.StartTransactionConf:
        station = _admitted_station(ctx)
        start = translate.session_start(req)
        result = charging.start_session(
            station,
            start.outlet_number,
            start.tag,
            start.meter_start_wh,
            start.started_at,
            reservation_id=start.reservation_id,
        )
        return translate.start_conf(result)

    def status_notification(
        self, ctx: CallContext, req: cs.StatusNotificationReq
    ) -> cs.EmptyConf:
        station = _admitted_station(ctx)
        report = translate.status_report(req)
        stations.record_status(
            station,
            report.outlet_number,
            report.status,
            fault=report.fault,
            error_code=report.error_code,
            info=report.info,
            timestamp=report.timestamp,
        )
        return {}

    def stop_transaction(
        self, ctx: CallContext, req: cs.StopTransactionReq
    ) -> cs.StopTransactionConf:
        station = _admitted_station(ctx)
        stop = translate.session_stop(req, ctx.charge_box_identity)
        result = charging.stop_session(
            station,
            stop.session_id,
            stop.meter_stop_wh,
            stop.ended_at,
            tag_text=stop.tag,
            samples=stop.samples,
        )
        if result.authorization is None:
            return {}  # idTagInfo is optional in StopTransaction.conf (OCPP 1.5 §6.15)
        return {"idTagInfo": translate.id_tag_info(result.authorization)}

    def fault_for(self, exc: Exception) -> OcppFaultError | None:
        """Answer a domain error with a Sender fault carrying its message."""
        if isinstance(exc, DomainError):
            return OcppFaultError(str(exc))
        return None


def _admit(ctx: CallContext, *, booting: bool) -> tuple[Station | None, Admission]:
    """Admit the calling station and store where it listens; None if refused.

    A pending station may only boot (and is told Rejected: 1.5 has no Pending).
    """
    result = stations.admit_station(
        ctx.charge_box_identity,
        ctx.password,
        protocol=Protocol.OCPP15_SOAP,
        address=ctx.callback_address,
    )
    admitted = result.admission is Admission.ACCEPTED or (
        booting and result.admission is Admission.PENDING
    )
    if not admitted or result.station is None:
        log.info(
            "%s: %s refused (%s)",
            ctx.charge_box_identity,
            ctx.operation,
            result.admission.value,
        )
        return None, result.admission
    stations.mark_connected(result.station, endpoint=ctx.callback_address)
    return result.station, result.admission


def _admitted_station(ctx: CallContext) -> Station:
    """Return the accepted station making the call, or refuse with a fault."""
    station, admission = _admit(ctx, booting=False)
    if station is None:
        raise OcppFaultError(
            f"Charge box identity {ctx.charge_box_identity!r} is not accepted "
            f"({admission.value})",
            subcode=FaultSubcode.SECURITY_ERROR,
            keep_changes=True,  # the alarm and event of the refusal stay
        )
    return station


def _booting_station(ctx: CallContext) -> Station | None:
    """Return the booting station, accepted or pending; None if it may not connect."""
    station, _admission = _admit(ctx, booting=True)
    return station


def fetch_configuration_later(app: Flask, chargebox_id: str) -> None:
    """Fetch a first-contact station's key table in a thread (spec §9 first contact)."""
    thread = threading.Thread(
        target=_fetch_configuration,
        args=(app, chargebox_id),
        name=f"ocpp15-fetch-configuration-{chargebox_id}",
        daemon=True,
    )
    thread.start()


def _fetch_configuration(app: Flask, chargebox_id: str) -> None:
    time.sleep(FETCH_CONFIGURATION_DELAY)
    with app.app_context():
        try:
            station = stations.find_station(chargebox_id)
            if station is None:
                return
            result = commands.fetch_configuration(None, station)
            log.info("%s: first-contact GetConfiguration %s", chargebox_id, result)
        except Exception:
            db.session.rollback()
            log.exception("%s: first-contact GetConfiguration failed", chargebox_id)
