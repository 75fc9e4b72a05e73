"""OCPP 2.0.1 words → the portal's words: statuses, id tokens, samples, events, variables.

The only module that knows both vocabularies for station → portal messages
(style.md §9; commands.py maps the portal's commands the other way):

* an EVSE is an outlet, numbered as the station numbers its EVSEs (evse 0 is the
  station itself); the connectors of one EVSE cannot charge at once, so they are
  the same outlet;
* an idToken (type + value) is an RFID tag by its value, whatever its type; the
  type NoAuthorization carries no tag;
* a transactionId (text) names a charging session (app/services/transactions.py);
* a device model variable is a key of the station's key table, named
  ``Component[instance]@evse.connector/Variable[instance]`` (:func:`variable_key`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from app.models import AlarmKind, OutletStatus
from app.services import charging, stations, transactions
from app.services.station_reports import Problem

# 2.0.1 spells these answers and times as 1.6 does: one table each.
from ocpp_server.v16.translate import (
    AUTHORIZATION,
    BOOT,
    DATA_TRANSFER,
    format_time,
    parse_time,
)

__all__ = ["BOOT", "DATA_TRANSFER", "format_time", "parse_time"]

log = logging.getLogger(__name__)

# ConnectorStatusEnumType (2.0.1 part 2 §3.23) → outlet status. "Occupied" is a
# cable plugged in; a transaction's charging state then says more.
STATUS = {
    "Available": OutletStatus.AVAILABLE,
    "Occupied": OutletStatus.PREPARING,
    "Reserved": OutletStatus.RESERVED,
    "Unavailable": OutletStatus.UNAVAILABLE,
    "Faulted": OutletStatus.FAULTED,
}

# ChargingStateEnumType → outlet status (a TransactionEvent's transactionInfo).
CHARGING_STATE = {
    "Charging": OutletStatus.CHARGING,
    "EVConnected": OutletStatus.PREPARING,
    "SuspendedEV": OutletStatus.SUSPENDED,
    "SuspendedEVSE": OutletStatus.SUSPENDED,
    "Idle": OutletStatus.AVAILABLE,
}

STAGE = {
    "Started": transactions.Stage.STARTED,
    "Updated": transactions.Stage.UPDATED,
    "Ended": transactions.Stage.ENDED,
}

#: an idToken of this type carries no tag (charging without authorisation)
NO_TAG = "NoAuthorization"
#: the type of the tokens the portal itself names (remote start, group tokens)
CENTRAL = "Central"

# Standardised components (2.0.1 part 2 appendix 3) whose problems have their own
# alarm kind; any other component's problem is a hardware failure.
COMPONENT_ALARMS = {
    "OverCurrentProtection": AlarmKind.OVER_CURRENT,
    "OverCurrentProtectionRecloser": AlarmKind.OVER_CURRENT,
    "RCD": AlarmKind.GROUND_FAILURE,
    "RCDRecloser": AlarmKind.GROUND_FAILURE,
    "GroundIsolationProtection": AlarmKind.GROUND_FAILURE,
    "ConnectorPlugRetentionLock": AlarmKind.CONNECTOR_LOCK_FAILURE,
    "EVRetentionLock": AlarmKind.CONNECTOR_LOCK_FAILURE,
    "PowerContactor": AlarmKind.POWER_SWITCH_FAILURE,
    "TokenReader": AlarmKind.READER_FAILURE,
    "FiscalMetering": AlarmKind.POWER_METER_FAILURE,
    "ControlMetering": AlarmKind.POWER_METER_FAILURE,
    "TemperatureSensor": AlarmKind.TEMPERATURE,
    "ExternalTemperatureSensor": AlarmKind.TEMPERATURE,
    "AirCoolingSystem": AlarmKind.TEMPERATURE,
    "LiquidCoolingSystem": AlarmKind.TEMPERATURE,
    "Controller": AlarmKind.INTERNAL_ERROR,
    "LocalController": AlarmKind.INTERNAL_ERROR,
}
#: variables whose report is a problem (or its end) whatever the monitor
PROBLEM_VARIABLES = {"Problem", "Tripped", "Overload"}

# Security events (2.0.1 part 2 appendix 1) that need a person: an alarm as well.
SECURITY_ALARMS = {
    "TamperDetectionActivated": AlarmKind.OTHER,
    "InvalidFirmwareSignature": AlarmKind.OTHER,
    "InvalidFirmwareSigningCertificate": AlarmKind.OTHER,
    "InvalidCsmsCertificate": AlarmKind.OTHER,
    "InvalidChargingStationCertificate": AlarmKind.OTHER,
    "InvalidTLSVersion": AlarmKind.OTHER,
    "InvalidTLSCipherSuite": AlarmKind.OTHER,
    "MemoryExhaustion": AlarmKind.INTERNAL_ERROR,
}


# ------------------------------------------------------------- tokens and places


def tag_of(id_token: dict[str, Any] | None) -> str | None:
    """The RFID tag an idToken carries (its value), or None."""
    if not id_token or id_token.get("type") == NO_TAG:
        return None
    return str(id_token.get("id_token") or "") or None


def token_type(tag: str) -> str:
    """The idToken type to send a tag as: a card's UID (4, 7 or 10 bytes in hex) is
    ISO14443, any other tag Local (the portal keeps the value, not the type)."""
    if len(tag) in (8, 14, 20) and re.fullmatch(r"[0-9A-Fa-f]+", tag):
        return "ISO14443"
    return "Local"


def id_token_info(authorization: charging.Authorization) -> dict[str, Any]:
    """Map a domain authorisation to an IdTokenInfoType."""
    info: dict[str, Any] = {"status": AUTHORIZATION[authorization.status]}
    if authorization.expires_at:
        info["cache_expiry_date_time"] = format_time(authorization.expires_at)
    if authorization.parent_tag:
        info["group_id_token"] = {"id_token": authorization.parent_tag, "type": CENTRAL}
    return info


def outlet_of(evse: dict[str, Any] | None) -> int | None:
    """The outlet number of an EVSEType (None when the message names no EVSE)."""
    if not evse:
        return None
    return int(evse["id"])


def status(payload: dict[str, Any]) -> tuple[OutletStatus, AlarmKind | None]:
    """Map a StatusNotification to an outlet status and the fault it reports, if any;
    2.0.1 names no fault here (NotifyEvent does): Faulted is a hardware failure."""
    outlet_status = STATUS.get(
        payload.get("connector_status", ""), OutletStatus.UNKNOWN
    )
    fault = (
        AlarmKind.HARDWARE_FAILURE if outlet_status is OutletStatus.FAULTED else None
    )
    return outlet_status, fault


# ------------------------------------------------------------------- meter values


def samples(meter_values: list[dict[str, Any]] | None) -> list[charging.MeterSample]:
    """Map MeterValueTypes to samples; a value with a multiplier is scaled to its unit."""
    result = []
    for meter_value in meter_values or []:
        sampled_at = parse_time(meter_value.get("timestamp"))
        if sampled_at is None:
            continue
        for sampled in meter_value.get("sampled_value") or []:
            unit = sampled.get("unit_of_measure") or {}
            try:
                value = float(sampled["value"]) * 10 ** int(unit.get("multiplier") or 0)
            except (KeyError, TypeError, ValueError):
                log.info("skipping unreadable sampled value %.100r", sampled)
                continue
            result.append(
                charging.MeterSample(
                    sampled_at=sampled_at,
                    value=value,
                    measurand=sampled.get("measurand") or charging.ENERGY_REGISTER,
                    unit=unit.get("unit") or "Wh",
                    phase=sampled.get("phase") or "",
                    context=sampled.get("context") or "",
                )
            )
    return result


def transaction_event(payload: dict[str, Any]) -> transactions.TransactionEvent:
    """Map a TransactionEventRequest to the domain's transaction event."""
    info = payload["transaction_info"]
    at = parse_time(payload["timestamp"])
    if at is None:
        raise ValueError("unreadable timestamp")
    state = info.get("charging_state")
    return transactions.TransactionEvent(
        stage=STAGE[payload["event_type"]],
        ref=str(info["transaction_id"]),
        seq_no=int(payload["seq_no"]),
        at=at,
        outlet_number=outlet_of(payload.get("evse")),
        tag_text=tag_of(payload.get("id_token")),
        samples=tuple(samples(payload.get("meter_value"))),
        offline=bool(payload.get("offline")),
        outlet_status=CHARGING_STATE.get(state) if state else None,
        stop_reason=str(info.get("stopped_reason") or ""),
        reservation_id=payload.get("reservation_id"),
    )


# ---------------------------------------------------------- device model variables

_KEY = re.compile(
    r"^(?P<component>[^\[@/]+)(?:\[(?P<component_instance>[^\]]*)\])?"
    r"(?:@(?P<evse>\d+)(?:\.(?P<connector>\d+))?)?"
    r"/(?P<variable>[^\[]+)(?:\[(?P<variable_instance>[^\]]*)\])?$"
)


def variable_key(component: dict[str, Any], variable: dict[str, Any]) -> str:
    """Name a component's variable as one key of the key table."""
    key = str(component["name"])
    if component.get("instance"):
        key += f"[{component['instance']}]"
    evse = component.get("evse")
    if evse:
        key += f"@{evse['id']}"
        if evse.get("connector_id") is not None:
            key += f".{evse['connector_id']}"
    key += f"/{variable['name']}"
    if variable.get("instance"):
        key += f"[{variable['instance']}]"
    return key


def parse_variable_key(key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ComponentType and VariableType a key names (ValueError if it names none)."""
    match = _KEY.match(key.strip())
    if match is None:
        raise ValueError(f"not a component/variable name: {key!r}")
    component: dict[str, Any] = {"name": match["component"]}
    if match["component_instance"]:
        component["instance"] = match["component_instance"]
    if match["evse"]:
        component["evse"] = {"id": int(match["evse"])}
        if match["connector"]:
            component["evse"]["connector_id"] = int(match["connector"])
    variable: dict[str, Any] = {"name": match["variable"]}
    if match["variable_instance"]:
        variable["instance"] = match["variable_instance"]
    return component, variable


def report_keys(report_data: list[dict[str, Any]] | None) -> list[stations.ConfigKey]:
    """The key table rows of a NotifyReport part: each variable's Actual value."""
    keys = []
    for item in report_data or []:
        attributes = item.get("variable_attribute") or []
        actual = next(
            (a for a in attributes if a.get("type", "Actual") == "Actual"), None
        )
        if actual is None:
            continue
        keys.append(
            stations.ConfigKey(
                variable_key(item["component"], item["variable"]),
                actual.get("value"),
                actual.get("mutability", "ReadWrite") == "ReadOnly",
            )
        )
    return keys


# ------------------------------------------------------------------------ events


def problems(event_data: list[dict[str, Any]]) -> tuple[list[Problem], list[str]]:
    """Split NotifyEvent data into problems (raised or cleared) and notices to log;
    periodic readings are neither."""
    found: list[Problem] = []
    notices: list[str] = []
    for item in event_data:
        component, variable = item["component"], item["variable"]
        name = variable_key(component, variable)
        value = str(item.get("actual_value", ""))
        text = f"{name} = {value}" + (
            f" ({item['tech_info']})" if item.get("tech_info") else ""
        )
        if variable["name"] in PROBLEM_VARIABLES or item.get("trigger") == "Alerting":
            kind = COMPONENT_ALARMS.get(component["name"])
            if kind is None and variable["name"] == "Temperature":
                kind = AlarmKind.TEMPERATURE
            cleared = bool(item.get("cleared")) or value.lower() == "false"
            found.append(
                Problem(
                    kind or AlarmKind.HARDWARE_FAILURE,
                    outlet_of(component.get("evse")) or stations.STATION_LEVEL,
                    cleared,
                    text[:300],
                )
            )
        elif item.get("trigger") != "Periodic":
            notices.append(text[:300])
    return found, notices
