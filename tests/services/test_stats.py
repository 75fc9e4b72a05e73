"""app/services/stats/: chart data aggregated in SQL, per node and role (spec §5, §6)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.models import Role
from app.services import stats
from app.services.errors import InvalidInput, NotFound
from app.services.nodes import SYSTEM, NodeKind, NodeRef
from tests.services.session_factory import add_meter_values, add_session

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def at(text: str) -> datetime:
    """A UTC moment written "2026-03-02 08:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def place(create_site, create_floor, create_station, create_user):
    """Solna (a floor with a 2-outlet station, and a station on no floor) and Kista."""
    solna, kista = create_site("Solna"), create_site("Kista")
    floor = create_floor(solna, "Plan 1")
    return {
        "solna": solna,
        "kista": kista,
        "floor": floor,
        "s1": create_station(solna, "SOLNA-1", floor=floor, outlets=2),
        "s2": create_station(solna, "SOLNA-2"),
        "k1": create_station(kista, "KISTA-1"),
        "admin": create_user(Role.ADMIN),
        "driver": create_user(Role.EV_USER, tag="42"),
    }


def chart(place, kind, first, last, node=SYSTEM, user=None):
    period = stats.Period.of_days(first, last, STOCKHOLM)
    return stats.chart_data(user or place["admin"], node, kind, period)


def series(data):
    return dict(zip(data.labels, data.series[0].values, strict=True))


def test_energy_per_day_counts_each_local_day(place):
    add_session(place["s1"], at("2026-03-02 08:00"), energy=10)
    add_session(place["s1"], at("2026-03-02 22:30"), energy=5)  # 23:30 in Stockholm
    add_session(place["s2"], at("2026-03-02 23:30"), energy=7)  # 00:30 the next day
    data = chart(place, stats.Chart.ENERGY_DAY, date(2026, 3, 1), date(2026, 3, 4))
    assert data.axis == "time"
    assert series(data) == {
        "2026-03-01": 0,
        "2026-03-02": 15,
        "2026-03-03": 7,
        "2026-03-04": 0,
    }


def test_days_after_the_change_to_summer_time_are_counted_in_summer_time(place):
    add_session(place["s1"], at("2026-03-28 23:30"), energy=1)  # 00:30 CET, 29 March
    add_session(place["s1"], at("2026-03-29 22:30"), energy=2)  # 00:30 CEST, 30 March
    data = chart(place, stats.Chart.ENERGY_DAY, date(2026, 3, 28), date(2026, 3, 30))
    assert series(data) == {"2026-03-28": 0, "2026-03-29": 1, "2026-03-30": 2}


def test_energy_per_week_starts_on_monday(place):
    add_session(place["s1"], at("2026-03-08 12:00"), energy=3)  # a Sunday
    add_session(place["s1"], at("2026-03-09 12:00"), energy=4)  # the Monday after
    data = chart(place, stats.Chart.ENERGY_WEEK, date(2026, 3, 4), date(2026, 3, 12))
    assert series(data) == {"2026-03-02": 3, "2026-03-09": 4}


def test_energy_per_month(place):
    add_session(place["s1"], at("2026-01-31 12:00"), energy=3)
    add_session(place["s1"], at("2026-02-01 12:00"), energy=4)
    add_session(place["s1"], at("2026-02-27 12:00"), energy=5)
    data = chart(place, stats.Chart.ENERGY_MONTH, date(2026, 1, 15), date(2026, 3, 1))
    assert series(data) == {"2026-01-01": 3, "2026-02-01": 9, "2026-03-01": 0}


def test_sessions_per_day(place):
    for hour in (8, 9, 10):
        add_session(place["s1"], at(f"2026-03-02 {hour:02d}:00"))
    data = chart(place, stats.Chart.SESSIONS_DAY, date(2026, 3, 2), date(2026, 3, 3))
    assert series(data) == {"2026-03-02": 3, "2026-03-03": 0}


def test_sessions_by_hour_of_day_in_local_hours(place):
    add_session(place["s1"], at("2026-03-02 08:10"))  # 09:10 in Stockholm
    add_session(place["s1"], at("2026-03-03 08:50"))
    add_session(place["s1"], at("2026-03-03 17:00"))
    data = chart(place, stats.Chart.HOURS, date(2026, 3, 1), date(2026, 3, 5))
    counts = series(data)
    assert data.axis == "category" and len(counts) == 24
    assert counts["09"] == 2 and counts["18"] == 1 and sum(counts.values()) == 3


def test_top_stations_by_energy_highest_first(place):
    add_session(place["s1"], at("2026-03-02 08:00"), energy=5)
    add_session(place["k1"], at("2026-03-02 09:00"), energy=20)
    add_session(place["s2"], at("2026-03-02 10:00"), energy=7)
    add_session(place["s2"], at("2026-03-02 11:00"), energy=7)
    data = chart(place, stats.Chart.TOP_STATIONS, date(2026, 3, 2), date(2026, 3, 2))
    assert data.labels == ["KISTA-1", "SOLNA-2", "SOLNA-1"]
    assert data.series[0].values == [20, 14, 5]


def test_utilisation_is_the_share_of_the_period_each_outlet_charged(place):
    # One day in Stockholm: 2026-03-02 00:00 CET = 2026-03-01 23:00 UTC.
    add_session(place["s2"], at("2026-03-02 05:00"), minutes=12 * 60)  # half the day
    # Started 6 h before the period: only the 6 h inside count, over 2 outlets.
    add_session(place["s1"], at("2026-03-01 17:00"), minutes=12 * 60)
    add_session(place["k1"], at("2026-03-01 12:00"), minutes=60)  # before the period
    data = chart(place, stats.Chart.UTILISATION, date(2026, 3, 2), date(2026, 3, 2))
    assert data.labels == ["SOLNA-2", "SOLNA-1"]
    assert data.series[0].values == [50.0, 12.5]
    assert data.series[0].unit == "%"


def test_a_session_still_charging_counts_until_the_end_of_the_period(place):
    add_session(place["s2"], at("2026-03-02 17:00"), minutes=None)
    data = chart(place, stats.Chart.UTILISATION, date(2026, 3, 2), date(2026, 3, 2))
    assert data.series[0].values == [25.0]


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ("system", 1 + 2 + 4 + 8),
        ("solna", 1 + 2 + 4),
        ("floor", 1 + 2),
        ("s1", 1 + 2),
        ("outlet", 2),
        ("k1", 8),
    ],
)
def test_charts_cover_only_the_node_selected(place, node, expected):
    add_session(place["s1"], at("2026-03-02 08:00"), energy=1, outlet=1)
    add_session(place["s1"], at("2026-03-02 09:00"), energy=2, outlet=2)
    add_session(place["s2"], at("2026-03-02 10:00"), energy=4)
    add_session(place["k1"], at("2026-03-02 11:00"), energy=8)
    refs = {
        "system": SYSTEM,
        "solna": NodeRef(NodeKind.SITE, place["solna"].id),
        "floor": NodeRef(NodeKind.FLOOR, place["floor"].id),
        "s1": NodeRef(NodeKind.STATION, place["s1"].id),
        "outlet": NodeRef(NodeKind.OUTLET, place["s1"].outlets[1].id),
        "k1": NodeRef(NodeKind.STATION, place["k1"].id),
    }
    data = chart(
        place, stats.Chart.ENERGY_DAY, date(2026, 3, 2), date(2026, 3, 2), refs[node]
    )
    assert data.series[0].values == [expected]


def test_a_site_administrators_charts_hold_only_its_sites(place, create_user):
    add_session(place["s1"], at("2026-03-02 08:00"), energy=1)
    add_session(place["k1"], at("2026-03-02 09:00"), energy=8)
    site_admin = create_user(Role.SITE_ADMIN, sites=[place["kista"]])
    for kind in (stats.Chart.ENERGY_DAY, stats.Chart.TOP_STATIONS):
        data = chart(place, kind, date(2026, 3, 2), date(2026, 3, 2), user=site_admin)
        assert data.series[0].values == [8]


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2026, 3, 2), date(2026, 3, 1)), (date(2010, 1, 1), date(2026, 1, 1))],
)
def test_a_period_backwards_or_over_ten_years_is_refused(first, last):
    with pytest.raises(InvalidInput):
        stats.Period.of_days(first, last, STOCKHOLM)


def test_an_ev_users_energy_per_month_counts_only_own_sessions(place, create_user):
    other = create_user(Role.EV_USER)
    now = datetime.now(UTC).replace(hour=10, minute=0)
    add_session(place["s1"], now - timedelta(days=1), energy=3, user=place["driver"])
    add_session(place["s1"], now - timedelta(days=1), energy=50, user=other)
    months = stats.energy_per_month(place["driver"], STOCKHOLM)
    assert [(m.sessions, m.energy_kwh) for m in months] == [(1, 3.0)]
    assert months[0].month == (now - timedelta(days=1)).astimezone(STOCKHOLM).strftime(
        "%Y-%m"
    )


def test_an_ev_user_sees_own_tags(place):
    assert [tag.tag for tag in stats.own_tags(place["driver"])] == ["42"]


def test_a_sessions_detail_holds_its_meter_values_in_time_order(place):
    session = add_session(place["s1"], at("2026-03-02 08:00"), minutes=30)
    add_meter_values(session, [1000, 1500, 2250])
    detail = stats.session_detail(place["admin"], session.id)
    assert [v.value for v in detail.meter_values] == [1000, 1500, 2250]


def test_another_sites_session_is_not_found_for_a_site_administrator(
    place, create_user
):
    session = add_session(place["k1"], at("2026-03-02 08:00"))
    site_admin = create_user(Role.SITE_ADMIN, sites=[place["solna"]])
    with pytest.raises(NotFound):
        stats.session_detail(site_admin, session.id)
    with pytest.raises(NotFound):
        stats.meter_values_of(site_admin, session.id)


def test_node_label_names_the_node_or_the_whole_system(place):
    assert stats.node_label(place["admin"], SYSTEM) == "Whole system"
    ref = NodeRef(NodeKind.SITE, place["kista"].id)
    assert stats.node_label(place["admin"], ref) == "Kista"
