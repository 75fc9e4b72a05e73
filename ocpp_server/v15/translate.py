"""OCPP 1.5 words <-> the portal's words, both directions, and nothing else.

chargeBoxIdentity is a station's chargebox id, connectorId an outlet number (0 the
station itself), idTag an RFID tag, transactionId a charging session id; status
and errorCode become OutletStatus and AlarmKind. Portal commands become
ChargePointService calls and their answers CommandResults.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from app.models import AlarmKind, OutletStatus
from app.services import commands as cmd
from app.services.charging import (
    ENERGY_REGISTER,
    Authorization,
    AuthorizationStatus,
    MeterSample,
    StartResult,
)
from app.services.commands import CommandResult, CommandStatus
from app.services.stations import BootInfo, BootResult, BootStatus, DataTransferStatus
from ocpp_server.v15 import central_system as cs

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- station -> portal

# OCPP 1.5 has one word for an outlet in use; 1.6 split it into Preparing,
# Charging, Suspended… and the portal's nearest word is "charging".
OUTLET_STATUS: Final[Mapping[str, OutletStatus]] = {
    "Available": OutletStatus.AVAILABLE,
    "Occupied": OutletStatus.CHARGING,
    "Faulted": OutletStatus.FAULTED,
    "Unavailable": OutletStatus.UNAVAILABLE,
    "Reserved": OutletStatus.RESERVED,
}

NO_ERROR: Final = "NoError"

# ChargePointErrorCode (OCPP 1.5 §7.7) -> the alarm it raises.
FAULTS: Final[Mapping[str, AlarmKind]] = {
    "ConnectorLockFailure": AlarmKind.CONNECTOR_LOCK_FAILURE,
    "HighTemperature": AlarmKind.TEMPERATURE,
    "Mode3Error": AlarmKind.HARDWARE_FAILURE,
    "PowerMeterFailure": AlarmKind.POWER_METER_FAILURE,
    "PowerSwitchFailure": AlarmKind.POWER_SWITCH_FAILURE,
    "ReaderFailure": AlarmKind.READER_FAILURE,
    "ResetFailure": AlarmKind.INTERNAL_ERROR,
    "GroundFailure": AlarmKind.GROUND_FAILURE,
    "OverCurrentFailure": AlarmKind.OVER_CURRENT,
    "UnderVoltage": AlarmKind.HARDWARE_FAILURE,
    "WeakSignal": AlarmKind.OTHER,
    "OtherError": AlarmKind.OTHER,
}

ID_TAG_STATUS: Final[Mapping[AuthorizationStatus, cs.AuthorizationStatus]] = {
    AuthorizationStatus.ACCEPTED: "Accepted",
    AuthorizationStatus.BLOCKED: "Blocked",
    AuthorizationStatus.EXPIRED: "Expired",
    AuthorizationStatus.INVALID: "Invalid",
}

# OCPP 1.5 has no Pending registration: a pending station is told Rejected and
# boots again after the interval.
REGISTRATION_STATUS: Final[Mapping[BootStatus, cs.RegistrationStatus]] = {
    BootStatus.ACCEPTED: "Accepted",
    BootStatus.PENDING: "Rejected",
    BootStatus.REJECTED: "Rejected",
}

# How long a refused station waits before its next BootNotification.
REFUSED_BOOT_INTERVAL: Final = 300

DATA_TRANSFER_STATUS: Final[Mapping[DataTransferStatus, cs.DataTransferStatus]] = {
    DataTransferStatus.ACCEPTED: "Accepted",
    DataTransferStatus.REJECTED: "Rejected",
    DataTransferStatus.UNKNOWN_VENDOR: "UnknownVendorId",
    DataTransferStatus.UNKNOWN_MESSAGE: "UnknownMessageId",
}

# Defaults of the attributes of MeterValue/value (the WSDL's comments).
DEFAULT_UNIT: Final = "Wh"
DEFAULT_MEASURAND: Final = ENERGY_REGISTER
DEFAULT_CONTEXT: Final = "Sample.Periodic"


def boot_info(req: cs.BootNotificationReq) -> BootInfo:
    """Say what a booting station tells about itself."""
    return BootInfo(
        vendor=req["chargePointVendor"],
        model=req["chargePointModel"],
        serial_number=req["chargePointSerialNumber"]
        or req["chargeBoxSerialNumber"]
        or "",
        firmware_version=req["firmwareVersion"] or "",
    )


def boot_conf(result: BootResult) -> cs.BootNotificationConf:
    """Answer a BootNotification with the portal's decision."""
    return {
        "status": REGISTRATION_STATUS[result.status],
        "currentTime": result.now,
        "heartbeatInterval": result.heartbeat_interval,
    }


def boot_refused(now: datetime) -> cs.BootNotificationConf:
    """Answer the BootNotification of a station that may not connect."""
    return {
        "status": "Rejected",
        "currentTime": now,
        "heartbeatInterval": REFUSED_BOOT_INTERVAL,
    }


def id_tag_info(authorization: Authorization) -> cs.IdTagInfo:
    """Say whether a tag may charge, in 1.5 words."""
    info: cs.IdTagInfo = {"status": ID_TAG_STATUS[authorization.status]}
    if authorization.expires_at is not None:
        info["expiryDate"] = authorization.expires_at
    if authorization.parent_tag:
        info["parentIdTag"] = authorization.parent_tag
    return info


@dataclass(frozen=True)
class StatusReport:
    outlet_number: int
    status: OutletStatus
    fault: AlarmKind | None
    error_code: str
    info: str
    timestamp: datetime | None


def status_report(req: cs.StatusNotificationReq) -> StatusReport:
    """Read a StatusNotification: the outlet, its status and the fault, if any."""
    error_code = "" if req["errorCode"] == NO_ERROR else req["errorCode"]
    fault = FAULTS.get(error_code)
    if fault is None and req["status"] == "Faulted":
        fault = AlarmKind.OTHER  # Faulted without an error code still is a fault
    info = req["info"] or ""
    if req["vendorErrorCode"]:
        vendor = f"{req['vendorId']} " if req["vendorId"] else ""
        info = f"{info} ({vendor}error {req['vendorErrorCode']})".strip()
    return StatusReport(
        outlet_number=req["connectorId"],
        status=OUTLET_STATUS[req["status"]],
        fault=fault,
        error_code=error_code,
        info=info,
        timestamp=req["timestamp"],
    )


def meter_samples(
    values: Sequence[cs.MeterValue], chargebox_id: str = ""
) -> list[MeterSample]:
    """Turn sampled values into meter samples; a value that is not a number is
    logged and skipped (e.g. format="SignedData")."""
    samples = []
    for meter_value in values:
        for sampled in meter_value["value"]:
            try:
                number = float(sampled["value"])
            except (TypeError, ValueError):
                log.warning(
                    "%s: meter value %r skipped, not a number",
                    chargebox_id,
                    sampled["value"],
                )
                continue
            samples.append(
                MeterSample(
                    sampled_at=meter_value["timestamp"],
                    value=number,
                    measurand=sampled["measurand"] or DEFAULT_MEASURAND,
                    unit=sampled["unit"] or DEFAULT_UNIT,
                    context=sampled["context"] or DEFAULT_CONTEXT,
                )
            )
    return samples


@dataclass(frozen=True)
class MeterReport:
    outlet_number: int
    session_id: int | None
    samples: list[MeterSample]


def meter_report(req: cs.MeterValuesReq, chargebox_id: str = "") -> MeterReport:
    """Read a MeterValues request."""
    return MeterReport(
        outlet_number=req["connectorId"],
        session_id=req["transactionId"],
        samples=meter_samples(req["values"], chargebox_id),
    )


@dataclass(frozen=True)
class SessionStart:
    outlet_number: int
    tag: str
    meter_start_wh: float
    started_at: datetime
    reservation_id: int | None


def session_start(req: cs.StartTransactionReq) -> SessionStart:
    """Read a StartTransaction request (meterStart is in Wh, OCPP 1.5 §6.13)."""
    return SessionStart(
        outlet_number=req["connectorId"],
        tag=req["idTag"],
        meter_start_wh=float(req["meterStart"]),
        started_at=req["timestamp"],
        reservation_id=req["reservationId"],
    )


def start_conf(result: StartResult) -> cs.StartTransactionConf:
    """Answer a StartTransaction: the session id is the transaction id."""
    return {
        "transactionId": result.session.id,
        "idTagInfo": id_tag_info(result.authorization),
    }


@dataclass(frozen=True)
class SessionStop:
    session_id: int
    meter_stop_wh: float
    ended_at: datetime
    tag: str | None
    samples: list[MeterSample]


def session_stop(req: cs.StopTransactionReq, chargebox_id: str = "") -> SessionStop:
    """Read a StopTransaction request with its transaction data."""
    return SessionStop(
        session_id=req["transactionId"],
        meter_stop_wh=float(req["meterStop"]),
        ended_at=req["timestamp"],
        tag=req["idTag"],
        samples=meter_samples(
            [value for data in req["transactionData"] for value in data["values"]],
            chargebox_id,
        ),
    )


def data_transfer_conf(status: DataTransferStatus) -> cs.DataTransferConf:
    """Answer a DataTransfer."""
    return {"status": DATA_TRANSFER_STATUS[status]}


# ---------------------------------------------------------------- portal -> station

NOT_SUPPORTED: Final = "not supported by OCPP 1.5"


class NotSupported(Exception):
    """The command has no OCPP 1.5 equivalent; str(error) says why."""


@dataclass(frozen=True)
class Call:
    """One ChargePointService operation and its request, in WSDL element names."""

    operation: str
    payload: dict[str, Any]


LOCAL_LIST_STATUS: Final[Mapping[str, str]] = {
    AuthorizationStatus.ACCEPTED: "Accepted",
    AuthorizationStatus.BLOCKED: "Blocked",
    AuthorizationStatus.EXPIRED: "Expired",
    AuthorizationStatus.INVALID: "Invalid",
}


def call_for(command: cmd.Command) -> Call:  # noqa: PLR0911, PLR0912 - one case per command
    """Say which operation carries a command and with what request.

    Raises:
        NotSupported: the command only exists in OCPP 1.6.
    """
    match command:
        case cmd.Reset(hard=hard):
            return Call("Reset", {"type": "Hard" if hard else "Soft"})
        case cmd.ChangeAvailability(outlet=outlet, operative=operative):
            kind = "Operative" if operative else "Inoperative"
            return Call("ChangeAvailability", {"connectorId": outlet, "type": kind})
        case cmd.ChangeConfiguration(key=key, value=value):
            return Call("ChangeConfiguration", {"key": key, "value": value})
        case cmd.GetConfiguration(keys=keys):
            return Call("GetConfiguration", {"key": list(keys)})
        case cmd.ClearCache():
            return Call("ClearCache", {})
        case cmd.UnlockOutlet(outlet=outlet):
            return Call("UnlockConnector", {"connectorId": outlet})
        case cmd.RemoteStart(charging_profile=profile) if profile is not None:
            raise NotSupported(f"charging profiles are {NOT_SUPPORTED}")
        case cmd.RemoteStart(tag=tag, outlet=outlet):
            return Call(
                "RemoteStartTransaction", _present(idTag=tag, connectorId=outlet)
            )
        case cmd.RemoteStop(session_id=session_id):
            return Call("RemoteStopTransaction", {"transactionId": session_id})
        case cmd.UpdateFirmware():
            return Call(
                "UpdateFirmware",
                _present(
                    retrieveDate=command.retrieve_at,
                    location=command.location,
                    retries=command.retries,
                    retryInterval=command.retry_interval,
                ),
            )
        case cmd.GetDiagnostics():
            return Call(
                "GetDiagnostics",
                _present(
                    location=command.location,
                    startTime=command.start,
                    stopTime=command.stop,
                    retries=command.retries,
                    retryInterval=command.retry_interval,
                ),
            )
        case cmd.SendLocalList():
            return Call(
                "SendLocalList",
                {
                    "updateType": "Full" if command.full else "Differential",
                    "listVersion": command.version,
                    "localAuthorisationList": [
                        _authorisation_data(entry) for entry in command.entries
                    ],
                },
            )
        case cmd.GetLocalListVersion():
            return Call("GetLocalListVersion", {})
        case cmd.ReserveNow():
            return Call(
                "ReserveNow",
                _present(
                    connectorId=command.outlet,
                    expiryDate=command.expires_at,
                    idTag=command.tag,
                    parentIdTag=command.parent_tag,
                    reservationId=command.reservation_id,
                ),
            )
        case cmd.CancelReservation(reservation_id=reservation_id):
            return Call("CancelReservation", {"reservationId": reservation_id})
        case cmd.DataTransfer():
            return Call(
                "DataTransfer",
                _present(
                    vendorId=command.vendor_id,
                    messageId=command.message_id,
                    data=command.data,
                ),
            )
    # TriggerMessage, SetChargingProfile, ClearChargingProfile, GetCompositeSchedule
    raise NotSupported(NOT_SUPPORTED)


def _present(**elements: Any) -> dict[str, Any]:
    """Leave out the optional elements that have no value."""
    return {name: value for name, value in elements.items() if value is not None}


def _authorisation_data(entry: cmd.LocalListEntry) -> dict[str, Any]:
    if entry.status is None:  # an entry without idTagInfo removes the tag
        return {"idTag": entry.tag}
    status = LOCAL_LIST_STATUS.get(entry.status)
    if status is None:
        raise NotSupported(f"tag status {entry.status!r} is {NOT_SUPPORTED}")
    return {
        "idTag": entry.tag,
        "idTagInfo": _present(
            status=status, expiryDate=entry.expires_at, parentIdTag=entry.parent_tag
        ),
    }


def command_result(operation: str, response: Mapping[str, Any]) -> CommandResult:
    """Turn a station's answer (WSDL element names) into a command result."""
    if operation == "GetConfiguration":
        return CommandResult(
            CommandStatus.ACCEPTED,
            data={
                "keys": [
                    {
                        "key": item["key"],
                        "value": item.get("value"),
                        "readonly": bool(item["readonly"]),
                    }
                    for item in response.get("configurationKey") or []
                ],
                "unknown_keys": list(response.get("unknownKey") or []),
            },
        )
    if operation == "GetDiagnostics":
        file_name = response.get("fileName") or ""
        return CommandResult(
            CommandStatus.ACCEPTED, file_name, {"file_name": file_name or None}
        )
    if operation == "GetLocalListVersion":
        version = int(response["listVersion"])
        return CommandResult(
            CommandStatus.ACCEPTED, f"version {version}", {"version": version}
        )
    if operation == "UpdateFirmware":  # the answer is empty: received is accepted
        return CommandResult(CommandStatus.ACCEPTED)
    result = _status_result(str(response.get("status") or ""))
    if operation == "DataTransfer" and response.get("data") is not None:
        return CommandResult(result.status, result.detail, {"data": response["data"]})
    return result


def _status_result(status: str) -> CommandResult:
    """Accepted is accepted; Scheduled (ChangeAvailability) is accepted for later;
    any other word (Rejected, Occupied, NotSupported…) is a refusal saying why."""
    if status == "Accepted":
        return CommandResult(CommandStatus.ACCEPTED)
    if status == "Scheduled":
        return CommandResult(CommandStatus.ACCEPTED, "scheduled")
    if status == "Rejected":
        return CommandResult(CommandStatus.REJECTED)
    return CommandResult(CommandStatus.REJECTED, status or "no status")
