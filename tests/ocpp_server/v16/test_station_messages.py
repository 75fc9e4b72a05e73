"""Every station → portal message of OCPP 1.6 through a real socket (issue 10 §3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ocpp.v16 import call
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AccessRule,
    Alarm,
    AlarmKind,
    AlarmState,
    ChargingSession,
    EventKind,
    EventLogEntry,
    MeterValue,
    OutletStatus,
    Role,
)
from tests.ocpp_server.v16.conftest import eventually


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


BOOT = call.BootNotification(
    charge_point_vendor="ACME",
    charge_point_model="Wall 22",
    firmware_version="1.4.2",
    charge_point_serial_number="SN-9",
)


def test_boot_is_accepted_with_the_stations_heartbeat_interval(station, station_record):
    answer = station.call(BOOT)
    assert (answer.status, answer.interval) == (
        "Accepted",
        station_record.heartbeat_interval,
    )
    db.session.refresh(station_record)
    assert (station_record.vendor, station_record.model) == ("ACME", "Wall 22")
    assert (station_record.firmware_version, station_record.serial_number) == (
        "1.4.2",
        "SN-9",
    )
    assert station_record.online


def test_heartbeat_answers_the_time_and_marks_the_station_seen(station, station_record):
    answer = station.call(call.Heartbeat())
    assert abs(
        datetime.fromisoformat(answer.current_time) - datetime.now(UTC)
    ) < timedelta(seconds=5)
    db.session.refresh(station_record)
    assert station_record.last_seen_at is not None


@pytest.mark.parametrize(
    ("error_code", "kind"),
    [
        ("ConnectorLockFailure", AlarmKind.CONNECTOR_LOCK_FAILURE),
        ("PowerMeterFailure", AlarmKind.POWER_METER_FAILURE),
        ("PowerSwitchFailure", AlarmKind.POWER_SWITCH_FAILURE),
        ("OverCurrentFailure", AlarmKind.OVER_CURRENT),
        ("HighTemperature", AlarmKind.TEMPERATURE),
        ("GroundFailure", AlarmKind.GROUND_FAILURE),
        ("ReaderFailure", AlarmKind.READER_FAILURE),
        ("InternalError", AlarmKind.INTERNAL_ERROR),
    ],
)
def test_a_fault_raises_the_matching_alarm(station, station_record, error_code, kind):
    station.call(
        call.StatusNotification(connector_id=1, error_code=error_code, status="Faulted")
    )
    alarm = db.session.scalars(
        select(Alarm).where(Alarm.state == AlarmState.ACTIVE)
    ).one()
    assert (alarm.kind, alarm.node_name) == (kind, "000003586 Connector: 1")


def test_status_back_to_normal_resolves_the_alarm(station, station_record):
    station.call(
        call.StatusNotification(
            connector_id=2, error_code="HighTemperature", status="Faulted"
        )
    )
    station.call(
        call.StatusNotification(
            connector_id=2, error_code="NoError", status="Available"
        )
    )
    alarm = db.session.scalars(select(Alarm)).one()
    assert alarm.state is AlarmState.RESOLVED
    db.session.refresh(station_record)
    assert station_record.outlets[1].status is OutletStatus.AVAILABLE


def test_status_of_the_whole_station_is_connector_zero(station, station_record):
    station.call(
        call.StatusNotification(
            connector_id=0,
            error_code="OtherError",
            status="Faulted",
            info="Hardware mismatch",
        )
    )
    alarm = db.session.scalars(select(Alarm)).one()
    assert alarm.node_name == "000003586" and "Hardware mismatch" in alarm.description


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("none", "Invalid"),
        ("blocked", "Blocked"),
        ("expired", "Expired"),
        ("ok", "Accepted"),
    ],
)
def test_authorize_on_rfid_outlets(station, create_user, setup, expected):
    if setup != "none":
        user = create_user(Role.EV_USER, tag="4242")
        tag = user.tags[0]
        tag.blocked = setup == "blocked"
        if setup == "expired":
            tag.expires_at = datetime.now(UTC) - timedelta(days=1)
        db.session.commit()
    assert station.call(call.Authorize(id_tag="4242")).id_tag_info["status"] == expected


def test_open_outlets_accept_anyone(connect, create_site, create_station):
    create_station(create_site(), "OPEN-1", access=AccessRule.OPEN)
    with connect("OPEN-1") as open_station:
        assert (
            open_station.call(call.Authorize(id_tag="whoever")).id_tag_info["status"]
            == "Accepted"
        )


def test_a_full_charging_cycle_makes_one_session_with_the_right_energy(
    station, station_record, create_user
):
    create_user(Role.EV_USER, "anna@example.com", tag="4242")
    start = _now() - timedelta(hours=1)
    station.call(BOOT)
    station.call(
        call.StatusNotification(
            connector_id=1, error_code="NoError", status="Preparing"
        )
    )
    assert (
        station.call(call.Authorize(id_tag="4242")).id_tag_info["status"] == "Accepted"
    )
    started = station.call(
        call.StartTransaction(
            connector_id=1, id_tag="4242", meter_start=120_000, timestamp=_iso(start)
        )
    )
    assert started.id_tag_info["status"] == "Accepted"
    session_id = started.transaction_id
    station.call(
        call.StatusNotification(connector_id=1, error_code="NoError", status="Charging")
    )
    station.call(
        call.MeterValues(
            connector_id=1,
            transaction_id=session_id,
            meter_value=[
                {
                    "timestamp": _iso(start + timedelta(minutes=30)),
                    "sampledValue": [
                        {
                            "value": "123500",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                        },
                        {
                            "value": "7.2",
                            "measurand": "Power.Active.Import",
                            "unit": "kW",
                        },
                    ],
                }
            ],
        )
    )
    station.call(
        call.StopTransaction(
            transaction_id=session_id,
            meter_stop=127_250,
            timestamp=_iso(start + timedelta(hours=1)),
            id_tag="4242",
            reason="EVDisconnected",
        )
    )
    session = db.session.scalars(select(ChargingSession)).one()
    assert session.id == session_id
    assert session.energy_kwh == pytest.approx(7.25)
    assert session.meter_kwh == pytest.approx(127.25)
    assert (session.authentication, session.user.email) == (1, "anna@example.com")
    assert session.duration_seconds == 3600 and session.stop_reason == "EVDisconnected"
    assert db.session.scalar(select(func.count(MeterValue.id))) == 2


def test_anonymous_charging_on_an_open_outlet(connect, create_site, create_station):
    create_station(create_site(), "OPEN-1", access=AccessRule.OPEN)
    with connect("OPEN-1") as open_station:
        started = open_station.call(
            call.StartTransaction(
                connector_id=1, id_tag="", meter_start=0, timestamp=_iso(_now())
            )
        )
    session = db.session.scalars(select(ChargingSession)).one()
    assert started.id_tag_info["status"] == "Accepted"
    assert (session.authentication, session.user_id) == (0, None)


def test_a_repeated_stop_transaction_is_answered_and_changes_nothing(station):
    start = _now() - timedelta(hours=1)
    session_id = station.call(
        call.StartTransaction(
            connector_id=1, id_tag="x", meter_start=1000, timestamp=_iso(start)
        )
    ).transaction_id
    stop = call.StopTransaction(
        transaction_id=session_id, meter_stop=5000, timestamp=_iso(_now())
    )
    station.call(stop)
    station.call(stop)
    session = db.session.scalars(select(ChargingSession)).one()
    assert session.energy_kwh == pytest.approx(4.0)


def test_a_repeated_start_transaction_gets_the_same_session(station):
    start = call.StartTransaction(
        connector_id=1, id_tag="x", meter_start=10, timestamp=_iso(_now())
    )
    assert station.call(start).transaction_id == station.call(start).transaction_id
    assert db.session.scalar(select(func.count(ChargingSession.id))) == 1


def test_messages_queued_while_offline_are_accepted(station):
    yesterday = _now() - timedelta(days=1)
    session_id = station.call(
        call.StartTransaction(
            connector_id=2, id_tag="x", meter_start=0, timestamp=_iso(yesterday)
        )
    ).transaction_id
    station.call(
        call.StopTransaction(
            transaction_id=session_id,
            meter_stop=2000,
            timestamp=_iso(yesterday + timedelta(hours=2)),
        )
    )
    session = db.session.scalars(select(ChargingSession)).one()
    assert session.started_at == yesterday and session.energy_kwh == pytest.approx(2.0)


def test_data_transfer_from_an_unknown_vendor(station):
    answer = station.call(
        call.DataTransfer(vendor_id="com.example", message_id="x", data="{}")
    )
    assert answer.status == "UnknownVendorId"
    kinds = db.session.scalars(select(EventLogEntry.kind)).all()
    assert EventKind.DATA_TRANSFER in kinds


def test_firmware_and_diagnostics_status_reach_the_station_and_event_log(
    station, station_record
):
    station.call(call.FirmwareStatusNotification(status="Installing"))
    station.call(call.DiagnosticsStatusNotification(status="Uploaded"))
    db.session.refresh(station_record)
    assert (station_record.firmware_status, station_record.diagnostics_status) == (
        "Installing",
        "Uploaded",
    )
    kinds = set(db.session.scalars(select(EventLogEntry.kind)))
    assert {EventKind.FIRMWARE, EventKind.DIAGNOSTICS} <= kinds


def test_every_frame_is_in_the_message_log(station, station_record):
    from app.models import Direction, OcppMessage

    station.call(call.Heartbeat())
    rows = eventually(
        lambda: (
            len(
                db.session.scalars(
                    select(OcppMessage).where(OcppMessage.action == "Heartbeat")
                ).all()
            )
            == 2
        )
    )
    assert rows
    logged = db.session.scalars(select(OcppMessage).order_by(OcppMessage.id)).all()
    assert [m.direction for m in logged] == [Direction.IN, Direction.OUT]
    assert (
        logged[0].station_id == station_record.id
        and logged[0].unique_id == logged[1].unique_id
    )
