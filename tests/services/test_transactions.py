"""app/services/transactions.py: sessions named by their station (OCPP 2.0.1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    ChargingSession,
    EventLogEntry,
    MeterValue,
    OutletStatus,
    Role,
    utcnow,
)
from app.services import charging, transactions
from app.services.charging import AuthorizationStatus as Auth
from app.services.transactions import Stage, TransactionEvent

T0 = utcnow().replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def station(create_site, create_station):
    return create_station(create_site(), "CS-201", outlets=2)


def energy(at, wh, context=""):
    return charging.MeterSample(sampled_at=at, value=wh, context=context)


def event(stage, seq_no, minutes, *samples, **kwargs):
    return TransactionEvent(
        stage=stage,
        ref="tx-1",
        seq_no=seq_no,
        at=T0 + timedelta(minutes=minutes),
        samples=tuple(samples),
        **kwargs,
    )


def run(station, *events_):
    results = [transactions.record_transaction_event(station, e) for e in events_]
    db.session.commit()
    return results


def test_a_started_event_starts_a_session_named_by_the_station(station, create_user):
    create_user(Role.EV_USER, tag="3054198966")
    (result,) = run(
        station,
        event(
            Stage.STARTED,
            0,
            0,
            energy(T0, 1000, "Transaction.Begin"),
            outlet_number=2,
            tag_text="3054198966",
        ),
    )
    session = db.session.get(ChargingSession, result.session_id)
    assert (session.transaction_ref, session.outlet_number) == ("tx-1", 2)
    assert (session.started_at, session.meter_start_kwh) == (T0, 1.0)
    assert session.user is not None and result.authorization.status is Auth.ACCEPTED


def test_the_ended_event_stops_it_with_the_end_reading(station):
    started, ended = run(
        station,
        event(Stage.STARTED, 0, 0, energy(T0, 1000, "Transaction.Begin")),
        event(
            Stage.ENDED,
            1,
            30,
            energy(T0 + timedelta(minutes=30), 8500, "Transaction.End"),
            stop_reason="EVDisconnected",
        ),
    )
    session = db.session.get(ChargingSession, started.session_id)
    assert ended.session_id == started.session_id
    assert (session.energy_kwh, session.stop_reason) == (7.5, "EVDisconnected")
    assert session.ended_at == T0 + timedelta(minutes=30)


def test_a_repeated_event_changes_nothing_twice(station):
    start = event(Stage.STARTED, 0, 0, energy(T0, 1000, "Transaction.Begin"))
    update = event(Stage.UPDATED, 1, 5, energy(T0 + timedelta(minutes=5), 2000))
    run(station, start, update, start, update)
    assert db.session.scalar(select(func.count(ChargingSession.id))) == 1
    assert db.session.scalar(select(func.count(MeterValue.id))) == 2


def test_a_lost_started_event_is_not_waited_for(station):
    (result,) = run(
        station,
        event(
            Stage.ENDED,
            3,
            40,
            energy(T0 + timedelta(minutes=2), 500, "Transaction.Begin"),
            energy(T0 + timedelta(minutes=40), 4500, "Transaction.End"),
        ),
    )
    session = db.session.get(ChargingSession, result.session_id)
    assert session.started_at == T0 + timedelta(minutes=2)
    assert (session.energy_kwh, session.ended_at) == (4.0, T0 + timedelta(minutes=40))


def test_a_start_without_a_reading_takes_the_first_one_that_comes(station):
    started, _ = run(
        station,
        event(Stage.STARTED, 0, 0),
        event(Stage.UPDATED, 1, 5, energy(T0 + timedelta(minutes=5), 3000)),
    )
    run(station, event(Stage.ENDED, 2, 20, energy(T0 + timedelta(minutes=20), 5000)))
    session = db.session.get(ChargingSession, started.session_id)
    assert (session.meter_start_kwh, session.energy_kwh) == (3.0, 2.0)


def test_a_tag_shown_after_the_start_is_the_sessions(station, create_user):
    owner = create_user(Role.EV_USER, tag="1001")
    started, authorised = run(
        station,
        event(Stage.STARTED, 0, 0, energy(T0, 0, "Transaction.Begin")),
        event(Stage.UPDATED, 1, 1, tag_text="1001"),
    )
    session = db.session.get(ChargingSession, started.session_id)
    assert started.authorization is None
    assert authorised.authorization.status is Auth.ACCEPTED
    assert (session.tag, session.user_id) == ("1001", owner.id)


def test_a_gap_in_the_sequence_is_logged(station):
    run(
        station,
        event(Stage.STARTED, 0, 0),
        event(Stage.UPDATED, 4, 5),
    )
    messages = db.session.scalars(select(EventLogEntry.message)).all()
    assert any("transaction events 1-3 missing" in m for m in messages)


def test_a_late_event_gives_its_samples_but_not_its_state(station):
    run(
        station,
        event(Stage.STARTED, 0, 0, outlet_number=1),
        event(Stage.UPDATED, 2, 10, outlet_status=OutletStatus.SUSPENDED),
        event(
            Stage.UPDATED,
            1,
            5,
            energy(T0 + timedelta(minutes=5), 700),
            outlet_status=OutletStatus.CHARGING,
        ),
    )
    db.session.refresh(station)
    assert station.outlets[0].status is OutletStatus.SUSPENDED
    assert db.session.scalar(select(func.count(MeterValue.id))) == 1
