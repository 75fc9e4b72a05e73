"""app/services/stations.py: admission, boot, status alarms, keys, offline detection."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import (
    Alarm,
    AlarmKind,
    AlarmState,
    ConnectPolicy,
    EventKind,
    EventLogEntry,
    OutletStatus,
    Protocol,
    RegistrationState,
    Station,
    utcnow,
)
from app.services import stations, topology
from app.services.stations import Admission


@pytest.fixture
def station(create_site, create_station):
    return create_station(create_site(), "000004082", outlets=2)


def _admit(chargebox_id: str, password: str | None = None):
    return stations.admit_station(
        chargebox_id, password, protocol=Protocol.OCPP16_JSON, address="127.0.0.1"
    )


def _active_alarms():
    return db.session.scalars(
        select(Alarm).where(Alarm.state == AlarmState.ACTIVE)
    ).all()


def test_a_known_station_is_admitted(station):
    assert _admit("000004082").admission is Admission.ACCEPTED


def test_an_unknown_station_is_refused_and_raises_not_registered(app):
    assert _admit("NOBODY").admission is Admission.UNKNOWN
    (alarm,) = _active_alarms()
    assert (alarm.kind, alarm.node_name) == (AlarmKind.NOT_REGISTERED, "NOBODY")
    assert db.session.scalars(select(Station)).all() == []


def test_unknown_stations_wait_as_pending_under_that_policy(app):
    topology.get_settings().connect_policy = ConnectPolicy.PENDING
    result = _admit("NEWBOX")
    assert result.admission is Admission.PENDING
    assert result.station.site_id is None


def test_unknown_stations_are_registered_under_auto_register(app):
    topology.get_settings().connect_policy = ConnectPolicy.AUTO_REGISTER
    assert _admit("NEWBOX").admission is Admission.ACCEPTED


def test_a_station_password_is_checked(station):
    station.auth_password_hash = generate_password_hash("a-long-station-pass")
    assert _admit("000004082", "wrong").admission is Admission.BAD_PASSWORD
    assert _admit("000004082").admission is Admission.BAD_PASSWORD
    assert _admit("000004082", "a-long-station-pass").admission is Admission.ACCEPTED


def test_boot_stores_what_the_station_says_and_asks_for_its_keys(station):
    result = stations.record_boot(
        station, stations.BootInfo("ACME", "Wall 22", "SN1", "1.2.3")
    )
    assert (station.vendor, station.model, station.firmware_version) == (
        "ACME",
        "Wall 22",
        "1.2.3",
    )
    assert result.heartbeat_interval == station.heartbeat_interval
    assert result.fetch_configuration and station.online


def test_a_fault_status_raises_the_matching_alarm_on_the_outlet(station):
    stations.record_status(
        station,
        1,
        OutletStatus.FAULTED,
        fault=AlarmKind.CONNECTOR_LOCK_FAILURE,
        error_code="ConnectorLockFailure",
    )
    (alarm,) = _active_alarms()
    assert (alarm.kind, alarm.node_name) == (
        AlarmKind.CONNECTOR_LOCK_FAILURE,
        "000004082 Connector: 1",
    )
    assert station.outlets[0].status is OutletStatus.FAULTED


def test_a_repeated_fault_keeps_one_alarm(station):
    for _ in range(3):
        stations.record_status(
            station, 1, OutletStatus.FAULTED, fault=AlarmKind.TEMPERATURE
        )
    assert len(_active_alarms()) == 1


def test_back_to_normal_resolves_the_alarm_into_history(station):
    stations.record_status(
        station, 1, OutletStatus.FAULTED, fault=AlarmKind.TEMPERATURE
    )
    stations.record_status(station, 1, OutletStatus.AVAILABLE)
    alarm = db.session.scalars(select(Alarm)).one()
    assert alarm.state is AlarmState.RESOLVED and alarm.ended_at is not None


def test_an_older_queued_status_does_not_overwrite_a_newer_one(station):
    now = utcnow()
    stations.record_status(station, 1, OutletStatus.CHARGING, timestamp=now)
    stations.record_status(
        station, 1, OutletStatus.AVAILABLE, timestamp=now - timedelta(minutes=5)
    )
    assert station.outlets[0].status is OutletStatus.CHARGING


def test_the_key_table_is_replaced_by_what_the_station_reports(station):
    stations.store_configuration(
        station,
        [
            stations.ConfigKey("HeartbeatInterval", "300", False),
            stations.ConfigKey("NumberOfConnectors", "2", True),
        ],
    )
    stations.store_configuration(
        station, [stations.ConfigKey("HeartbeatInterval", "60", False)]
    )
    assert [(k.key, k.value) for k in station.config_keys] == [
        ("HeartbeatInterval", "60")
    ]


def test_silence_past_the_threshold_raises_no_network_and_contact_resolves_it(station):
    stations.mark_connected(station)
    station.last_seen_at = utcnow() - timedelta(hours=1)
    assert stations.detect_offline() == [station]
    (alarm,) = _active_alarms()
    assert alarm.kind is AlarmKind.NO_NETWORK and not station.online
    stations.record_heartbeat(station)
    assert _active_alarms() == []


def test_an_online_station_seen_again_writes_last_seen_without_an_alarm_lookup(
    station,
):
    stations.mark_connected(station)
    db.session.commit()
    station.last_seen_at = utcnow() - timedelta(seconds=30)  # past the coalescing
    db.session.commit()
    db.session.refresh(station)
    statements: list[str] = []
    this_thread = threading.get_ident()

    def listen(*args: object) -> None:  # this thread's, not an earlier test's threads
        if threading.get_ident() == this_thread:
            statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert stations.mark_connected(station)
        db.session.flush()  # the unit of work writes it
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert [s.split()[0] for s in statements] == ["UPDATE"]


def test_a_station_that_changes_protocol_gets_its_commands_in_the_new_one(station):
    stations.admit_station(
        "000004082", None, protocol=Protocol.OCPP15_SOAP, address=None
    )
    assert station.protocol is Protocol.OCPP15_SOAP


# -- the handshake's admission (admit_connection): admit_station's decision ----


def _connect(chargebox_id: str, password: str | None = None, protocol=None):
    return stations.admit_connection(
        chargebox_id,
        password,
        protocol=protocol or Protocol.OCPP16_JSON,
        address="127.0.0.1",
    )


def test_a_known_station_connecting_is_admitted_on_one_row_read(station):
    statements: list[str] = []

    def listen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert _connect("000004082") is Admission.ACCEPTED
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert [s.split()[0] for s in statements] == ["SELECT"]


def test_a_pending_station_connecting_is_pending(station):
    station.registration = RegistrationState.PENDING
    db.session.commit()
    assert _connect("000004082") is Admission.PENDING


def test_a_station_connecting_with_a_wrong_password_is_refused_and_logged(station):
    station.auth_password_hash = generate_password_hash("a-long-station-pass")
    db.session.commit()
    assert _connect("000004082", "wrong") is Admission.BAD_PASSWORD
    assert _connect("000004082") is Admission.BAD_PASSWORD
    assert _connect("000004082", "a-long-station-pass") is Admission.ACCEPTED
    db.session.rollback()  # what the refusals wrote was committed
    refused = db.session.scalars(
        select(EventLogEntry).where(EventLogEntry.kind == EventKind.REJECTED)
    ).all()
    assert len(refused) == 2


def test_a_station_connecting_in_the_other_protocol_is_switched_to_it(station):
    assert _connect("000004082", protocol=Protocol.OCPP201_JSON) is Admission.ACCEPTED
    db.session.rollback()
    assert db.session.get(Station, station.id).protocol is Protocol.OCPP201_JSON


def test_an_unknown_station_connecting_is_refused_with_its_alarm(app):
    assert _connect("NOBODY") is Admission.UNKNOWN
    db.session.rollback()
    (alarm,) = _active_alarms()
    assert alarm.node_name == "NOBODY"
