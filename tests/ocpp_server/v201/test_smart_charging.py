"""Schedule caps and site load management reach a 2.0.1 station (issue 21 §3)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from app.extensions import db
from app.models import (
    ALL_DAYS,
    WEEKDAYS,
    AccessRule,
    CapScope,
    Protocol,
    Role,
    RuleKind,
    Station,
)
from app.services import background, commands, load_management, schedule
from app.services.nodes import NodeKind, NodeRef
from tests.ocpp_server.v16.test_schedule import wait_for
from tests.ocpp_server.v201.conftest import eventually
from tests.ocpp_server.v201.test_station_messages import transaction_event

TX_DEFAULT_1 = schedule.OUTLET_DEFAULT_PROFILE_ID + 1


@pytest.fixture
def admin(create_user):
    return create_user(Role.ADMIN)


@pytest.fixture
def site_station(create_site, create_station):
    """A 2.0.1 station with two OPEN outlets on the site Garage."""
    return create_station(
        create_site("Garage"),
        "CS-G",
        outlets=2,
        access=AccessRule.OPEN,
        protocol=Protocol.OCPP201_JSON,
    )


def _site(station):
    return NodeRef(NodeKind.SITE, station.site_id)


def _online(station):
    eventually(lambda: db.session.get(Station, station.id).online)
    background.wait_idle()


def _limit(runner, evse: int) -> float | None:
    profile = runner.cp.profiles.get((evse, schedule.ALLOCATION_PROFILE_ID + evse))
    if profile is None:
        return None
    return float(
        profile["charging_schedule"][0]["charging_schedule_period"][0]["limit"]
    )


def _start(runner, evse: int, ref: str) -> None:
    runner.call(
        transaction_event(
            "Started",
            0,
            datetime.now(UTC).replace(microsecond=0),
            transaction_id=ref,
            evse={"id": evse, "connector_id": 1},
            trigger_reason="CablePluggedIn",
            charging_state="Charging",
        )
    )


def test_a_cap_reaches_the_station_as_recurring_profiles(connect, site_station, admin):
    with connect(site_station.chargebox_id) as runner:
        _online(site_station)
        cap = schedule.RuleInput(
            RuleKind.CAP, days=WEEKDAYS, start=time(7), end=time(10), limit_a=16.0
        )
        schedule.add_rule(admin, _site(site_station), cap)
        db.session.commit()
        assert wait_for(lambda: (1, TX_DEFAULT_1) in runner.cp.profiles), (
            runner.cp.names()
        )
        profile = runner.cp.profiles[(1, TX_DEFAULT_1)]
        assert profile["charging_profile_purpose"] == "TxDefaultProfile"
        assert profile["charging_profile_kind"] == "Recurring"
        (chart,) = profile["charging_schedule"]
        assert {"start_period": 7 * 3600, "limit": 16.0} in chart[
            "charging_schedule_period"
        ]


def test_a_station_cap_is_a_charging_station_max_profile(connect, site_station, admin):
    with connect(site_station.chargebox_id) as runner:
        _online(site_station)
        cap = schedule.RuleInput(
            RuleKind.CAP,
            days=ALL_DAYS,
            start=time(0),
            end=time(0),
            limit_a=20.0,
            cap_scope=CapScope.STATION,
        )
        schedule.add_rule(admin, NodeRef(NodeKind.STATION, site_station.id), cap)
        db.session.commit()
        key = (0, schedule.STATION_MAX_PROFILE_ID)
        assert wait_for(lambda: key in runner.cp.profiles), runner.cp.names()
        assert runner.cp.profiles[key]["charging_profile_purpose"] == (
            "ChargingStationMaxProfile"
        )


def test_a_site_capacity_is_shared_by_the_stations_transactions(
    connect, site_station, admin
):
    schedule.set_capacity(admin, _site(site_station), 32.0)
    db.session.commit()
    with connect(site_station.chargebox_id) as runner:
        _online(site_station)
        _start(runner, 1, "TX-A")
        assert wait_for(lambda: _limit(runner, 1) == 32.0), runner.cp.names()
        _start(runner, 2, "TX-B")
        assert wait_for(lambda: [_limit(runner, 1), _limit(runner, 2)] == [16.0, 16.0])
        profile = runner.cp.profiles[(1, schedule.ALLOCATION_PROFILE_ID + 1)]
        assert (profile["charging_profile_purpose"], profile["transaction_id"]) == (
            "TxProfile",
            "TX-A",
        )
        background.wait_idle()
        db.session.rollback()
        stored = load_management.allocations(o.id for o in site_station.outlets)
        assert [round(v[0], 2) for v in stored.values()] == [16.0, 16.0]


def test_the_composite_schedule_is_read_back(connect, site_station, admin):
    with connect(site_station.chargebox_id) as runner:
        _online(site_station)
        runner.cp.profiles[(1, 5)] = {
            "charging_schedule": [{"charging_schedule_period": [{"limit": 13.0}]}]
        }
        result = commands.query_station(
            site_station, commands.GetCompositeSchedule(1, 60, "A")
        )
    assert result.ok
    assert result.data["schedule"]["charging_schedule_period"] == [
        {"start_period": 0, "limit": 13.0}
    ]
