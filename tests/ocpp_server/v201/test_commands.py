"""Every portal → station command to a 2.0.1 station, through services.commands and
the gateway, from the Control and OCPP tabs (issue 21 §3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ocpp.v201 import call_result
from sqlalchemy import select

from app.extensions import db
from app.models import ChargingSession, EventKind, EventLogEntry, Role, Station
from app.services import commands, station_control
from app.services.commands import CommandStatus
from tests.ocpp_server.v201.conftest import eventually
from tests.ocpp_server.v201.test_station_messages import BOOT, transaction_event

SOON = datetime(2030, 1, 1, tzinfo=UTC)
PROFILE = {
    "charging_profile_id": 11,
    "stack_level": 1,
    "charging_profile_purpose": "TxDefaultProfile",
    "charging_profile_kind": "Absolute",
    "charging_schedule": {
        "charging_rate_unit": "A",
        "charging_schedule_period": [{"start_period": 0, "limit": 16.0}],
    },
}

# (command, the action the station receives, fields it must see)
OPERATIONS = [
    (commands.Reset(hard=True), "Reset", {"type": "Immediate"}),
    (commands.Reset(hard=False), "Reset", {"type": "OnIdle"}),
    (
        commands.ChangeAvailability(outlet=1, operative=False),
        "ChangeAvailability",
        {"operational_status": "Inoperative", "evse": {"id": 1}},
    ),
    (
        commands.ChangeConfiguration("OCPPCommCtrlr/HeartbeatInterval", "120"),
        "SetVariables",
        {
            "set_variable_data": [
                {
                    "attribute_value": "120",
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                }
            ]
        },
    ),
    (
        commands.GetConfiguration(("EVSE@1/Power",)),
        "GetVariables",
        {
            "get_variable_data": [
                {
                    "component": {"name": "EVSE", "evse": {"id": 1}},
                    "variable": {"name": "Power"},
                }
            ]
        },
    ),
    (commands.GetConfiguration(), "GetBaseReport", {"report_base": "FullInventory"}),
    (commands.ClearCache(), "ClearCache", {}),
    (
        commands.UnlockOutlet(outlet=2),
        "UnlockConnector",
        {"evse_id": 2, "connector_id": 1},
    ),
    (
        commands.RemoteStart(tag="4242", outlet=1),
        "RequestStartTransaction",
        {"id_token": {"id_token": "4242", "type": "Central"}, "evse_id": 1},
    ),
    (
        commands.RemoteStop(session_id=17, transaction_ref="TX-17"),
        "RequestStopTransaction",
        {"transaction_id": "TX-17"},
    ),
    (
        commands.UpdateFirmware("ftp://portal/fw.bin", SOON, retries=3),
        "UpdateFirmware",
        {
            "firmware": {
                "location": "ftp://portal/fw.bin",
                "retrieve_date_time": "2030-01-01T00:00:00Z",
            },
            "retries": 3,
        },
    ),
    (
        commands.GetDiagnostics("ftp://portal/diag/"),
        "GetLog",
        {
            "log": {"remote_location": "ftp://portal/diag/"},
            "log_type": "DiagnosticsLog",
        },
    ),
    (
        commands.SendLocalList(
            3,
            True,
            (
                commands.LocalListEntry("04A1B2C3", "accepted", parent_tag="500"),
                commands.LocalListEntry("APP-1", "blocked"),
            ),
        ),
        "SendLocalList",
        {
            "version_number": 3,
            "update_type": "Full",
            "local_authorization_list": [
                {
                    "id_token": {"id_token": "04A1B2C3", "type": "ISO14443"},
                    "id_token_info": {
                        "status": "Accepted",
                        "group_id_token": {"id_token": "500", "type": "Central"},
                    },
                },
                {
                    "id_token": {"id_token": "APP-1", "type": "Local"},
                    "id_token_info": {"status": "Blocked"},
                },
            ],
        },
    ),
    (commands.GetLocalListVersion(), "GetLocalListVersion", {}),
    (
        commands.ReserveNow(outlet=1, expires_at=SOON, tag="4242", reservation_id=9),
        "ReserveNow",
        {"id": 9, "evse_id": 1},
    ),
    (commands.CancelReservation(9), "CancelReservation", {"reservation_id": 9}),
    (
        commands.TriggerMessage("StatusNotification", outlet=1),
        "TriggerMessage",
        {
            "requested_message": "StatusNotification",
            "evse": {"id": 1, "connector_id": 1},
        },
    ),
    (
        commands.TriggerMessage("DiagnosticsStatusNotification"),
        "TriggerMessage",
        {"requested_message": "LogStatusNotification"},
    ),
    (
        commands.SetChargingProfile(1, PROFILE),
        "SetChargingProfile",
        {"evse_id": 1},
    ),
    (
        commands.ClearChargingProfile(profile_id=11),
        "ClearChargingProfile",
        {"charging_profile_id": 11},
    ),
    (
        commands.GetCompositeSchedule(outlet=1, duration=3600, rate_unit="A"),
        "GetCompositeSchedule",
        {"duration": 3600, "evse_id": 1},
    ),
    (
        commands.DataTransfer("com.example", "ping", "x"),
        "DataTransfer",
        {"vendor_id": "com.example", "data": "x"},
    ),
]


@pytest.mark.parametrize(
    ("command", "action", "fields"),
    OPERATIONS,
    ids=[f"{o[1]}-{n}" for n, o in enumerate(OPERATIONS)],
)
def test_each_command_reaches_the_station_and_its_result_is_logged(
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


def test_a_charging_profile_is_rewritten_for_201(station, station_record):
    commands.send_command(None, station_record, commands.SetChargingProfile(1, PROFILE))
    profile = station.cp.profiles[(1, 11)]
    assert profile["charging_profile_purpose"] == "TxDefaultProfile"
    assert profile["charging_schedule"] == [
        {
            "id": 11,
            "charging_rate_unit": "A",
            "charging_schedule_period": [{"start_period": 0, "limit": 16.0}],
        }
    ]


def test_a_station_maximum_is_a_charging_station_max_profile(station, station_record):
    cap = {**PROFILE, "charging_profile_purpose": "ChargePointMaxProfile"}
    commands.send_command(None, station_record, commands.SetChargingProfile(0, cap))
    assert station.cp.profiles[(0, 11)]["charging_profile_purpose"] == (
        "ChargingStationMaxProfile"
    )


def test_a_refusal_is_reported_as_rejected(station, station_record):
    station.cp.answers["Reset"] = call_result.Reset(status="Rejected")
    result = commands.send_command(None, station_record, commands.Reset())
    assert (result.status, result.detail) == (CommandStatus.REJECTED, "Rejected")


def test_a_key_that_names_no_variable_is_refused_before_sending(
    station, station_record
):
    result = commands.send_command(
        None, station_record, commands.ChangeConfiguration("HeartbeatInterval", "1")
    )
    assert result.status is CommandStatus.REJECTED
    assert station.received == []


def test_an_offline_station_is_reported_offline(station_record):
    result = commands.send_command(None, station_record, commands.ClearCache())
    assert result.status is CommandStatus.OFFLINE


def test_set_variables_keeps_the_new_value_in_the_key_table(station, station_record):
    commands.change_configuration(
        None, station_record, "OCPPCommCtrlr/HeartbeatInterval", "120"
    )
    db.session.refresh(station_record)
    assert [(k.key, k.value) for k in station_record.config_keys] == [
        ("OCPPCommCtrlr/HeartbeatInterval", "120")
    ]


def test_get_variables_reads_the_values_asked_for(station, station_record):
    result = commands.send_command(
        None,
        station_record,
        commands.GetConfiguration(("EVSE@1/Power", "Nope/Missing")),
    )
    assert result.data["keys"] == [
        {"key": "EVSE@1/Power", "value": "22000", "readonly": False}
    ]
    assert result.data["unknown_keys"] == ["Nope/Missing"]


def test_upload_fetches_the_full_report_into_the_key_table(station, station_record):
    result = commands.fetch_configuration(None, station_record)
    assert result.ok
    keys = eventually(
        lambda: (
            [k.key for k in db.session.get(Station, station_record.id).config_keys]
            if len(db.session.get(Station, station_record.id).config_keys) == 3
            else None
        )
    )
    assert keys == [
        "EVSE@1/Power",
        "OCPPCommCtrlr/HeartbeatInterval",
        "SampledDataCtrlr/TxUpdatedMeasurands",
    ]


class TestFirstContact:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "OCPP_FETCH_CONFIG_ON_BOOT": True}

    def test_the_full_report_is_asked_for_after_boot(self, station, station_record):
        station.call(BOOT)
        assert eventually(
            lambda: len(db.session.get(Station, station_record.id).config_keys) == 3
        )
        assert "GetBaseReport" in station.cp.names()


def test_a_remote_start_waits_for_the_stations_transaction(
    station, station_record, create_user
):
    create_user(Role.EV_USER, tag="3054198966")
    started = commands.remote_start(None, station_record, "3054198966", 2, wait=5)
    assert started.result.ok and started.session_id is not None
    session = db.session.get(ChargingSession, started.session_id)
    assert (session.transaction_ref, session.outlet_number) == ("RS-1", 2)


def test_stop_charging_names_the_stations_transaction(
    station, station_record, create_user
):
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    station.call(transaction_event("Started", 0, at, evse={"id": 1, "connector_id": 1}))
    result = station_control.stop_charging(create_user(Role.ADMIN), station_record, 1)
    assert result.ok
    assert station.received[-1] == (
        "RequestStopTransaction",
        {"transaction_id": "TX-1"},
    )
    session = eventually(
        lambda: db.session.scalars(
            select(ChargingSession).where(ChargingSession.ended_at.is_not(None))
        ).first()
    )
    assert session.stop_reason == "Remote"


def test_the_ocpp_tab_names_variables_and_saves_one(station, station_record, login_as):
    client = login_as(Role.ADMIN)
    page = client.get(f"/admin/config/?node=station:{station_record.id}&tab=ocpp")
    assert "component/variable" in page.text
    assert "OCPP 2.0.1 JSON" in page.text  # the protocol, in the page header
    answer = client.post(
        f"/admin/config/station/{station_record.id}/command/change_configuration",
        json={"key": "OCPPCommCtrlr/HeartbeatInterval", "value": "60"},
    )
    assert answer.json["status"] == "accepted", answer.text
    assert station.received[-1][0] == "SetVariables"
