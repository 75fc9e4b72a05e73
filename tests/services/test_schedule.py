"""app/services/schedule/: windows and caps per node, inherited, with their "why"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from app.extensions import db
from app.models import (
    WEEKDAYS,
    AccessRule,
    CapScope,
    Protocol,
    Role,
    RuleKind,
    WindowAction,
)
from app.services import background, charging, commands, schedule
from app.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.services.nodes import NodeKind, NodeRef

# 2026-11-23 is a Monday; the schedule's zone is UTC in the tests.
MONDAY_08 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
MONDAY_20 = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
SATURDAY_08 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture
def admin(create_user):
    return create_user(Role.ADMIN)


@pytest.fixture
def station(create_site, create_station):
    return create_station(
        create_site("Solna"), "CP1", outlets=2, access=AccessRule.OPEN
    )


def ref(node):
    kind = {
        "Site": NodeKind.SITE,
        "Station": NodeKind.STATION,
        "Outlet": NodeKind.OUTLET,
    }
    return NodeRef(kind[type(node).__name__], node.id)


def window(start, end, days=WEEKDAYS, **kw):
    return schedule.RuleInput(
        RuleKind.WINDOW, days=days, start=time(start), end=time(end), **kw
    )


def cap(limit, start=7, end=10, days=WEEKDAYS, **kw):
    return schedule.RuleInput(
        RuleKind.CAP, days=days, start=time(start), end=time(end), limit_a=limit, **kw
    )


def add(admin, node, data):
    rule = schedule.add_rule(admin, ref(node), data)
    db.session.commit()
    background.wait_idle()
    return rule


def test_without_rules_a_start_is_never_refused(station):
    assert schedule.start_refusal(station, 1, MONDAY_20) is None


def test_a_site_window_refuses_outside_and_accepts_inside(admin, station):
    add(admin, station.site, window(7, 18))
    assert schedule.start_refusal(station, 1, MONDAY_08) is None
    refusal = schedule.start_refusal(station, 1, MONDAY_20)
    assert refusal is not None
    assert "Solna" in str(refusal) and "07:00-18:00" in str(refusal)


def test_the_nearest_node_with_windows_decides(admin, station):
    add(admin, station.site, window(7, 18))
    add(admin, station.outlets[1], window(18, 23))
    assert schedule.start_refusal(station, 1, MONDAY_20) is not None
    assert schedule.start_refusal(station, 2, MONDAY_20) is None
    assert schedule.start_refusal(station, 2, MONDAY_08) is not None


def test_a_window_past_midnight_covers_the_early_hours_of_the_next_day(admin, station):
    add(admin, station, window(22, 6, days=0b0000001))  # Monday 22:00 - Tuesday 06:00
    tuesday_03 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    tuesday_23 = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    assert schedule.start_refusal(station, 1, tuesday_03) is None
    assert schedule.start_refusal(station, 1, tuesday_23) is not None


def test_a_date_exception_closes_a_day_of_the_weekly_window(admin, station):
    add(admin, station.site, window(0, 0, days=127))
    closed = schedule.RuleInput(
        RuleKind.WINDOW, days=0, on_date=date(2026, 11, 23), allowed=False
    )
    add(admin, station.site, closed)
    assert schedule.start_refusal(station, 1, MONDAY_08) is not None
    assert schedule.start_refusal(station, 1, SATURDAY_08) is None


def test_authorize_answers_blocked_outside_the_window(admin, station, monkeypatch):
    add(admin, station.site, window(7, 18))
    monkeypatch.setattr(schedule.rules, "utcnow", lambda: MONDAY_20)
    assert charging.authorize(station, "ANY", 1).status is (
        charging.AuthorizationStatus.BLOCKED
    )
    monkeypatch.setattr(schedule.rules, "utcnow", lambda: MONDAY_08)
    assert charging.authorize(station, "ANY", 1).status is (
        charging.AuthorizationStatus.ACCEPTED
    )


def test_a_remote_start_outside_the_window_is_refused_with_the_reason(
    admin, station, monkeypatch
):
    add(admin, station.site, window(7, 18))
    monkeypatch.setattr(schedule.rules, "utcnow", lambda: MONDAY_20)
    with pytest.raises(Conflict, match="outside the charging window of Solna"):
        commands.remote_start(admin, station, "ANY", 1)


def test_a_cap_applies_only_when_in_force_and_says_why(admin, station):
    add(admin, station.site, cap(16))
    outlet = station.outlets[0]
    assert schedule.outlet_cap_now(outlet, MONDAY_08) == 16.0
    assert schedule.outlet_cap_now(outlet, MONDAY_20) is None
    limit = schedule.outlet_limit_now(outlet, now=MONDAY_08)
    assert limit.limit_a == 16.0
    assert any("Solna" in why and "16 A" in why for why in limit.reasons)


def test_a_nearer_cap_in_force_wins_over_the_sites(admin, station):
    add(admin, station.site, cap(16))
    add(admin, station.outlets[0], cap(10, 8, 9))
    nine_thirty = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert schedule.outlet_cap_now(station.outlets[0], MONDAY_08) == 10.0
    assert schedule.outlet_cap_now(station.outlets[0], nine_thirty) == 16.0
    assert schedule.outlet_cap_now(station.outlets[1], MONDAY_08) == 16.0


def test_a_weekday_cap_becomes_a_weekly_tx_default_profile(admin, station):
    add(admin, station.site, cap(16))
    planned = {p.profile_id: p for p in schedule.cap_profiles(station, MONDAY_08)}
    assert planned[schedule.STATION_MAX_PROFILE_ID].profile is None
    profile = planned[schedule.OUTLET_DEFAULT_PROFILE_ID + 1].profile
    assert profile["charging_profile_purpose"] == "TxDefaultProfile"
    assert profile["charging_profile_kind"] == "Recurring"
    assert profile["recurrency_kind"] == "Weekly"
    assert profile["stack_level"] == schedule.STACK_LEVEL
    chart = profile["charging_schedule"]
    assert chart["start_schedule"] == "2026-11-23T00:00:00Z"
    assert chart["duration"] == 7 * 86400
    periods = [
        (p["start_period"], p["limit"]) for p in chart["charging_schedule_period"]
    ]
    assert periods[:3] == [(0, 63.0), (7 * 3600, 16.0), (10 * 3600, 63.0)]
    assert periods[-2:] == [(4 * 86400 + 7 * 3600, 16.0), (4 * 86400 + 10 * 3600, 63.0)]


def test_a_daily_station_cap_becomes_a_daily_charge_point_max_profile(admin, station):
    add(admin, station, cap(20, 17, 20, days=127, cap_scope=CapScope.STATION))
    planned = {p.profile_id: p for p in schedule.cap_profiles(station, MONDAY_08)}
    profile = planned[schedule.STATION_MAX_PROFILE_ID].profile
    assert planned[schedule.STATION_MAX_PROFILE_ID].outlet == 0
    assert profile["charging_profile_purpose"] == "ChargePointMaxProfile"
    assert profile["recurrency_kind"] == "Daily"
    assert profile["charging_schedule"]["charging_schedule_period"] == [
        {"start_period": 0, "limit": 63.0},
        {"start_period": 17 * 3600, "limit": 20.0},
        {"start_period": 20 * 3600, "limit": 63.0},
    ]


def test_the_week_view_lists_what_applies_change_by_change(admin, station):
    add(admin, station.site, window(6, 22, action=WindowAction.UNAVAILABLE))
    add(admin, station.site, cap(16))
    week = schedule.week_view(admin, ref(station.outlets[0]), MONDAY_08)
    monday = [(s.start.hour, s.open, s.cap_a) for s in week[0].segments]
    assert monday == [
        (0, False, None),
        (6, True, None),
        (7, True, 16.0),
        (10, True, None),
        (22, False, None),
    ]
    saturday = [(s.start.hour, s.open, s.cap_a) for s in week[5].segments]
    assert saturday == [(0, False, None)]  # a weekday window: closed all day


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (cap(3), "between 6 and 1000 A"),
        (cap(None), "between 6 and 1000 A"),
        (window(7, 18, days=0), "at least one day"),
    ],
    ids=["cap too low", "cap missing", "no day"],
)
def test_a_bad_rule_is_refused_with_a_message(admin, station, data, message):
    with pytest.raises(InvalidInput, match=message):
        schedule.add_rule(admin, ref(station.site), data)


def test_a_site_administrator_changes_only_their_own_sites(
    create_user, create_site, create_station, station
):
    other = create_site("Elsewhere")
    site_admin = create_user(Role.SITE_ADMIN, sites=[other])
    with pytest.raises(NotFound):
        schedule.add_rule(site_admin, ref(station.site), window(7, 18))
    rule = schedule.add_rule(site_admin, ref(other), window(7, 18))
    assert rule.site_id == other.id


def test_support_may_not_change_a_sites_schedule(create_user, station):
    support = create_user(Role.SUPPORT)
    with pytest.raises(PermissionDenied):
        schedule.add_rule(support, ref(station.site), window(7, 18))
    assert schedule.add_rule(support, ref(station), window(7, 18)).station_id


def test_a_closing_exception_with_hours_closes_only_those_hours(admin, station):
    add(admin, station.site, window(0, 0, days=127))
    lunch = schedule.RuleInput(
        RuleKind.WINDOW,
        days=0,
        on_date=date(2026, 11, 23),
        start=time(12),
        end=time(14),
        allowed=False,
    )
    add(admin, station.site, lunch)
    assert schedule.start_refusal(station, 1, MONDAY_08) is None
    monday_13 = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert schedule.start_refusal(station, 1, monday_13) is not None


def test_a_node_with_only_an_exception_follows_its_parent_on_other_days(admin, station):
    add(admin, station.site, window(7, 18))
    holiday = schedule.RuleInput(
        RuleKind.WINDOW, days=0, on_date=date(2026, 11, 23), allowed=False
    )
    add(admin, station, holiday)
    assert schedule.start_refusal(station, 1, MONDAY_08) is not None
    tuesday_08 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert schedule.start_refusal(station, 1, tuesday_08) is None


def test_an_ocpp_1_5_station_is_closed_by_availability_whatever_the_action(
    admin, create_site, create_station
):
    old = create_station(create_site("Old"), "OLD15", protocol=Protocol.OCPP15_SOAP)
    new = create_station(old.site, "NEW16")
    add(admin, old.site, window(7, 18))  # action: refuse starts
    assert schedule.closed_outlets(old, MONDAY_20) == {1: True}
    assert schedule.closed_outlets(new, MONDAY_20) == {1: False}
    assert schedule.closed_outlets(old, MONDAY_08) == {1: False}
    assert schedule.cap_profiles(new, MONDAY_08)[0].profile is None


def test_a_capacity_below_one_outlets_minimum_is_refused(admin, station):
    with pytest.raises(InvalidInput, match="at least 6 A"):
        schedule.set_capacity(admin, ref(station.site), 4.0)
