"""OCPP 1.5 words <-> the portal's words, as tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.models import AlarmKind, OutletStatus
from app.services import commands as cmd
from app.services.commands import CommandResult, CommandStatus
from ocpp_server.v15 import messages, translate
from ocpp_server.v15.central_system import StatusNotificationReq

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def status_req(status: str, error_code: str, **extra: Any) -> StatusNotificationReq:
    req: dict[str, Any] = {
        "connectorId": 1,
        "status": status,
        "errorCode": error_code,
        "info": None,
        "timestamp": None,
        "vendorId": None,
        "vendorErrorCode": None,
    }
    req.update(extra)
    return req  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Available", OutletStatus.AVAILABLE),
        ("Occupied", OutletStatus.CHARGING),
        ("Faulted", OutletStatus.FAULTED),
        ("Unavailable", OutletStatus.UNAVAILABLE),
        ("Reserved", OutletStatus.RESERVED),
    ],
)
def test_outlet_status(status: str, expected: OutletStatus) -> None:
    assert translate.status_report(status_req(status, "NoError")).status is expected


@pytest.mark.parametrize(
    ("status", "error_code", "fault", "kept_code"),
    [
        ("Available", "NoError", None, ""),
        ("Faulted", "GroundFailure", AlarmKind.GROUND_FAILURE, "GroundFailure"),
        ("Faulted", "OverCurrentFailure", AlarmKind.OVER_CURRENT, "OverCurrentFailure"),
        ("Faulted", "HighTemperature", AlarmKind.TEMPERATURE, "HighTemperature"),
        ("Faulted", "ReaderFailure", AlarmKind.READER_FAILURE, "ReaderFailure"),
        ("Available", "WeakSignal", AlarmKind.OTHER, "WeakSignal"),
        ("Faulted", "NoError", AlarmKind.OTHER, ""),
    ],
)
def test_error_code_to_alarm(
    status: str, error_code: str, fault: AlarmKind | None, kept_code: str
) -> None:
    report = translate.status_report(status_req(status, error_code))

    assert (report.fault, report.error_code) == (fault, kept_code)


def test_every_error_code_of_the_wsdl_is_mapped() -> None:
    codes = set(messages.ChargePointErrorCode.Attributes.values) - {"NoError"}
    assert codes == set(translate.FAULTS)


def test_vendor_error_goes_into_the_info() -> None:
    report = translate.status_report(
        status_req(
            "Faulted",
            "OtherError",
            info="lid open",
            vendorId="ACME",
            vendorErrorCode="E7",
        )
    )

    assert report.info == "lid open (ACME error E7)"


def test_meter_samples_use_the_wsdl_defaults_and_skip_non_numbers() -> None:
    values = [
        {
            "timestamp": T0,
            "value": [
                {"value": "12.5", "unit": None, "measurand": None, "context": None},
                {"value": "n/a", "unit": "W", "measurand": "Power.Active.Import"},
                {
                    "value": "230",
                    "unit": "Volt",
                    "measurand": "Voltage",
                    "context": "Sample.Clock",
                },
            ],
        }
    ]

    samples = translate.meter_samples(values)  # type: ignore[arg-type]

    assert [(s.value, s.unit, s.measurand, s.context) for s in samples] == [
        (12.5, "Wh", "Energy.Active.Import.Register", "Sample.Periodic"),
        (230.0, "Volt", "Voltage", "Sample.Clock"),
    ]
    assert samples[0].kwh == 0.0125 and samples[1].kwh is None


@pytest.mark.parametrize(
    ("operation", "response", "expected"),
    [
        ("Reset", {"status": "Accepted"}, CommandResult(CommandStatus.ACCEPTED)),
        ("Reset", {"status": "Rejected"}, CommandResult(CommandStatus.REJECTED)),
        (
            "ChangeAvailability",
            {"status": "Scheduled"},
            CommandResult(CommandStatus.ACCEPTED, "scheduled"),
        ),
        (
            "SendLocalList",
            {"status": "VersionMismatch", "hash": None},
            CommandResult(CommandStatus.REJECTED, "VersionMismatch"),
        ),
        ("UpdateFirmware", {}, CommandResult(CommandStatus.ACCEPTED)),
        (
            "GetDiagnostics",
            {"fileName": None},
            CommandResult(CommandStatus.ACCEPTED, "", {"file_name": None}),
        ),
        (
            "GetConfiguration",
            {"configurationKey": [], "unknownKey": []},
            CommandResult(
                CommandStatus.ACCEPTED, data={"keys": [], "unknown_keys": []}
            ),
        ),
    ],
)
def test_command_results(
    operation: str, response: dict[str, Any], expected: CommandResult
) -> None:
    assert translate.command_result(operation, response) == expected


def test_a_local_list_entry_without_status_removes_the_tag() -> None:
    call = translate.call_for(
        cmd.SendLocalList(version=2, full=False, entries=(cmd.LocalListEntry("7"),))
    )

    assert call == translate.Call(
        "SendLocalList",
        {
            "updateType": "Differential",
            "listVersion": 2,
            "localAuthorisationList": [{"idTag": "7"}],
        },
    )


@pytest.mark.parametrize(
    "command",
    [
        cmd.TriggerMessage("Heartbeat"),
        cmd.SetChargingProfile(1, {}),
        cmd.ClearChargingProfile(),
        cmd.GetCompositeSchedule(1, 60),
        cmd.RemoteStart("1", 1, charging_profile={}),
        cmd.SendLocalList(1, True, (cmd.LocalListEntry("1", "concurrent"),)),
    ],
    ids=lambda command: type(command).__name__,
)
def test_what_15_cannot_say(command: cmd.Command) -> None:
    with pytest.raises(translate.NotSupported, match=r"not supported by OCPP 1\.5"):
        translate.call_for(command)
