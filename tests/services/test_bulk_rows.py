"""app/services/bulk_rows.py: the hot rows of station messages, written in bulk."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import EventLogEntry, MeterValue, OutletStatus, utcnow
from app.services import charging, stations


@pytest.fixture
def station(create_site, create_station):
    """A station online (its "connected" entry is logged and committed)."""
    station = create_station(create_site(), "000004082", outlets=2)
    stations.mark_connected(station)
    db.session.commit()
    return station


def _inserts(run) -> list[tuple[str, int]]:
    """The INSERT statements `run` sends, with how many rows each carries."""
    seen: list[tuple[str, int]] = []

    def count(_conn, _cursor, statement, parameters, _context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            seen.append((statement, len(parameters) if executemany else 1))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return seen


def _events() -> int:
    """Entries beside the station's "connected" one."""
    return db.session.scalar(select(func.count()).select_from(EventLogEntry)) - 1


def test_status_reports_of_a_unit_of_work_are_logged_in_one_statement(station):
    def report() -> None:
        for status in (OutletStatus.PREPARING, OutletStatus.CHARGING):
            for number in (1, 2):
                stations.record_status(station, number, status)
        db.session.commit()

    event_inserts = [
        rows for sql, rows in _inserts(report) if "event_log" in sql.lower()
    ]
    assert event_inserts == [4]
    assert _events() == 4


def test_a_query_in_the_unit_of_work_reads_the_queued_entries(station):
    stations.record_status(station, 1, OutletStatus.CHARGING)
    assert _events() == 1  # written before the query ran, not yet committed
    db.session.rollback()
    assert _events() == 0


def test_a_rollback_drops_what_was_queued(station):
    stations.record_status(station, 1, OutletStatus.CHARGING)
    db.session.rollback()
    db.session.commit()
    assert _events() == 0


def test_a_closed_session_drops_what_was_queued(station):
    stations.record_status(station, 1, OutletStatus.CHARGING)
    db.session.close()
    db.session.commit()
    assert _events() == 0


def test_meter_values_of_a_message_are_one_statement(station):
    start = utcnow()
    samples = [
        charging.MeterSample(start + timedelta(minutes=i), 1000.0 * i) for i in range(5)
    ]

    def store() -> None:
        charging.record_meter_values(station, 1, samples)
        db.session.commit()

    value_inserts = [
        rows for sql, rows in _inserts(store) if "meter_value" in sql.lower()
    ]
    assert value_inserts == [5]


def test_a_repeated_meter_value_in_the_same_unit_of_work_is_stored_once(station):
    sample = charging.MeterSample(utcnow(), 1500.0)
    charging.record_meter_values(station, 1, [sample])
    charging.record_meter_values(station, 1, [sample])  # a retry, not yet committed
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(MeterValue)) == 1
