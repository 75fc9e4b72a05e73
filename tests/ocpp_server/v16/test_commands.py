"""Every portal → station operation of OCPP 1.6 through services.commands (issue 10 §4)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from ocpp.v16 import call, call_result
from sqlalchemy import select

from app.extensions import db
from app.models import EventKind, EventLogEntry, Role
from app.services import commands
from app.services.commands import CommandStatus

SOON = datetime(2030, 1, 1, tzinfo=UTC)

# (command, the action the station receives, a field it must see)
OPERATIONS = [
    (commands.Reset(hard=True), "Reset", {"type": "Hard"}),
    (
        commands.ChangeAvailability(outlet=1, operative=False),
        "ChangeAvailability",
        {"connector_id": 1, "type": "Inoperative"},
    ),
    (
        commands.ChangeConfiguration("HeartbeatInterval", "120"),
        "ChangeConfiguration",
        {"key": "HeartbeatInterval", "value": "120"},
    ),
    (commands.GetConfiguration(), "GetConfiguration", {}),
    (commands.ClearCache(), "ClearCache", {}),
    (commands.UnlockOutlet(outlet=2), "UnlockConnector", {"connector_id": 2}),
    (
        commands.RemoteStart(tag="4242", outlet=1),
        "RemoteStartTransaction",
        {"id_tag": "4242", "connector_id": 1},
    ),
    (
        commands.RemoteStop(session_id=17),
        "RemoteStopTransaction",
        {"transaction_id": 17},
    ),
    (
        commands.UpdateFirmware("ftp://portal/fw.bin", SOON, retries=3),
        "UpdateFirmware",
        {"location": "ftp://portal/fw.bin", "retries": 3},
    ),
    (
        commands.GetDiagnostics("ftp://portal/diag/"),
        "GetDiagnostics",
        {"location": "ftp://portal/diag/"},
    ),
    (
        commands.SendLocalList(3, True, (commands.LocalListEntry("4242", "accepted"),)),
        "SendLocalList",
        {"list_version": 3, "update_type": "Full"},
    ),
    (commands.GetLocalListVersion(), "GetLocalListVersion", {}),
    (
        commands.ReserveNow(outlet=1, expires_at=SOON, tag="4242", reservation_id=9),
        "ReserveNow",
        {"reservation_id": 9, "id_tag": "4242"},
    ),
    (commands.CancelReservation(9), "CancelReservation", {"reservation_id": 9}),
    (
        commands.TriggerMessage("StatusNotification", outlet=1),
        "TriggerMessage",
        {"requested_message": "StatusNotification"},
    ),
    (
        commands.SetChargingProfile(
            1,
            {
                "chargingProfileId": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
                },
            },
        ),
        "SetChargingProfile",
        {"connector_id": 1},
    ),
    (commands.ClearChargingProfile(profile_id=1), "ClearChargingProfile", {"id": 1}),
    (
        commands.GetCompositeSchedule(outlet=1, duration=3600, rate_unit="A"),
        "GetCompositeSchedule",
        {"duration": 3600},
    ),
    (
        commands.DataTransfer("com.example", "ping", "x"),
        "DataTransfer",
        {"vendor_id": "com.example"},
    ),
]


@pytest.mark.parametrize(
    ("command", "action", "fields"), OPERATIONS, ids=[o[1] for o in OPERATIONS]
)
def test_each_operation_reaches_the_station_and_its_result_is_logged(
    station, station_record, create_user, command, action, fields
):
    admin = create_user(Role.ADMIN)
    result = commands.send_command(admin, station_record, command)
    assert result.status is CommandStatus.ACCEPTED, result
    name, payload = station.received[-1]
    assert name == action
    assert fields.items() <= payload.items()
    logged = db.session.scalars(select(EventLogEntry).order_by(EventLogEntry.id)).all()
    assert [e.kind for e in logged][-2:] == [
        EventKind.COMMAND_SENT,
        EventKind.COMMAND_RESULT,
    ]
    assert ": accepted" in logged[-1].message and logged[-1].user_id == admin.id


def test_a_refusal_is_reported_as_rejected(station, station_record):
    station.cp.answers["Reset"] = call_result.Reset(status="Rejected")
    result = commands.send_command(None, station_record, commands.Reset())
    assert (result.status, result.detail) == (CommandStatus.REJECTED, "Rejected")


def test_a_station_call_error_is_reported_as_error(station, station_record):
    station.cp.answers["DataTransfer"] = call_result.DataTransfer(status="NotAStatus")
    result = commands.send_command(None, station_record, commands.DataTransfer("x"))
    assert result.status is CommandStatus.ERROR


def test_get_configuration_stores_the_key_table(station, station_record):
    commands.fetch_configuration(None, station_record)
    assert [k.key for k in station_record.config_keys] == [
        "HeartbeatInterval",
        "NumberOfConnectors",
    ]


def test_change_configuration_updates_the_key_table(station, station_record):
    commands.fetch_configuration(None, station_record)
    commands.change_configuration(None, station_record, "HeartbeatInterval", "120")
    assert station_record.config_keys[0].value == "120"


def test_a_read_only_key_is_refused_before_sending(station, station_record):
    from app.services.errors import InvalidInput

    commands.fetch_configuration(None, station_record)
    with pytest.raises(InvalidInput, match="read-only"):
        commands.change_configuration(None, station_record, "NumberOfConnectors", "4")
    assert station.received[-1][0] == "GetConfiguration"


def test_a_station_that_is_not_connected_is_offline(station_record):
    started = time.monotonic()
    result = commands.send_command(None, station_record, commands.Reset())
    assert result.status is CommandStatus.OFFLINE and time.monotonic() - started < 1


def test_a_station_that_never_answers_times_out_within_the_timeout(
    station, station_record
):
    station.cp.silent = True
    started = time.monotonic()
    result = commands.send_command(None, station_record, commands.Reset())
    assert result.status is CommandStatus.TIMED_OUT
    assert (
        time.monotonic() - started < 2.0 + 1.0
    )  # OCPP_COMMAND_TIMEOUT is 2 s in these tests


def test_a_station_that_disconnects_mid_call_is_offline_without_hanging(
    station, station_record
):
    station.cp.silent = True
    threading.Timer(0.3, station.abort).start()
    started = time.monotonic()
    result = commands.send_command(None, station_record, commands.Reset())
    assert result.status is CommandStatus.OFFLINE
    assert time.monotonic() - started < 2.0


def test_remote_start_returns_the_session_once_the_station_starts(
    station, station_record
):
    def start_when_asked() -> None:
        station.cp.got_call.clear()
        deadline = time.monotonic() + 5
        while not station.received and time.monotonic() < deadline:
            time.sleep(0.02)
        station.call(
            call.StartTransaction(
                connector_id=1,
                id_tag="4242",
                meter_start=0,
                timestamp=datetime.now(UTC).isoformat(),
            )
        )

    threading.Thread(target=start_when_asked).start()
    outcome = commands.remote_start(None, station_record, "4242", 1, wait=5)
    assert outcome.result.status is CommandStatus.ACCEPTED
    assert outcome.session_id is not None


def test_support_may_command_any_station_but_a_site_admin_only_its_own(
    station, station_record, create_user, create_site
):
    from app.services.errors import PermissionDenied

    assert commands.send_command(
        create_user(Role.SUPPORT), station_record, commands.ClearCache()
    ).ok
    other_admin = create_user(Role.SITE_ADMIN, sites=[create_site("Kista")])
    with pytest.raises(PermissionDenied):
        commands.send_command(other_admin, station_record, commands.Reset())
    assert [name for name, _ in station.received] == ["ClearCache"]


def test_update_firmware_passes_the_retrieve_date_in_utc(station, station_record):
    commands.send_command(
        None,
        station_record,
        commands.UpdateFirmware(
            "ftp://fw", datetime(2030, 1, 1, 12, tzinfo=UTC) + timedelta(0)
        ),
    )
    assert station.received[-1][1]["retrieve_date"] == "2030-01-01T12:00:00Z"
