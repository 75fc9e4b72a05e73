"""app/services/load_management/: sharing a site's capacity between outlets."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import delete

from app.extensions import db
from app.models import AccessRule, OutletAllocation, Role, utcnow
from app.services import background, charging, load_management, schedule, stations
from app.services.load_management import Demand, Share, share_capacity
from app.services.nodes import NodeKind, NodeRef


def _amps(shares: dict[int, Share]) -> dict[int, float | None]:
    return {key: share.current_a for key, share in shares.items()}


@pytest.mark.parametrize(
    ("sessions", "each"),
    [(1, 32.0), (2, 16.0), (3, 32 / 3)],
    ids=["one", "two", "three"],
)
def test_a_32_a_site_shares_equally(sessions, each):
    shares = share_capacity([Demand(k, order=k) for k in range(sessions)], 32.0)
    assert all(s.current_a == pytest.approx(each) for s in shares.values())
    assert not any(s.queued for s in shares.values())


def test_a_newcomer_waits_at_0_a_when_every_share_would_drop_below_6_a():
    shares = share_capacity([Demand(k, order=k) for k in range(3)], 16.0)
    assert _amps(shares) == {0: 8.0, 1: 8.0, 2: 0.0}
    assert shares[2].queued


def test_a_higher_priority_is_admitted_first_and_gets_a_larger_share():
    demands = [Demand(1, order=1), Demand(2, order=2), Demand(3, priority=3, order=3)]
    shares = share_capacity(demands, 14.0)
    assert _amps(shares) == {3: 7.5, 1: 6.5, 2: 0.0}
    shares = share_capacity(demands[1:], 32.0)
    assert shares[3].current_a == pytest.approx(6 + 20 * 3 / 4)
    assert shares[2].current_a == pytest.approx(6 + 20 / 4)


def test_a_capped_outlet_leaves_its_rest_to_the_others():
    shares = share_capacity([Demand(1, cap=10.0), Demand(2)], 32.0)
    assert _amps(shares) == {1: 10.0, 2: 22.0}


def test_a_held_allocation_stays_counted():
    shares = share_capacity([Demand(1, held=16.0), Demand(2), Demand(3)], 32.0)
    assert _amps(shares) == {1: 16.0, 2: 8.0, 3: 8.0}


def test_a_floor_capacity_limits_its_outlets_within_the_site():
    demands = [Demand(1, group=7), Demand(2, group=7), Demand(3)]
    shares = share_capacity(demands, 40.0, {7: 12.0})
    assert _amps(shares) == {1: 6.0, 2: 6.0, 3: 28.0}


def test_without_a_capacity_nothing_is_limited():
    assert _amps(share_capacity([Demand(1)], None)) == {1: None}


def test_a_day_at_a_20_outlet_site_never_exceeds_the_site_limit():
    """Scripted arrivals/departures over a day at a 63 A site, sampled every 15 min:
    14 commuters arrive 07-09 and leave 15-18, 6 visitors stay 1-3 h in the day."""
    limit = 63.0
    rng = random.Random(7)
    visits = []
    for outlet in range(14):
        visits.append(
            (outlet, rng.randrange(7 * 60, 9 * 60), rng.randrange(15 * 60, 18 * 60))
        )
    for outlet in range(14, 20):
        arrive = rng.randrange(10 * 60, 20 * 60)
        visits.append((outlet, arrive, arrive + rng.randrange(60, 180)))
    priorities = {outlet: (3 if outlet % 7 == 0 else 1) for outlet in range(20)}
    caps = {outlet: (16.0 if outlet % 4 == 1 else 32.0) for outlet in range(20)}
    peak, most_queued = 0.0, 0
    lines = []
    for minute in range(0, 24 * 60, 15):
        here = [v for v in visits if v[1] <= minute < v[2]]
        shares = share_capacity(
            [
                Demand(o, priorities[o], caps[o], order=arrive)
                for o, arrive, _leave in here
            ],
            limit,
        )
        total = sum(s.current_a or 0.0 for s in shares.values())
        queued = sum(s.queued for s in shares.values())
        for outlet, share in shares.items():
            assert share.queued or 6.0 <= share.current_a <= caps[outlet] + 1e-9
        assert total <= limit + 1e-9
        peak, most_queued = max(peak, total), max(most_queued, queued)
        lines.append(
            f"{minute // 60:02d}:{minute % 60:02d} {len(here):2d} sessions"
            f" {queued:2d} queued {total:5.1f} A"
        )
    print("\n".join(lines))  # noqa: T201 (the simulation's record, shown with -s)
    print(f"peak {peak:.1f} A of {limit:.0f} A, at most {most_queued} queued")  # noqa: T201
    assert peak == pytest.approx(limit)  # the capacity is used in full when busy
    assert most_queued > 0  # and newcomers waited when it could not give 6 A each


@pytest.fixture
def site(create_site):
    return create_site("Garage")


def _start(station, number, offset):
    session = charging.start_session(
        station, number, None, 0, utcnow() - timedelta(minutes=60 - offset)
    ).session
    db.session.commit()
    background.wait_idle()
    return session


def test_rebalancing_stores_each_running_sessions_share(
    site, create_station, create_user
):
    admin = create_user(Role.ADMIN)
    station = create_station(site, "CP1", outlets=3, access=AccessRule.OPEN)
    schedule.set_capacity(admin, NodeRef(NodeKind.SITE, site.id), 32.0)
    station.online = True  # as if connected, with nobody at the other end
    station.last_seen_at = utcnow()
    db.session.commit()
    background.wait_idle()
    sessions = [_start(station, n, n) for n in (1, 2, 3)]
    pushes = load_management.rebalance_site(site.id)
    db.session.commit()
    ids = [o.id for o in station.outlets]
    stored = load_management.allocations(ids)
    assert [round(stored[i][0], 2) for i in ids] == [10.67, 10.67, 10.67]
    assert pushes == []  # the receivers already shared it after each start
    charging.stop_session(station, sessions[0].id, 10, utcnow())
    db.session.commit()
    background.wait_idle()
    load_management.rebalance_site(site.id)
    stored = load_management.allocations(ids)
    assert sorted(v[0] for v in stored.values()) == [16.0, 16.0]


def test_an_offline_stations_allocation_counts_until_the_threshold(
    site, create_station, create_user
):
    admin = create_user(Role.ADMIN)
    away = create_station(site, "CP1", outlets=1, access=AccessRule.OPEN)
    here = create_station(site, "CP2", outlets=1, access=AccessRule.OPEN)
    schedule.set_capacity(admin, NodeRef(NodeKind.SITE, site.id), 32.0)
    for station in (away, here):
        stations.mark_connected(station)
    db.session.commit()
    background.wait_idle()  # the receivers' own rebalancing, before ours
    _start(away, 1, 0)
    _start(here, 1, 1)
    away.online = False
    db.session.commit()
    load_management.rebalance_site(site.id)
    outlet_away, outlet_here = away.outlets[0].id, here.outlets[0].id
    assert load_management.allocations([outlet_away, outlet_here]) == {
        outlet_away: (16.0, False),
        outlet_here: (16.0, False),
    }
    later = utcnow() + timedelta(hours=1)
    load_management.rebalance_site(site.id, later)
    assert load_management.allocations([outlet_away, outlet_here]) == {
        outlet_here: (32.0, False)
    }


def test_session_events_at_a_site_without_capacity_start_no_work(
    app, site, create_station, monkeypatch
):
    station = create_station(site, "CP1", outlets=2, access=AccessRule.OPEN)
    _start(station, 1, 0)  # the first event reads which sites share a capacity
    submitted = []
    real_submit = background.submit
    monkeypatch.setattr(
        background,
        "submit",
        lambda app, fn, *args: (submitted.append(fn), real_submit(app, fn, *args)),
    )
    _start(station, 2, 1)
    assert load_management.apply_site not in submitted


def test_a_capacity_declared_later_is_shared_at_the_next_event(
    site, create_station, create_user
):
    admin = create_user(Role.ADMIN)
    station = create_station(site, "CP1", outlets=2, access=AccessRule.OPEN)
    station.online = True
    station.last_seen_at = utcnow()
    db.session.commit()
    _start(station, 1, 0)  # the site has no capacity yet: nothing allocated
    assert load_management.allocations([o.id for o in station.outlets]) == {}
    schedule.set_capacity(admin, NodeRef(NodeKind.SITE, site.id), 20.0)
    db.session.commit()
    background.wait_idle()
    _start(station, 2, 1)
    stored = load_management.allocations([o.id for o in station.outlets])
    assert sorted(v[0] for v in stored.values()) == [10.0, 10.0]


def test_the_schedule_job_runs_from_the_command_line(runner, site, create_user):
    schedule.set_capacity(create_user(Role.ADMIN), NodeRef(NodeKind.SITE, site.id), 32)
    db.session.commit()
    background.wait_idle()
    result = runner.invoke(args=["jobs", "run", "schedule-application"])
    assert result.exit_code == 0, result.output
    assert "'allocations_pushed': 0" in result.output


def test_the_schedule_job_shares_a_capacity_declared_on_a_floor_only(
    site, create_floor, create_station, create_user
):
    admin = create_user(Role.ADMIN)
    floor = create_floor(site)
    station = create_station(
        site, "CP1", floor=floor, outlets=2, access=AccessRule.OPEN
    )
    schedule.set_capacity(admin, NodeRef(NodeKind.FLOOR, floor.id), 20.0)
    station.online = True  # as if connected, with nobody at the other end
    station.last_seen_at = utcnow()
    db.session.commit()
    background.wait_idle()
    _start(station, 1, 0)
    _start(station, 2, 1)
    ids = [o.id for o in station.outlets]
    db.session.execute(delete(OutletAllocation))  # as if the receivers never ran
    db.session.commit()
    load_management.apply_schedule()
    assert load_management.allocations(ids) == {
        ids[0]: (10.0, False),
        ids[1]: (10.0, False),
    }
