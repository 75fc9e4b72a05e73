"""app/services/charging.py: who may charge, and what a session records (spec §6, §9)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import AccessRule, ChargingSession, MeterValue, Role, utcnow
from app.services import accounts, charging
from app.services.charging import AuthorizationStatus as Auth


@pytest.fixture
def station(create_site, create_station):
    return create_station(create_site(), "000003586", outlets=2)


@pytest.fixture
def open_station(create_site, create_station):
    return create_station(create_site("Open site"), "OPEN-1", access=AccessRule.OPEN)


def test_a_known_tag_is_accepted_on_an_rfid_outlet(station, create_user):
    create_user(Role.EV_USER, tag="1001")
    assert charging.authorize(station, "1001", 1).status is Auth.ACCEPTED


def test_an_unknown_tag_is_invalid_on_an_rfid_outlet(station):
    assert charging.authorize(station, "999", 1).status is Auth.INVALID


def test_a_blocked_tag_is_blocked(station, create_user):
    user = create_user(Role.EV_USER, tag="1001")
    user.tags[0].blocked = True
    assert charging.authorize(station, "1001", 1).status is Auth.BLOCKED


def test_an_expired_tag_is_expired(station, create_user):
    user = create_user(Role.EV_USER, tag="1001")
    user.tags[0].expires_at = utcnow() - timedelta(days=1)
    assert charging.authorize(station, "1001", 1).status is Auth.EXPIRED


def test_a_blocked_parent_tag_blocks_its_children(station, create_user):
    parent_owner = create_user(Role.EV_USER, tag="500")
    child_owner = create_user(Role.EV_USER)
    accounts.add_tag(None, child_owner, "501", parent="500")
    parent_owner.tags[0].blocked = True
    result = charging.authorize(station, "501", 1)
    assert result.status is Auth.BLOCKED


def test_the_parent_tag_is_reported_with_an_accepted_child(station, create_user):
    create_user(Role.EV_USER, tag="500")
    accounts.add_tag(None, create_user(Role.EV_USER), "501", parent="500")
    assert charging.authorize(station, "501", 1).parent_tag == "500"


def test_an_open_outlet_accepts_anyone(open_station):
    assert charging.authorize(open_station, "unknown-card", 1).status is Auth.ACCEPTED


def test_a_full_session_records_energy_and_the_user(station, create_user):
    user = create_user(Role.EV_USER, "anna@example.com", tag="1001")
    start = utcnow() - timedelta(hours=2)
    started = charging.start_session(station, 1, "1001", 12_000, start)
    assert started.authorization.status is Auth.ACCEPTED
    session = started.session
    charging.record_meter_values(
        station,
        1,
        [charging.MeterSample(start + timedelta(hours=1), 15_500)],
        session.id,
    )
    assert session.energy_kwh == pytest.approx(3.5)
    charging.stop_session(
        station, session.id, 19_250, start + timedelta(hours=2), reason="Local"
    )
    assert (session.energy_kwh, session.meter_kwh) == (
        pytest.approx(7.25),
        pytest.approx(19.25),
    )
    assert (session.user_id, session.authentication, session.stop_reason) == (
        user.id,
        1,
        "Local",
    )
    assert session.duration_seconds == 7200


def test_anonymous_charging_on_an_open_outlet_has_authentication_zero(open_station):
    session = charging.start_session(open_station, 1, "", 0, utcnow()).session
    assert (session.authentication, session.user_id) == (0, None)


def test_a_repeated_start_returns_the_same_session(station):
    start = utcnow()
    first = charging.start_session(station, 1, "x", 100, start).session
    again = charging.start_session(station, 1, "x", 100, start).session
    assert first.id == again.id
    assert db.session.scalar(select(func.count(ChargingSession.id))) == 1


def test_a_repeated_stop_changes_nothing(station):
    start = utcnow() - timedelta(hours=1)
    session = charging.start_session(station, 1, "x", 1000, start).session
    charging.stop_session(station, session.id, 5000, start + timedelta(minutes=30))
    charging.stop_session(station, session.id, 9000, start + timedelta(minutes=50))
    assert session.energy_kwh == pytest.approx(4.0)


def test_a_stop_for_an_unknown_session_is_logged_not_failed(station):
    assert charging.stop_session(station, 424242, 1000, utcnow()).session is None


def test_every_meter_sample_is_stored(station):
    session = charging.start_session(station, 1, "x", 0, utcnow()).session
    samples = [
        charging.MeterSample(utcnow(), 1200, measurand="Power.Active.Import", unit="W"),
        charging.MeterSample(utcnow(), 2.5, unit="kWh"),
    ]
    charging.record_meter_values(station, 1, samples, session.id)
    assert db.session.scalar(select(func.count(MeterValue.id))) == 2
    assert session.energy_kwh == pytest.approx(2.5)


def test_a_meter_values_repeated_before_the_first_is_written_is_stored_once(station):
    """A retry can reach the same unit of work as the original (both queued in one
    batch): the repeat check also looks at the samples not yet flushed."""
    session = charging.start_session(station, 1, "x", 0, utcnow()).session
    samples = [charging.MeterSample(utcnow(), 2.5, unit="kWh")]
    charging.record_meter_values(station, 1, samples, session.id)
    charging.record_meter_values(station, 1, samples, session.id)
    db.session.commit()
    assert db.session.scalar(select(func.count(MeterValue.id))) == 1


def test_a_session_on_an_unconfigured_outlet_adds_the_outlet(station):
    session = charging.start_session(station, 3, "x", 0, utcnow()).session
    assert session.outlet_number == 3
    assert sorted(o.number for o in station.outlets) == [1, 2, 3]


def _repeat_lookups(work: Any) -> list[tuple[str, Any]]:
    """The statements that look among stored meter values while `work` runs."""
    lookups: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if (
            statement.lstrip().upper().startswith("SELECT")
            and "meter_value" in statement
        ):
            lookups.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return lookups


def test_samples_newer_than_every_stored_one_are_stored_without_a_repeat_lookup(
    station,
):
    """A station reports in time order: its next samples cannot repeat a stored
    one, so no statement looks for them (the outlet keeps its newest sample time)."""
    session = charging.start_session(station, 1, "x", 0, utcnow()).session
    first = utcnow()
    charging.record_meter_values(
        station, 1, [charging.MeterSample(first, 1.0, unit="kWh")], session.id
    )
    db.session.commit()
    later = [charging.MeterSample(first + timedelta(minutes=1), 2.0, unit="kWh")]
    lookups = _repeat_lookups(
        lambda: charging.record_meter_values(station, 1, later, session.id)
    )
    db.session.commit()
    assert lookups == []
    assert db.session.scalar(select(func.count(MeterValue.id))) == 2
    assert station.outlets[0].newest_sample_at == first + timedelta(minutes=1)


def test_a_late_retry_of_an_older_sample_is_still_stored_once(station):
    """A retry that arrives after newer samples has the time of a stored one: it
    is looked for, found and not stored again; a late sample never stored is."""
    session = charging.start_session(station, 1, "x", 0, utcnow()).session
    t0 = utcnow()
    t1, t2 = t0 + timedelta(minutes=1), t0 + timedelta(minutes=2)
    for at, kwh in ((t0, 1.0), (t2, 3.0)):
        charging.record_meter_values(
            station, 1, [charging.MeterSample(at, kwh, unit="kWh")], session.id
        )
        db.session.commit()
    retry = [charging.MeterSample(t0, 1.0, unit="kWh")]
    late = [charging.MeterSample(t1, 2.0, unit="kWh")]
    lookups = _repeat_lookups(
        lambda: charging.record_meter_values(station, 1, retry, session.id)
    )
    charging.record_meter_values(station, 1, late, session.id)
    db.session.commit()
    assert len(lookups) == 1
    stored = db.session.scalars(select(MeterValue.value).order_by(MeterValue.value))
    assert list(stored) == [1.0, 2.0, 3.0]
    assert station.outlets[0].newest_sample_at == t2
    assert session.energy_kwh == pytest.approx(3.0)


def test_looking_for_repeated_samples_reads_the_index_not_the_outlets_history(station):
    """A MeterValues that may repeat stored samples looks for them among the
    outlet's stored ones: by (outlet, time) in the index, so its cost does not grow
    with the outlet's past (bench: `python -m bench.ocpp_profile --history 5000`)."""
    at = utcnow()
    charging.record_meter_values(station, 1, [charging.MeterSample(at, 2.5)])
    lookups = _repeat_lookups(
        lambda: charging.record_meter_values(
            station, 1, [charging.MeterSample(at, 2.5)]
        )
    )
    engine = db.engine
    assert len(lookups) == 1
    statement, parameters = lookups[0]
    connection = db.session.connection()
    raw = connection.connection.dbapi_connection
    cursor = raw.cursor()  # type: ignore[union-attr]
    if engine.dialect.name == "sqlite":
        cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        plan = " ".join(str(row) for row in cursor.fetchall())
        assert "ix_meter_value_outlet_sampled (outlet_id=? AND sampled_at=?)" in plan
    else:  # PostgreSQL: would the planner use the index at all (tables are tiny here)
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, parameters)
        plan = " ".join(row[0] for row in cursor.fetchall())
        assert "ix_meter_value_outlet_sampled" in plan
        assert "sampled_at" in plan.split("Index Cond:", 1)[1]
