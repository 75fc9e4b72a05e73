"""The portal's commands as OCPP 2.0.1 calls, and the station's answers as results.

The other half of the 2.0.1 vocabulary (translate.py maps station → portal):

* outlet n is EVSE n (0: the station); a connector is connector 1 of its EVSE;
* a configuration key is a device model variable (GetVariables / SetVariables);
  the whole table is the station's full report (GetBaseReport FullInventory),
  which comes back in NotifyReport messages;
* diagnostics are the station's diagnostics log (GetLog);
* the charging profiles of app/services/schedule (written as OCPP 1.6 shapes them)
  are rewritten as ChargingProfileType: ChargePointMaxProfile is
  ChargingStationMaxProfile, a schedule is a list of one with an id;
* tags go as idTokens of the type translate.token_type picks; a remote start's
  token is of type Central (the portal named it).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from ocpp.v201 import call

from app.services import commands
from app.services.commands import CommandResult
from ocpp_server.v16 import translate as v16_translate
from ocpp_server.websocket.calls import CallOutcome

from . import translate

# Ids the station echoes (requestId, remoteStartId): unique enough per process run.
_request_ids = itertools.count(int(time.time()) % 1_000_000 * 1000)

PURPOSE = {"ChargePointMaxProfile": "ChargingStationMaxProfile"}

TRIGGER = {"DiagnosticsStatusNotification": "LogStatusNotification"}

LIST_STATUS = {
    "accepted": "Accepted",
    "blocked": "Blocked",
    "expired": "Expired",
    "invalid": "Invalid",
}


def _request_id() -> int:
    return next(_request_ids) % 2_147_483_647


def _evse(outlet: int | None, connector: int | None = None) -> dict[str, Any] | None:
    if not outlet:
        return None
    evse: dict[str, Any] = {"id": outlet}
    if connector is not None:
        evse["connector_id"] = connector
    return evse


def _token(tag: str, kind: str | None = None) -> dict[str, Any]:
    return {"id_token": tag, "type": kind or translate.token_type(tag)}


def charging_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a profile of app/services/schedule as a 2.0.1 ChargingProfileType."""
    schedule = dict(profile["charging_schedule"])
    schedule["id"] = profile["charging_profile_id"]
    converted: dict[str, Any] = {
        "id": profile["charging_profile_id"],
        "stack_level": profile["stack_level"],
        "charging_profile_purpose": PURPOSE.get(
            profile["charging_profile_purpose"], profile["charging_profile_purpose"]
        ),
        "charging_profile_kind": profile["charging_profile_kind"],
        "charging_schedule": [schedule],
    }
    for name in ("recurrency_kind", "valid_from", "valid_to"):
        if profile.get(name) is not None:
            converted[name] = profile[name]
    if profile.get("transaction_id") is not None:
        converted["transaction_id"] = str(profile["transaction_id"])
    return converted


def _variable(key: str, value: str | None = None) -> dict[str, Any]:
    try:
        component, variable = translate.parse_variable_key(key)
    except ValueError as exc:  # no 2.0.1 call can carry it
        raise TypeError(str(exc)) from exc
    item: dict[str, Any] = {"component": component, "variable": variable}
    if value is not None:
        item["attribute_value"] = value
    return item


def _list_entry(entry: commands.LocalListEntry) -> dict[str, Any]:
    item: dict[str, Any] = {"id_token": _token(entry.tag)}
    if entry.status is not None:
        info: dict[str, Any] = {"status": LIST_STATUS.get(entry.status, "Invalid")}
        if entry.expires_at:
            info["cache_expiry_date_time"] = translate.format_time(entry.expires_at)
        if entry.parent_tag:
            info["group_id_token"] = _token(entry.parent_tag, translate.CENTRAL)
        item["id_token_info"] = info
    return item


def _iso(moment: Any) -> str | None:
    return translate.format_time(moment) if moment else None


def to_call(command: commands.Command) -> Any:  # noqa: PLR0911, PLR0912 (one case per command)
    """Map a domain command to the OCPP 2.0.1 call that carries it.

    Raises TypeError for a command 2.0.1 cannot carry (a key naming no variable)."""
    match command:
        case commands.Reset(hard=hard):
            return call.Reset(type="Immediate" if hard else "OnIdle")
        case commands.ChangeAvailability(outlet=outlet, operative=operative):
            return call.ChangeAvailability(
                operational_status="Operative" if operative else "Inoperative",
                evse=_evse(outlet),
            )
        case commands.ChangeConfiguration(key=key, value=value):
            return call.SetVariables(set_variable_data=[_variable(key, value)])
        case commands.GetConfiguration(keys=keys) if keys:
            return call.GetVariables(get_variable_data=[_variable(k) for k in keys])
        case commands.GetConfiguration():
            return call.GetBaseReport(
                request_id=_request_id(), report_base="FullInventory"
            )
        case commands.ClearCache():
            return call.ClearCache()
        case commands.UnlockOutlet(outlet=outlet):
            return call.UnlockConnector(evse_id=outlet, connector_id=1)
        case commands.RemoteStart(tag=tag, outlet=outlet, charging_profile=profile):
            return call.RequestStartTransaction(
                id_token=_token(tag, translate.CENTRAL),
                remote_start_id=_request_id(),
                evse_id=outlet,
                charging_profile=charging_profile(profile) if profile else None,
            )
        case commands.RemoteStop(transaction_ref=ref) if ref:
            return call.RequestStopTransaction(transaction_id=ref)
        case commands.UpdateFirmware():
            return call.UpdateFirmware(
                request_id=_request_id(),
                firmware={
                    "location": command.location,
                    "retrieve_date_time": translate.format_time(command.retrieve_at),
                },
                retries=command.retries,
                retry_interval=command.retry_interval,
            )
        case commands.GetDiagnostics():
            log: dict[str, Any] = {"remote_location": command.location}
            if command.start:
                log["oldest_timestamp"] = _iso(command.start)
            if command.stop:
                log["latest_timestamp"] = _iso(command.stop)
            return call.GetLog(
                log=log,
                log_type="DiagnosticsLog",
                request_id=_request_id(),
                retries=command.retries,
                retry_interval=command.retry_interval,
            )
        case commands.SendLocalList():
            entries = [_list_entry(entry) for entry in command.entries]
            return call.SendLocalList(
                version_number=command.version,
                update_type="Full" if command.full else "Differential",
                local_authorization_list=entries or None,
            )
        case commands.GetLocalListVersion():
            return call.GetLocalListVersion()
        case commands.ReserveNow():
            return call.ReserveNow(
                id=command.reservation_id,
                expiry_date_time=translate.format_time(command.expires_at),
                id_token=_token(command.tag),
                evse_id=command.outlet or None,
                group_id_token=_token(command.parent_tag, translate.CENTRAL)
                if command.parent_tag
                else None,
            )
        case commands.CancelReservation(reservation_id=reservation_id):
            return call.CancelReservation(reservation_id=reservation_id)
        case commands.TriggerMessage(message=message, outlet=outlet):
            connector = 1 if message == "StatusNotification" else None
            return call.TriggerMessage(
                requested_message=TRIGGER.get(message, message),
                evse=_evse(outlet, connector),
            )
        case commands.SetChargingProfile(outlet=outlet, profile=profile):
            return call.SetChargingProfile(
                evse_id=outlet, charging_profile=charging_profile(profile)
            )
        case commands.ClearChargingProfile():
            criteria = {
                "evse_id": command.outlet,
                "charging_profile_purpose": PURPOSE.get(
                    command.purpose or "", command.purpose
                ),
                "stack_level": command.stack_level,
            }
            criteria = {k: v for k, v in criteria.items() if v is not None}
            return call.ClearChargingProfile(
                charging_profile_id=command.profile_id,
                charging_profile_criteria=criteria or None,
            )
        case commands.GetCompositeSchedule():
            return call.GetCompositeSchedule(
                duration=command.duration,
                evse_id=command.outlet,
                charging_rate_unit=command.rate_unit,
            )
        case commands.DataTransfer():
            return call.DataTransfer(
                vendor_id=command.vendor_id,
                message_id=command.message_id,
                data=command.data,
            )
    raise TypeError(f"no OCPP 2.0.1 call for {command!r}")


# Response statuses that mean the station did what was asked (or will).
_DONE = {"Accepted", "Unlocked", "Scheduled", "RebootRequired", "AcceptedCanceled"}


def _answer(action: str, body: dict[str, Any]) -> Any:
    """The status a response gives: SetVariables answers one per variable."""
    if action == "SetVariables":
        results = body.get("set_variable_result") or [{}]
        return results[0].get("attribute_status")
    return body.get("status")


def to_result(outcome: CallOutcome) -> CommandResult:
    """Map the outcome of a 2.0.1 call to the command result the portal shows."""
    return v16_translate.command_result(
        outcome, _result_data, answer=_answer, done=_DONE
    )


def _result_data(action: str, body: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911
    if action == "GetVariables":
        results = body.get("get_variable_result") or []
        return {
            "keys": [
                {
                    "key": translate.variable_key(r["component"], r["variable"]),
                    "value": r.get("attribute_value"),
                    "readonly": False,
                }
                for r in results
                if r.get("attribute_status") == "Accepted"
            ],
            "unknown_keys": [
                translate.variable_key(r["component"], r["variable"])
                for r in results
                if r.get("attribute_status") != "Accepted"
            ],
        }
    if action == "GetLog":
        return {"file_name": body.get("filename")}
    if action == "GetLocalListVersion":
        return {"version": body.get("version_number")}
    if action == "GetCompositeSchedule":
        schedule = body.get("schedule") or {}
        if not schedule:
            return {"schedule": None, "start": None}
        return {
            "schedule": {
                "duration": schedule.get("duration"),
                "charging_rate_unit": schedule.get("charging_rate_unit"),
                "charging_schedule_period": schedule.get("charging_schedule_period"),
            },
            "start": schedule.get("schedule_start"),
        }
    if action == "DataTransfer":
        return {"data": body.get("data")}
    if action == "RequestStartTransaction" and body.get("transaction_id"):
        return {"transaction": body["transaction_id"]}
    return {}
