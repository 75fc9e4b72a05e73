"""Schedule and load management with simulated OCPP 1.6 stations (spec §6b, issue 7)."""

from __future__ import annotations

import time as clock
from datetime import UTC, datetime, time

import pytest
from ocpp.v16 import call

from app.extensions import db
from app.models import (
    ALL_DAYS,
    WEEKDAYS,
    AccessRule,
    Role,
    RuleKind,
    WindowAction,
)
from app.services import background, load_management, schedule
from app.services.nodes import NodeKind, NodeRef
from tests.ocpp_server.v16.conftest import eventually

MONDAY_08 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
MONDAY_20 = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
TX_DEFAULT_1 = schedule.OUTLET_DEFAULT_PROFILE_ID + 1


def wait_for(check, timeout=5.0):
    """Poll until check() is truthy (the portal pushes from background threads)."""
    deadline = clock.monotonic() + timeout
    while True:
        result = check()
        if result or clock.monotonic() > deadline:
            return result
        clock.sleep(0.05)


@pytest.fixture
def admin(create_user):
    return create_user(Role.ADMIN)


@pytest.fixture
def site_station(create_site, create_station):
    """A station with three OPEN outlets on the site Garage."""
    return create_station(
        create_site("Garage"), "CP-3", outlets=3, access=AccessRule.OPEN
    )


def _site(station):
    return NodeRef(NodeKind.SITE, station.site_id)


def _rule(admin, ref, data):
    schedule.add_rule(admin, ref, data)
    db.session.commit()


def _start(runner, connector, tag="ANY"):
    answer = runner.call(
        call.StartTransaction(
            connector_id=connector,
            id_tag=tag,
            meter_start=0,
            timestamp=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        )
    )
    return answer


def _stop(runner, transaction_id):
    runner.call(
        call.StopTransaction(
            transaction_id=transaction_id,
            meter_stop=1000,
            timestamp=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        )
    )


def _tx_limit(runner, connector):
    profile = runner.cp.profile(connector, schedule.ALLOCATION_PROFILE_ID + connector)
    if profile is None:
        return None
    # The library reads JSON numbers as Decimal.
    return float(profile["charging_schedule"]["charging_schedule_period"][0]["limit"])


def _limits(runner, connectors):
    return [_tx_limit(runner, c) for c in connectors]


def test_a_window_refuses_a_start_outside_it_and_accepts_inside(
    connect, site_station, admin, monkeypatch
):
    window = schedule.RuleInput(
        RuleKind.WINDOW, days=WEEKDAYS, start=time(7), end=time(18)
    )
    _rule(admin, _site(site_station), window)
    with connect(site_station.chargebox_id) as runner:
        monkeypatch.setattr(schedule.rules, "utcnow", lambda: MONDAY_20)
        refused = runner.call(call.Authorize(id_tag="ANY"))
        assert refused.id_tag_info["status"] == "Blocked"
        assert _start(runner, 1).id_tag_info["status"] == "Blocked"
        monkeypatch.setattr(schedule.rules, "utcnow", lambda: MONDAY_08)
        assert runner.call(call.Authorize(id_tag="ANY")).id_tag_info["status"] == (
            "Accepted"
        )
        assert _start(runner, 2).id_tag_info["status"] == "Accepted"


def test_a_cap_produces_the_expected_profile_on_the_station(
    connect, site_station, admin
):
    with connect(site_station.chargebox_id) as runner:
        eventually(lambda: db.session.get(type(site_station), site_station.id).online)
        cap = schedule.RuleInput(
            RuleKind.CAP, days=WEEKDAYS, start=time(7), end=time(10), limit_a=16.0
        )
        _rule(admin, _site(site_station), cap)
        assert wait_for(lambda: len(runner.cp.profiles) == 3), runner.cp.names()
        profile = runner.cp.profile(1, TX_DEFAULT_1)
        assert profile["charging_profile_purpose"] == "TxDefaultProfile"
        assert profile["charging_profile_kind"] == "Recurring"
        assert profile["recurrency_kind"] == "Weekly"
        assert profile["stack_level"] == schedule.STACK_LEVEL
        periods = profile["charging_schedule"]["charging_schedule_period"]
        assert {"start_period": 7 * 3600, "limit": 16.0} in periods
        assert {"start_period": 10 * 3600, "limit": 63.0} in periods
        assert {(c, i) for c, i in runner.cp.profiles} == {
            (1, TX_DEFAULT_1),
            (2, TX_DEFAULT_1 + 1),
            (3, TX_DEFAULT_1 + 2),
        }


def test_three_outlets_share_a_32_a_site_as_sessions_start_and_stop(
    connect, site_station, admin
):
    schedule.set_capacity(admin, _site(site_station), 32.0)
    db.session.commit()
    with connect(site_station.chargebox_id) as runner:
        eventually(lambda: db.session.get(type(site_station), site_station.id).online)
        background.wait_idle()
        first = _start(runner, 1).transaction_id
        assert wait_for(lambda: _limits(runner, [1]) == [32.0]), _limits(runner, [1])
        _start(runner, 2)
        assert wait_for(lambda: _limits(runner, [1, 2]) == [16.0, 16.0])
        _start(runner, 3)
        # 32/3 = 10.67 A each; OCPP carries one decimal, rounded down: 10.6 A.
        assert wait_for(lambda: _limits(runner, [1, 2, 3]) == [10.6, 10.6, 10.6])
        background.wait_idle()
        db.session.rollback()
        stored = load_management.allocations(o.id for o in site_station.outlets)
        assert [round(v[0], 2) for v in stored.values()] == [10.67, 10.67, 10.67]
        _stop(runner, first)
        assert wait_for(lambda: _limits(runner, [2, 3]) == [16.0, 16.0])


def test_a_newcomer_waits_at_0_a_until_another_session_stops(
    connect, site_station, admin
):
    schedule.set_capacity(admin, _site(site_station), 16.0)
    db.session.commit()
    with connect(site_station.chargebox_id) as runner:
        eventually(lambda: db.session.get(type(site_station), site_station.id).online)
        background.wait_idle()
        first = _start(runner, 1).transaction_id
        _start(runner, 2)
        assert wait_for(lambda: _limits(runner, [1, 2]) == [8.0, 8.0])
        _start(runner, 3)
        assert wait_for(lambda: _tx_limit(runner, 3) == 0.0), _limits(runner, [1, 2, 3])
        assert _limits(runner, [1, 2]) == [8.0, 8.0]
        _stop(runner, first)
        assert wait_for(lambda: _limits(runner, [2, 3]) == [8.0, 8.0])


def test_a_reconnecting_station_gets_its_profiles_again(connect, site_station, admin):
    cap = schedule.RuleInput(
        RuleKind.CAP, days=ALL_DAYS, start=time(0), end=time(0), limit_a=20.0
    )
    _rule(admin, _site(site_station), cap)
    background.wait_idle()
    with connect(site_station.chargebox_id) as runner:
        assert wait_for(lambda: runner.cp.profile(1, TX_DEFAULT_1))
    background.wait_idle()
    eventually(lambda: not db.session.get(type(site_station), site_station.id).online)
    with connect(site_station.chargebox_id) as again:
        profile = wait_for(lambda: again.cp.profile(1, TX_DEFAULT_1))
        assert profile is not None
        assert profile["charging_schedule"]["charging_schedule_period"] == [
            {"start_period": 0, "limit": 20.0}
        ]
        assert again.cp.composite_limit(1) == 20.0


def test_of_stations_connecting_together_only_those_a_rule_reaches_get_profiles(
    connect, site_station, create_site, create_station, admin
):
    other = create_station(create_site("Depot"), "CP-9", access=AccessRule.OPEN)
    cap = schedule.RuleInput(
        RuleKind.CAP, days=ALL_DAYS, start=time(0), end=time(0), limit_a=20.0
    )
    _rule(admin, _site(site_station), cap)
    background.wait_idle()
    with (
        connect(site_station.chargebox_id) as ruled,
        connect(other.chargebox_id) as free,
    ):
        assert wait_for(lambda: ruled.cp.profile(1, TX_DEFAULT_1))
        background.wait_idle()
        assert "SetChargingProfile" not in free.cp.names()


def test_the_schedule_job_re_sends_profiles_the_station_lost(
    connect, site_station, admin
):
    cap = schedule.RuleInput(
        RuleKind.CAP, days=ALL_DAYS, start=time(0), end=time(0), limit_a=20.0
    )
    with connect(site_station.chargebox_id) as runner:
        eventually(lambda: db.session.get(type(site_station), site_station.id).online)
        _rule(admin, _site(site_station), cap)
        assert wait_for(lambda: runner.cp.profile(1, TX_DEFAULT_1))
        background.wait_idle()
        runner.cp.profiles.clear()  # as after a factory reset
        summary = load_management.apply_schedule()
        db.session.commit()
        assert summary["stations_resent"] == 1
        assert "GetCompositeSchedule" in runner.cp.names()
        assert runner.cp.composite_limit(1) == 20.0
        checks = runner.cp.names().count("GetCompositeSchedule")
        assert load_management.apply_schedule()["stations_resent"] == 0
        assert runner.cp.names().count("GetCompositeSchedule") > checks


def test_the_schedule_job_makes_an_outlet_unavailable_outside_its_window(
    connect, site_station, admin, monkeypatch
):
    window = schedule.RuleInput(
        RuleKind.WINDOW,
        days=WEEKDAYS,
        start=time(7),
        end=time(18),
        action=WindowAction.UNAVAILABLE,
    )
    with connect(site_station.chargebox_id) as runner:
        eventually(lambda: db.session.get(type(site_station), site_station.id).online)
        monkeypatch.setattr(schedule.rules, "utcnow", lambda: MONDAY_08)
        _rule(admin, NodeRef(NodeKind.OUTLET, site_station.outlets[0].id), window)
        background.wait_idle()
        assert "ChangeAvailability" not in runner.cp.names()
        monkeypatch.setattr(schedule.rules, "utcnow", lambda: MONDAY_20)
        load_management.apply_schedule()
        availability = [p for n, p in runner.received if n == "ChangeAvailability"]
        assert availability == [{"connector_id": 1, "type": "Inoperative"}]
        monkeypatch.setattr(schedule.rules, "utcnow", lambda: MONDAY_08)
        load_management.apply_schedule()
        availability = [p for n, p in runner.received if n == "ChangeAvailability"]
        assert availability[-1] == {"connector_id": 1, "type": "Operative"}
