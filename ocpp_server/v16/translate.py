"""OCPP 1.6 words ↔ the portal's words: statuses, faults, samples, commands, results.

The only module that knows both vocabularies (style.md §9): chargeBoxIdentity is a
chargebox id, connectorId an outlet number, idTag an RFID tag, transactionId a
charging session id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from typing import Any

from ocpp.v16 import call
from ocpp.v16.datatypes import IdTagInfo

from app.models import AlarmKind, OutletStatus
from app.services import charging, commands, stations
from app.services.commands import CommandResult, CommandStatus
from ocpp_server.websocket.calls import CallOutcome, CallStatus

log = logging.getLogger(__name__)

STATUS = {
    "Available": OutletStatus.AVAILABLE,
    "Preparing": OutletStatus.PREPARING,
    "Charging": OutletStatus.CHARGING,
    "SuspendedEVSE": OutletStatus.SUSPENDED,
    "SuspendedEV": OutletStatus.SUSPENDED,
    "Finishing": OutletStatus.FINISHING,
    "Reserved": OutletStatus.RESERVED,
    "Unavailable": OutletStatus.UNAVAILABLE,
    "Faulted": OutletStatus.FAULTED,
}

# ChargePointErrorCode (OCPP 1.6 §7.6) → alarm kind (spec §7).
FAULTS = {
    "ConnectorLockFailure": AlarmKind.CONNECTOR_LOCK_FAILURE,
    "GroundFailure": AlarmKind.GROUND_FAILURE,
    "HighTemperature": AlarmKind.TEMPERATURE,
    "InternalError": AlarmKind.INTERNAL_ERROR,
    "OverCurrentFailure": AlarmKind.OVER_CURRENT,
    "PowerMeterFailure": AlarmKind.POWER_METER_FAILURE,
    "PowerSwitchFailure": AlarmKind.POWER_SWITCH_FAILURE,
    "ReaderFailure": AlarmKind.READER_FAILURE,
    "ResetFailure": AlarmKind.HARDWARE_FAILURE,
    "OverVoltage": AlarmKind.HARDWARE_FAILURE,
    "UnderVoltage": AlarmKind.HARDWARE_FAILURE,
    "EVCommunicationError": AlarmKind.OTHER,
    "LocalListConflict": AlarmKind.OTHER,
    "WeakSignal": AlarmKind.OTHER,
    "OtherError": AlarmKind.OTHER,
}

AUTHORIZATION = {
    charging.AuthorizationStatus.ACCEPTED: "Accepted",
    charging.AuthorizationStatus.BLOCKED: "Blocked",
    charging.AuthorizationStatus.EXPIRED: "Expired",
    charging.AuthorizationStatus.INVALID: "Invalid",
}

BOOT = {
    stations.BootStatus.ACCEPTED: "Accepted",
    stations.BootStatus.PENDING: "Pending",
    stations.BootStatus.REJECTED: "Rejected",
}

DATA_TRANSFER = {
    stations.DataTransferStatus.ACCEPTED: "Accepted",
    stations.DataTransferStatus.REJECTED: "Rejected",
    stations.DataTransferStatus.UNKNOWN_VENDOR: "UnknownVendorId",
    stations.DataTransferStatus.UNKNOWN_MESSAGE: "UnknownMessageId",
}


def parse_time(text: str | None) -> datetime | None:
    """Read an OCPP dateTime (ISO 8601, "Z" allowed) as an aware UTC datetime."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(
            text.replace("Z", "+00:00").replace("z", "+00:00")
        )
    except ValueError:
        return None
    return (
        moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    )


def format_time(moment: datetime) -> str:
    """Write an aware datetime as OCPP likes it: UTC with a Z."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def status(payload: dict[str, Any]) -> tuple[OutletStatus, AlarmKind | None]:
    """Map a StatusNotification to an outlet status and the fault it reports, if any."""
    outlet_status = STATUS.get(payload.get("status", ""), OutletStatus.UNKNOWN)
    code = payload.get("error_code", "NoError")
    fault = FAULTS.get(code)
    if outlet_status is OutletStatus.FAULTED and fault is None:
        fault = AlarmKind.HARDWARE_FAILURE
    return outlet_status, fault


def id_tag_info(authorization: charging.Authorization) -> IdTagInfo:
    """Map a domain authorisation to OCPP's IdTagInfo."""
    return IdTagInfo(
        status=AUTHORIZATION[authorization.status],
        expiry_date=format_time(authorization.expires_at)
        if authorization.expires_at
        else None,
        parent_id_tag=authorization.parent_tag,
    )


def samples(meter_values: list[dict[str, Any]]) -> list[charging.MeterSample]:
    """Map MeterValues/transactionData to samples; unreadable values are skipped."""
    result = []
    for meter_value in meter_values or []:
        sampled_at = parse_time(meter_value.get("timestamp"))
        if sampled_at is None:
            continue
        for sampled in meter_value.get("sampled_value", []):
            if sampled.get("format") == "SignedData":
                continue
            try:
                value = float(sampled["value"])
            except (KeyError, TypeError, ValueError):
                log.info("skipping unreadable sampled value %.100r", sampled)
                continue
            result.append(
                charging.MeterSample(
                    sampled_at=sampled_at,
                    value=value,
                    measurand=sampled.get("measurand") or charging.ENERGY_REGISTER,
                    unit=sampled.get("unit") or "Wh",
                    phase=sampled.get("phase") or "",
                    context=sampled.get("context") or "",
                )
            )
    return result


def _iso(moment: datetime | None) -> str | None:
    return format_time(moment) if moment else None


def to_call(command: commands.Command) -> Any:  # noqa: PLR0911, PLR0912 (one case per command)
    """Map a domain command to the OCPP 1.6 call that carries it."""
    match command:
        case commands.Reset(hard=hard):
            return call.Reset(type="Hard" if hard else "Soft")
        case commands.ChangeAvailability(outlet=outlet, operative=operative):
            return call.ChangeAvailability(
                connector_id=outlet, type="Operative" if operative else "Inoperative"
            )
        case commands.ChangeConfiguration(key=key, value=value):
            return call.ChangeConfiguration(key=key, value=value)
        case commands.GetConfiguration(keys=keys):
            return call.GetConfiguration(key=list(keys) or None)
        case commands.ClearCache():
            return call.ClearCache()
        case commands.UnlockOutlet(outlet=outlet):
            return call.UnlockConnector(connector_id=outlet)
        case commands.RemoteStart(tag=tag, outlet=outlet, charging_profile=profile):
            return call.RemoteStartTransaction(
                id_tag=tag, connector_id=outlet, charging_profile=profile
            )
        case commands.RemoteStop(session_id=session_id):
            return call.RemoteStopTransaction(transaction_id=session_id)
        case commands.UpdateFirmware():
            return call.UpdateFirmware(
                location=command.location,
                retrieve_date=format_time(command.retrieve_at),
                retries=command.retries,
                retry_interval=command.retry_interval,
            )
        case commands.GetDiagnostics():
            return call.GetDiagnostics(
                location=command.location,
                start_time=_iso(command.start),
                stop_time=_iso(command.stop),
                retries=command.retries,
                retry_interval=command.retry_interval,
            )
        case commands.SendLocalList():
            return call.SendLocalList(
                list_version=command.version,
                update_type="Full" if command.full else "Differential",
                local_authorization_list=[
                    _list_entry(entry) for entry in command.entries
                ],
            )
        case commands.GetLocalListVersion():
            return call.GetLocalListVersion()
        case commands.ReserveNow():
            return call.ReserveNow(
                connector_id=command.outlet,
                expiry_date=format_time(command.expires_at),
                id_tag=command.tag,
                reservation_id=command.reservation_id,
                parent_id_tag=command.parent_tag,
            )
        case commands.CancelReservation(reservation_id=reservation_id):
            return call.CancelReservation(reservation_id=reservation_id)
        case commands.TriggerMessage(message=message, outlet=outlet):
            return call.TriggerMessage(requested_message=message, connector_id=outlet)
        case commands.SetChargingProfile(outlet=outlet, profile=profile):
            return call.SetChargingProfile(
                connector_id=outlet, cs_charging_profiles=profile
            )
        case commands.ClearChargingProfile():
            return call.ClearChargingProfile(
                id=command.profile_id,
                connector_id=command.outlet,
                charging_profile_purpose=command.purpose,
                stack_level=command.stack_level,
            )
        case commands.GetCompositeSchedule():
            return call.GetCompositeSchedule(
                connector_id=command.outlet,
                duration=command.duration,
                charging_rate_unit=command.rate_unit,
            )
        case commands.DataTransfer():
            return call.DataTransfer(
                vendor_id=command.vendor_id,
                message_id=command.message_id,
                data=command.data,
            )
    raise TypeError(f"no OCPP 1.6 call for {command!r}")


def _list_entry(entry: commands.LocalListEntry) -> dict[str, Any]:
    item: dict[str, Any] = {"id_tag": entry.tag}
    if entry.status is not None:
        info: dict[str, Any] = {"status": entry.status.capitalize()}
        if entry.expires_at:
            info["expiry_date"] = format_time(entry.expires_at)
        if entry.parent_tag:
            info["parent_id_tag"] = entry.parent_tag
        item["id_tag_info"] = info
    return item


# Response statuses that mean the station did what was asked.
_DONE = {"Accepted", "Unlocked", "Scheduled", "RebootRequired"}


def _status(_action: str, body: dict[str, Any]) -> Any:
    return body.get("status")


def command_result(
    outcome: CallOutcome,
    result_data: Callable[[str, dict[str, Any]], dict[str, Any]],
    *,
    answer: Callable[[str, dict[str, Any]], Any] = _status,
    done: Collection[str] = _DONE,
) -> CommandResult:
    """Map the outcome of a call of any OCPP-J version to the command result the
    portal shows: the version says what data its answer carries (``result_data``),
    which field is the answer (``answer``: the status) and which answers are done."""
    if outcome.status is CallStatus.OFFLINE:
        return CommandResult(CommandStatus.OFFLINE)
    if outcome.status is CallStatus.TIMEOUT:
        return CommandResult(CommandStatus.TIMED_OUT)
    if outcome.status is CallStatus.ERROR:
        detail = outcome.error_code or "error"
        if outcome.error_description:
            detail += f": {outcome.error_description}"
        return CommandResult(CommandStatus.ERROR, detail[:200])
    response = outcome.response
    body = (
        asdict(response)
        if is_dataclass(response) and not isinstance(response, type)
        else {}
    )
    data = result_data(outcome.action, body)
    status = answer(outcome.action, body)
    if status is None or status in done:
        detail = "" if status in (None, "Accepted") else str(status)
        return CommandResult(CommandStatus.ACCEPTED, detail, data)
    return CommandResult(CommandStatus.REJECTED, str(status), data)


def to_result(outcome: CallOutcome) -> CommandResult:
    """Map the outcome of a 1.6 call to the command result the portal shows."""
    return command_result(outcome, _result_data)


def _result_data(action: str, body: dict[str, Any]) -> dict[str, Any]:
    if action == "GetConfiguration":
        return {
            "keys": [
                {
                    "key": k.get("key", ""),
                    "value": k.get("value"),
                    "readonly": k.get("readonly"),
                }
                for k in body.get("configuration_key") or []
            ],
            "unknown_keys": list(body.get("unknown_key") or []),
        }
    if action == "GetDiagnostics":
        return {"file_name": body.get("file_name")}
    if action == "GetLocalListVersion":
        return {"version": body.get("list_version")}
    if action == "GetCompositeSchedule":
        return {
            "schedule": body.get("charging_schedule"),
            "start": body.get("schedule_start"),
        }
    if action == "DataTransfer":
        return {"data": body.get("data")}
    return {}
