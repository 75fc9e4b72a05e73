"""app/services/signals.py: domain events are announced after their work commits."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from app.extensions import db
from app.models import AccessRule, OutletStatus, utcnow
from app.services import background, charging, signals, stations


@pytest.fixture
def station(create_site, create_station):
    return create_station(create_site(), "000003586", outlets=2, access=AccessRule.OPEN)


@contextmanager
def received(signal):
    seen: list[dict] = []

    def receiver(sender, **data):
        seen.append(data)

    signal.connect(receiver)
    try:
        yield seen
    finally:
        signal.disconnect(receiver)


def test_a_started_session_is_announced_only_after_the_commit(station):
    with received(signals.session_started) as seen:
        result = charging.start_session(station, 1, None, 1000, utcnow())
        assert seen == []
        db.session.commit()
    assert seen == [
        {
            "session_id": result.session.id,
            "station_id": station.id,
            "outlet_id": station.outlets[0].id,
            "site_id": station.site_id,
        }
    ]


def test_a_rolled_back_session_is_never_announced(station):
    with received(signals.session_started) as seen:
        charging.start_session(station, 1, None, 1000, utcnow())
        db.session.rollback()
        db.session.commit()
    assert seen == []


def test_a_stopped_session_is_announced_with_its_energy(station):
    session_id = charging.start_session(station, 1, None, 1000, utcnow()).session.id
    db.session.commit()
    with received(signals.session_stopped) as seen:
        charging.stop_session(station, session_id, 3500, utcnow())
        db.session.commit()
    assert [(s["session_id"], s["energy_kwh"]) for s in seen] == [(session_id, 2.5)]


def test_only_a_change_of_outlet_status_is_announced(station):
    with received(signals.outlet_status_changed) as seen:
        stations.record_status(station, 1, OutletStatus.CHARGING)
        db.session.commit()
        stations.record_status(station, 1, OutletStatus.CHARGING)
        db.session.commit()
    assert [s["status"] for s in seen] == [OutletStatus.CHARGING.value]


def test_a_failing_receiver_does_not_undo_the_work(station):
    def broken(sender, **data):
        raise RuntimeError("receiver down")

    signals.session_started.connect(broken)
    try:
        session_id = charging.start_session(station, 1, None, 0, utcnow()).session.id
        db.session.commit()
    finally:
        signals.session_started.disconnect(broken)
    db.session.rollback()
    assert charging.find_session(station, session_id) is not None


def test_background_work_runs_in_its_own_app_context(app, station):
    station_id = station.id

    def chargebox_of(station_id):
        return db.session.get(type(station), station_id).chargebox_id

    future = background.submit(app, chargebox_of, station_id)
    background.wait_idle()
    assert future.result() == "000003586"
