"""app/services/navigator.py: the status colours of spec §3 and the scoped tree."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Alarm, AlarmKind, ChargingSession, OutletStatus, Role, utcnow
from app.services import navigator
from app.services.navigator import NodeStatus

ON, CH, FA, OFF = (
    NodeStatus.ONLINE,
    NodeStatus.CHARGING,
    NodeStatus.FAULT,
    NodeStatus.OFFLINE,
)


@pytest.mark.parametrize(
    ("online", "status", "session_open", "alarm", "expected"),
    [
        (True, OutletStatus.AVAILABLE, False, False, ON),
        (True, OutletStatus.UNKNOWN, False, False, ON),
        (True, OutletStatus.PREPARING, False, False, ON),
        (True, OutletStatus.CHARGING, False, False, CH),
        (True, OutletStatus.SUSPENDED, False, False, CH),
        (True, OutletStatus.AVAILABLE, True, False, CH),  # a transaction started
        (True, OutletStatus.FAULTED, False, False, FA),
        (True, OutletStatus.CHARGING, True, True, FA),  # a fault wins over charging
        (False, OutletStatus.CHARGING, True, True, OFF),  # not online wins
    ],
)
def test_outlet_colour(online, status, session_open, alarm, expected):
    assert (
        navigator.outlet_status(online, status, session_open=session_open, alarm=alarm)
        is expected
    )


@pytest.mark.parametrize(
    ("online", "outlets", "alarm", "expected"),
    [
        (True, [ON, ON], False, ON),
        (True, [ON, CH], False, CH),
        (True, [CH, FA], False, FA),
        (True, [ON], True, FA),  # a station-level fault (connector 0)
        (True, [], False, ON),
        (False, [ON], False, OFF),
    ],
)
def test_station_colour(online, outlets, alarm, expected):
    assert navigator.station_status(online, outlets, alarm=alarm) is expected


@pytest.fixture
def two_sites(create_site, create_floor, create_station):
    solna, kista = create_site("Solna"), create_site("Kista")
    floor = create_floor(solna, "Central 1")
    on_floor = create_station(solna, "S-1", floor=floor, outlets=2)
    loose = create_station(solna, "S-2")
    other = create_station(kista, "K-1")
    for station in (on_floor, loose, other):
        station.online = True
    db.session.commit()
    return {
        "solna": solna,
        "kista": kista,
        "floor": floor,
        "s1": on_floor,
        "s2": loose,
        "k1": other,
    }


def test_statuses_follow_sessions_faults_and_the_connection(two_sites, create_user):
    admin = create_user(Role.ADMIN)
    s1, s2, k1 = two_sites["s1"], two_sites["s2"], two_sites["k1"]
    db.session.add(
        ChargingSession(
            site_id=s1.site_id,
            station_id=s1.id,
            outlet_id=s1.outlets[1].id,
            outlet_number=2,
            started_at=utcnow() - timedelta(minutes=3),
        )
    )
    db.session.add(
        Alarm(
            kind=AlarmKind.TEMPERATURE,
            subject=f"station:{s2.id}",
            node_name=s2.chargebox_id,
            site_id=s2.site_id,
            station_id=s2.id,
        )
    )
    k1.online = False
    db.session.commit()
    statuses = navigator.node_statuses(admin)
    assert statuses[f"station:{s1.id}"] is CH
    assert statuses[f"outlet:{s1.outlets[0].id}"] is ON
    assert statuses[f"outlet:{s1.outlets[1].id}"] is CH
    assert statuses[f"station:{s2.id}"] is FA
    assert statuses[f"station:{k1.id}"] is OFF


def test_an_old_open_session_is_not_charging(two_sites, create_user):
    s1 = two_sites["s1"]
    db.session.add(
        ChargingSession(
            site_id=s1.site_id,
            station_id=s1.id,
            outlet_id=s1.outlets[0].id,
            outlet_number=1,
            started_at=utcnow() - timedelta(days=30),
        )
    )
    db.session.commit()
    statuses = navigator.node_statuses(create_user(Role.SUPPORT))
    assert statuses[f"station:{s1.id}"] is ON


def test_a_no_network_alarm_is_not_a_fault(two_sites, create_user):
    s2 = two_sites["s2"]
    db.session.add(
        Alarm(
            kind=AlarmKind.NO_NETWORK,
            subject=f"station:{s2.id}",
            node_name="S-2",
            site_id=s2.site_id,
            station_id=s2.id,
        )
    )
    db.session.commit()
    assert navigator.node_statuses(create_user(Role.ADMIN))[f"station:{s2.id}"] is ON


def _labels(node) -> list[str]:
    return [node.ref, *(ref for child in node.children for ref in _labels(child))]


def test_the_tree_nests_system_site_floor_station_outlet(two_sites, create_user):
    (root,) = navigator.tree(create_user(Role.ADMIN))
    assert root.ref == "system"
    kista, solna = root.children
    assert (kista.ref, solna.ref) == (
        f"site:{two_sites['kista'].id}",
        f"site:{two_sites['solna'].id}",
    )
    floor, loose = solna.children
    assert floor.ref == f"floor:{two_sites['floor'].id}"
    assert [child.ref for child in floor.children] == [f"station:{two_sites['s1'].id}"]
    assert [o.label for o in floor.children[0].children] == [
        "Connector: 1",
        "Connector: 2",
    ]
    assert loose.ref == f"station:{two_sites['s2'].id}"


def test_a_site_administrators_tree_and_statuses_hold_only_its_sites(
    two_sites, create_user
):
    user = create_user(Role.SITE_ADMIN, sites=[two_sites["solna"]])
    refs = _labels(navigator.tree(user)[0])
    assert f"site:{two_sites['kista'].id}" not in refs
    assert f"station:{two_sites['k1'].id}" not in refs
    assert f"station:{two_sites['s1'].id}" in refs
    assert f"station:{two_sites['k1'].id}" not in navigator.node_statuses(user)
    lists = navigator.topology_lists(user)
    assert [s.name for s in lists.sites] == ["Solna"]
    assert {s.chargebox_id for s in lists.stations} == {"S-1", "S-2"}
