"""What a 2.0.1 station tells beyond charging: its variables, its problems, its
security events, firmware and log progress, vendor data (issue 21 §2, §4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ocpp.v201 import call
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Alarm,
    AlarmKind,
    AlarmState,
    EventKind,
    EventLogEntry,
    StationConfigKey,
)
from tests.ocpp_server.v201.test_station_messages import iso


def _report(seq_no: int, items: list[dict], *, tbc: bool, at: str) -> call.NotifyReport:
    return call.NotifyReport(
        request_id=1, generated_at=at, seq_no=seq_no, report_data=items, tbc=tbc
    )


def _item(component: dict, variable: str, value: str, mutability: str = "ReadWrite"):
    return {
        "component": component,
        "variable": {"name": variable},
        "variable_attribute": [{"value": value, "mutability": mutability}],
    }


def _keys(station_record) -> dict[str, tuple[str | None, bool]]:
    rows = db.session.scalars(
        select(StationConfigKey).where(StationConfigKey.station_id == station_record.id)
    )
    return {row.key: (row.value, row.readonly) for row in rows}


def test_a_report_in_parts_fills_the_key_table(station, station_record):
    at = iso(datetime.now(UTC))
    station.call(
        _report(
            0,
            [_item({"name": "OCPPCommCtrlr"}, "HeartbeatInterval", "300")],
            tbc=True,
            at=at,
        )
    )
    station.call(
        _report(
            1,
            [_item({"name": "EVSE", "evse": {"id": 1}}, "Power", "22000", "ReadOnly")],
            tbc=False,
            at=at,
        )
    )
    assert _keys(station_record) == {
        "OCPPCommCtrlr/HeartbeatInterval": ("300", False),
        "EVSE@1/Power": ("22000", True),
    }


def test_a_new_report_drops_the_variables_it_no_longer_names(station, station_record):
    first = iso(datetime(2026, 12, 1, tzinfo=UTC))
    second = iso(datetime.now(UTC))
    gone = _item({"name": "TxCtrlr"}, "EVConnectionTimeOut", "60")
    kept = _item({"name": "OCPPCommCtrlr"}, "HeartbeatInterval", "300")
    station.call(_report(0, [gone, kept], tbc=False, at=first))
    station.call(_report(0, [kept], tbc=False, at=second))
    assert list(_keys(station_record)) == ["OCPPCommCtrlr/HeartbeatInterval"]


def _event(component: dict, variable: str, value: str, **extra) -> dict:
    return {
        "event_id": 1,
        "timestamp": iso(datetime.now(UTC)),
        "trigger": extra.pop("trigger", "Delta"),
        "actual_value": value,
        "event_notification_type": "HardWiredNotification",
        "component": component,
        "variable": {"name": variable},
        **extra,
    }


def _notify(*events: dict) -> call.NotifyEvent:
    return call.NotifyEvent(
        generated_at=iso(datetime.now(UTC)), seq_no=0, event_data=list(events)
    )


@pytest.mark.parametrize(
    ("component", "variable", "kind"),
    [
        ({"name": "RCD", "evse": {"id": 1}}, "Tripped", AlarmKind.GROUND_FAILURE),
        (
            {"name": "OverCurrentProtection", "evse": {"id": 1}},
            "Tripped",
            AlarmKind.OVER_CURRENT,
        ),
        (
            {"name": "ConnectorPlugRetentionLock", "evse": {"id": 1}},
            "Problem",
            AlarmKind.CONNECTOR_LOCK_FAILURE,
        ),
        ({"name": "TokenReader"}, "Problem", AlarmKind.READER_FAILURE),
        ({"name": "PowerContactor"}, "Problem", AlarmKind.POWER_SWITCH_FAILURE),
        ({"name": "FiscalMetering"}, "Problem", AlarmKind.POWER_METER_FAILURE),
        ({"name": "TemperatureSensor"}, "Problem", AlarmKind.TEMPERATURE),
        ({"name": "Controller"}, "Problem", AlarmKind.INTERNAL_ERROR),
        ({"name": "ChargingStation"}, "Problem", AlarmKind.HARDWARE_FAILURE),
    ],
)
def test_a_reported_problem_raises_its_alarm(
    station, station_record, component, variable, kind
):
    station.call(_notify(_event(component, variable, "true")))
    alarm = db.session.scalars(select(Alarm)).one()
    assert (alarm.kind, alarm.state) == (kind, AlarmState.ACTIVE)
    expected = "CS-201 Connector: 1" if "evse" in component else "CS-201"
    assert alarm.node_name == expected


def test_a_cleared_problem_resolves_its_alarm(station):
    rcd = {"name": "RCD", "evse": {"id": 1}}
    station.call(_notify(_event(rcd, "Tripped", "true")))
    station.call(_notify(_event(rcd, "Tripped", "false", cleared=True)))
    alarm = db.session.scalars(select(Alarm)).one()
    assert alarm.state is AlarmState.RESOLVED


def test_a_monitor_crossing_its_threshold_is_a_problem(station):
    sensor = {"name": "ChargingStation"}
    station.call(_notify(_event(sensor, "Temperature", "81", trigger="Alerting")))
    alarm = db.session.scalars(select(Alarm)).one()
    assert alarm.kind is AlarmKind.TEMPERATURE and "81" in alarm.description


def test_an_event_that_is_no_problem_is_logged(station):
    station.call(
        _notify(
            _event({"name": "EVSE", "evse": {"id": 2}}, "AvailabilityState", "Occupied")
        )
    )
    assert db.session.scalars(select(Alarm)).first() is None
    messages = db.session.scalars(select(EventLogEntry.message)).all()
    assert "EVSE@2/AvailabilityState = Occupied" in messages


def test_a_security_event_is_logged(station):
    station.call(
        call.SecurityEventNotification(
            type="SettingSystemTime", timestamp=iso(datetime.now(UTC))
        )
    )
    entry = db.session.scalars(
        select(EventLogEntry).where(EventLogEntry.kind == EventKind.SECURITY)
    ).one()
    assert entry.message == "security event: SettingSystemTime"
    assert db.session.scalars(select(Alarm)).first() is None


def test_a_critical_security_event_raises_an_alarm(station):
    station.call(
        call.SecurityEventNotification(
            type="TamperDetectionActivated",
            timestamp=iso(datetime.now(UTC)),
            tech_info="lid opened",
        )
    )
    alarm = db.session.scalars(select(Alarm)).one()
    assert alarm.kind is AlarmKind.OTHER
    assert "TamperDetectionActivated" in alarm.description


def test_firmware_progress_is_kept(station, station_record):
    station.call(call.FirmwareStatusNotification(status="Installed", request_id=3))
    db.session.refresh(station_record)
    assert station_record.firmware_status == "Installed"


def test_log_upload_progress_is_the_diagnostics_status(station, station_record):
    station.call(call.LogStatusNotification(status="Uploaded", request_id=4))
    db.session.refresh(station_record)
    assert station_record.diagnostics_status == "Uploaded"


def test_vendor_data_is_logged_and_answered_unknown_vendor(station):
    answer = station.call(
        call.DataTransfer(vendor_id="com.acme", message_id="ping", data={"n": 1})
    )
    assert answer.status == "UnknownVendorId"
    entry = db.session.scalars(
        select(EventLogEntry).where(EventLogEntry.kind == EventKind.DATA_TRANSFER)
    ).one()
    assert entry.details["data"] == '{"n": 1}'
