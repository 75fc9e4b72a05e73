"""app/services/stations.py: last seen coalesced, alarms looked up only when one can exist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import Alarm, AlarmKind, AlarmState, OutletStatus, utcnow
from app.services import alarms, stations


@pytest.fixture
def station(create_site, create_station):
    return create_station(create_site(), "000004082", outlets=2)


def _statements(run) -> list[str]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return seen


def test_a_station_seen_moments_ago_is_not_written_again(station):
    assert stations.mark_connected(station)
    db.session.commit()
    first = station.last_seen_at
    assert not stations.mark_connected(station)
    assert station.last_seen_at == first and not db.session.dirty


def test_last_seen_is_written_again_once_the_resolution_has_passed(station):
    stations.mark_connected(station)
    station.last_seen_at = utcnow() - stations.LAST_SEEN_RESOLUTION
    assert stations.mark_connected(station)
    assert utcnow() - station.last_seen_at < timedelta(seconds=5)


def test_a_station_marked_offline_is_written_at_once(station):
    stations.mark_connected(station)
    stations.mark_disconnected(station)
    assert stations.mark_connected(station) and station.online


def test_the_resolution_stays_far_below_the_smallest_offline_threshold():
    assert timedelta(seconds=60) >= 4 * stations.LAST_SEEN_RESOLUTION


def test_a_report_after_a_healthy_one_does_not_look_for_alarms(station):
    stations.record_status(station, 1, OutletStatus.AVAILABLE)
    db.session.commit()
    statements = _statements(
        lambda: stations.record_status(station, 1, OutletStatus.CHARGING)
    )
    assert not [s for s in statements if "FROM alarm" in s]


def test_faulted_without_an_error_code_is_resolved_by_the_next_healthy_report(
    station,
):
    stations.record_status(
        station, 1, OutletStatus.FAULTED, fault=AlarmKind.HARDWARE_FAILURE
    )
    stations.record_status(station, 1, OutletStatus.AVAILABLE)
    alarm = db.session.scalars(select(Alarm)).one()
    assert alarm.state is AlarmState.RESOLVED


def test_an_error_code_without_a_fault_is_looked_at_by_the_next_report(station):
    stations.record_status(
        station, 1, OutletStatus.FAULTED, fault=AlarmKind.TEMPERATURE
    )
    stations.record_status(
        station, 1, OutletStatus.CHARGING, error_code="EVCommunicationError"
    )
    alarm = db.session.scalars(select(Alarm)).one()
    assert alarm.state is AlarmState.RESOLVED


def test_every_fault_after_a_healthy_spell_is_resolved_again(station):
    for _ in range(2):
        stations.record_status(
            station, 2, OutletStatus.FAULTED, fault=AlarmKind.GROUND_FAILURE,
            error_code="GroundFailure",
        )  # fmt: skip
        stations.record_status(station, 2, OutletStatus.AVAILABLE)
        stations.record_status(station, 2, OutletStatus.PREPARING)
    states = db.session.scalars(select(Alarm.state)).all()
    assert states == [AlarmState.RESOLVED, AlarmState.RESOLVED]


def test_a_station_level_fault_is_resolved_by_a_healthy_station_report(station):
    stations.record_status(
        station, 0, OutletStatus.FAULTED, fault=AlarmKind.INTERNAL_ERROR
    )
    stations.record_status(station, 0, OutletStatus.AVAILABLE)
    alarm = db.session.scalars(select(Alarm)).one()
    assert alarm.state is AlarmState.RESOLVED


def test_an_alarm_resolved_but_not_yet_written_is_not_resolved_again(station):
    alarm = alarms.raise_alarm(AlarmKind.NO_NETWORK, station=station)
    resolved = alarms.resolve_alarms(station=station, kinds=(AlarmKind.NO_NETWORK,))
    assert resolved == [alarm] and alarm in db.session.dirty  # not flushed
    assert alarms.resolve_alarms(station=station) == []
