"""Station → portal messages of OCPP 2.0.1 through a real socket (issue 21 §2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v201 import call
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Alarm,
    AlarmKind,
    AlarmState,
    ChargingSession,
    MeterValue,
    OutletStatus,
    Role,
)
from tests.ocpp_server.v201.conftest import eventually

BOOT = call.BootNotification(
    charging_station={
        "model": "Wall 22",
        "vendor_name": "ACME",
        "serial_number": "SN-9",
        "firmware_version": "2.0.3",
    },
    reason="PowerUp",
)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def energy(at: datetime, wh: float, context: str = "Sample.Periodic") -> dict[str, Any]:
    return {
        "timestamp": iso(at),
        "sampled_value": [
            {
                "value": wh,
                "context": context,
                "measurand": "Energy.Active.Import.Register",
                "unit_of_measure": {"unit": "Wh"},
            }
        ],
    }


def transaction_event(
    event_type: str, seq_no: int, at: datetime, **fields: Any
) -> call.TransactionEvent:
    info = {"transaction_id": fields.pop("transaction_id", "TX-1")}
    if "charging_state" in fields:
        info["charging_state"] = fields.pop("charging_state")
    if "stopped_reason" in fields:
        info["stopped_reason"] = fields.pop("stopped_reason")
    return call.TransactionEvent(
        event_type=event_type,
        timestamp=iso(at),
        trigger_reason=fields.pop("trigger_reason", "Authorized"),
        seq_no=seq_no,
        transaction_info=info,
        **fields,
    )


def test_boot_is_accepted_with_the_stations_heartbeat_interval(station, station_record):
    answer = station.call(BOOT)
    assert (answer.status, answer.interval) == (
        "Accepted",
        station_record.heartbeat_interval,
    )
    db.session.refresh(station_record)
    assert (station_record.vendor, station_record.model) == ("ACME", "Wall 22")
    assert (station_record.serial_number, station_record.firmware_version) == (
        "SN-9",
        "2.0.3",
    )
    assert station_record.online


def test_heartbeat_answers_the_time_and_marks_the_station_seen(station, station_record):
    answer = station.call(call.Heartbeat())
    moment = datetime.fromisoformat(answer.current_time.replace("Z", "+00:00"))
    assert abs(moment - datetime.now(UTC)) < timedelta(seconds=5)
    db.session.refresh(station_record)
    assert station_record.last_seen_at is not None


def test_a_connector_status_is_its_evses_outlet_status(station, station_record):
    station.call(
        call.StatusNotification(
            timestamp=iso(datetime.now(UTC)),
            connector_status="Occupied",
            evse_id=2,
            connector_id=1,
        )
    )
    db.session.refresh(station_record)
    statuses = [o.status for o in station_record.outlets]
    assert statuses == [OutletStatus.UNKNOWN, OutletStatus.PREPARING]


def test_a_faulted_connector_raises_an_alarm_that_available_resolves(
    station, station_record
):
    for status in ("Faulted", "Available"):
        station.call(
            call.StatusNotification(
                timestamp=iso(datetime.now(UTC)),
                connector_status=status,
                evse_id=1,
                connector_id=1,
            )
        )
        if status == "Faulted":
            alarm = db.session.scalars(select(Alarm)).one()
            assert (alarm.kind, alarm.state) == (
                AlarmKind.HARDWARE_FAILURE,
                AlarmState.ACTIVE,
            )
    db.session.refresh(alarm)
    assert alarm.state is AlarmState.RESOLVED


def test_authorize_takes_the_id_token_value_as_the_tag(station, create_user):
    create_user(Role.EV_USER, tag="3054198966")
    known = station.call(
        call.Authorize(id_token={"id_token": "3054198966", "type": "ISO14443"})
    )
    unknown = station.call(
        call.Authorize(id_token={"id_token": "99999", "type": "ISO14443"})
    )
    assert known.id_token_info["status"] == "Accepted"
    assert unknown.id_token_info["status"] == "Invalid"


def test_a_full_transaction_is_one_session_with_its_energy(station, create_user):
    owner = create_user(Role.EV_USER, tag="3054198966")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    token = {"id_token": "3054198966", "type": "ISO14443"}
    started = station.call(
        transaction_event(
            "Started",
            0,
            t0,
            evse={"id": 1, "connector_id": 1},
            id_token=token,
            meter_value=[energy(t0, 12000, "Transaction.Begin")],
            charging_state="Charging",
        )
    )
    station.call(
        transaction_event(
            "Updated",
            1,
            t0 + timedelta(minutes=15),
            trigger_reason="MeterValuePeriodic",
            meter_value=[energy(t0 + timedelta(minutes=15), 15000)],
        )
    )
    station.call(
        transaction_event(
            "Ended",
            2,
            t0 + timedelta(minutes=30),
            trigger_reason="EVCommunicationLost",
            meter_value=[energy(t0 + timedelta(minutes=30), 19500, "Transaction.End")],
            stopped_reason="EVDisconnected",
            charging_state="Idle",
        )
    )
    assert started.id_token_info["status"] == "Accepted"
    session = db.session.scalars(select(ChargingSession)).one()
    assert (session.transaction_ref, session.outlet_number) == ("TX-1", 1)
    assert (session.user_id, session.energy_kwh) == (owner.id, 7.5)
    assert (session.started_at, session.ended_at) == (t0, t0 + timedelta(minutes=30))
    assert session.stop_reason == "EVDisconnected"
    assert db.session.scalar(select(func.count(MeterValue.id))) == 3


def test_transaction_events_queued_offline_are_replayed_in_order(
    connect, station_record
):
    """The station charged while the portal could not hear it; back online, it
    sends the queued events one after another, each marked offline."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    queued = [
        transaction_event(
            "Started",
            0,
            t0,
            evse={"id": 2, "connector_id": 1},
            offline=True,
            meter_value=[energy(t0, 1000, "Transaction.Begin")],
            trigger_reason="CablePluggedIn",
        ),
        *(
            transaction_event(
                "Updated",
                n,
                t0 + timedelta(minutes=10 * n),
                offline=True,
                trigger_reason="MeterValuePeriodic",
                meter_value=[energy(t0 + timedelta(minutes=10 * n), 1000 + 900 * n)],
            )
            for n in (1, 2, 3)
        ),
        transaction_event(
            "Ended",
            4,
            t0 + timedelta(minutes=40),
            offline=True,
            trigger_reason="EVDeparted",
            meter_value=[energy(t0 + timedelta(minutes=40), 5000, "Transaction.End")],
            stopped_reason="Local",
        ),
    ]
    with connect(station_record.chargebox_id) as runner:
        runner.call(BOOT)
        for event in queued:
            runner.call(event)
        runner.call(queued[2])  # one answer lost: sent again
    session = db.session.scalars(select(ChargingSession)).one()
    assert (session.started_at, session.ended_at) == (t0, t0 + timedelta(minutes=40))
    assert (session.energy_kwh, session.outlet_number) == (4.0, 2)
    assert session.transaction_seq_no == 4
    times = db.session.scalars(
        select(MeterValue.sampled_at).order_by(MeterValue.sampled_at)
    ).all()
    assert times == [t0 + timedelta(minutes=10 * n) for n in range(5)]


def test_meter_values_of_an_evse_are_its_outlets(station, station_record):
    at = datetime.now(UTC).replace(microsecond=0)
    station.call(call.MeterValues(evse_id=1, meter_value=[energy(at, 4200)]))
    value = eventually(lambda: db.session.scalars(select(MeterValue)).first())
    assert (value.outlet_id, value.value) == (station_record.outlets[0].id, 4200)


def test_meter_values_of_the_main_meter_are_not_an_outlets(station):
    at = datetime.now(UTC).replace(microsecond=0)
    station.call(call.MeterValues(evse_id=0, meter_value=[energy(at, 4200)]))
    assert db.session.scalar(select(func.count(MeterValue.id))) == 0


def test_authorize_matches_tags_as_the_other_versions_do(station, create_user):
    """The tag rules of app/services/tags.py (as sent, case-insensitive) hold for
    2.0.1 too: the handler goes through the same charging.authorize."""
    create_user(Role.EV_USER, tag="04A1B2C3D4E5F6")
    create_user(Role.EV_USER, tag="APP-7F3K2Q")
    answers = [
        station.call(call.Authorize(id_token={"id_token": value, "type": kind}))
        for value, kind in [
            ("04a1b2c3d4e5f6", "ISO14443"),
            ("APP-7F3K2Q", "Central"),
        ]
    ]
    assert [a.id_token_info["status"] for a in answers] == ["Accepted", "Accepted"]
