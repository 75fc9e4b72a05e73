"""OCPP 1.6 over a real socket: Authorize and StartTransaction follow the access
policies (spec §8 Policies), inherited site → floor → station → outlet, the nearest
winning; a group policy admits its members only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ocpp.v16 import call
from sqlalchemy import select

from app.extensions import db
from app.models import AccessRule, ChargingSession, EventLogEntry, Role
from app.services import access_policies, user_groups

MEMBER_TAG, STRANGER_TAG = "04A1B2C3D4E5F6", "APP-7F3K2Q"


@pytest.fixture
def nodes(create_site, create_floor, create_station, create_user):
    """Site Solna / floor Central 1 / station CP-FLOOR (2 outlets); a group of the
    site with one member; a stranger with a valid tag in no group."""
    site = create_site("Solna")
    floor = create_floor(site, "Central 1")
    station = create_station(site, "CP-FLOOR", floor=floor, outlets=2)
    member = create_user(Role.EV_USER, tag=MEMBER_TAG)
    create_user(Role.EV_USER, tag=STRANGER_TAG)
    group = user_groups.create_group(None, "Tenants house 3", site)
    user_groups.set_members(None, group, [member], [])
    db.session.commit()
    outlet = next(o for o in station.outlets if o.number == 1)
    return {
        "site": site,
        "floor": floor,
        "station": station,
        "outlet": outlet,
        "group": group,
    }


# Each level, and the level above it (None: the system default).
LEVELS = [
    ("site", None),
    ("floor", "site"),
    ("station", "floor"),
    ("outlet", "station"),
]


def _set(node, rule, groups=()):
    access_policies.set_policy(None, node, rule, [g.id for g in groups])
    db.session.commit()


def _open_above_and_groups_at(nodes, level, above):
    """OPEN one level up (the system default for the site), members-only at `level`."""
    if above is None:
        access_policies.set_default(None, AccessRule.OPEN)
        db.session.commit()
    else:
        _set(nodes[above], AccessRule.OPEN)
    _set(nodes[level], AccessRule.GROUPS, [nodes["group"]])


def _authorize(station, tag):
    return station.call(call.Authorize(id_tag=tag)).id_tag_info["status"]


def _start(station, tag, connector=1):
    return station.call(
        call.StartTransaction(
            connector_id=connector,
            id_tag=tag,
            meter_start=0,
            timestamp=datetime.now(UTC).isoformat(),
        )
    )


@pytest.mark.parametrize(("level", "above"), LEVELS[:3])
def test_authorize_admits_only_members_where_the_nearest_policy_says_groups(
    connect, nodes, level, above
):
    _open_above_and_groups_at(nodes, level, above)
    with connect("CP-FLOOR") as station:
        assert _authorize(station, MEMBER_TAG) == "Accepted"
        assert _authorize(station, STRANGER_TAG) == "Blocked"


@pytest.mark.parametrize(("level", "above"), LEVELS)
def test_start_transaction_follows_the_nearest_policy(connect, nodes, level, above):
    _open_above_and_groups_at(nodes, level, above)
    with connect("CP-FLOOR") as station:
        assert _start(station, MEMBER_TAG).id_tag_info["status"] == "Accepted"
        assert _start(station, STRANGER_TAG).id_tag_info["status"] == "Blocked"


def test_an_authorize_is_accepted_when_one_outlet_of_the_station_admits_the_tag(
    connect, nodes
):
    _set(nodes["station"], AccessRule.GROUPS, [nodes["group"]])
    _set(nodes["station"].outlets[1], AccessRule.KNOWN)
    with connect("CP-FLOOR") as station:
        assert _authorize(station, STRANGER_TAG) == "Accepted"
        assert _start(station, STRANGER_TAG, 1).id_tag_info["status"] == "Blocked"
        assert _start(station, STRANGER_TAG, 2).id_tag_info["status"] == "Accepted"


def test_an_open_outlet_under_a_group_site_starts_an_unknown_tag_anonymously(
    connect, nodes
):
    _set(nodes["site"], AccessRule.GROUPS, [nodes["group"]])
    _set(nodes["outlet"], AccessRule.OPEN)
    with connect("CP-FLOOR") as station:
        started = _start(station, "UNKNOWN-1")
    assert started.id_tag_info["status"] == "Accepted"
    db.session.rollback()
    session = db.session.scalars(select(ChargingSession)).one()
    assert (session.authentication, session.user_id) == (0, None)


def test_a_refused_start_is_logged_with_the_policy_that_refused_it(connect, nodes):
    _set(nodes["floor"], AccessRule.GROUPS, [nodes["group"]])
    with connect("CP-FLOOR") as station:
        _start(station, STRANGER_TAG)
    db.session.rollback()
    details = [
        e.details for e in db.session.scalars(select(EventLogEntry)) if e.details
    ]
    assert {
        "tag": STRANGER_TAG,
        "authorization": "blocked",
        "refused_by": "Refused by the access policy: "
        "Members of Tenants house 3 (floor Solna / Central 1).",
    } in details
