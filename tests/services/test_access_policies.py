"""app/services/access_policies.py and user_groups.py: who may charge where (spec §8
Policies): OPEN, any known tag, or members of groups, inherited site → floor →
station → outlet with the nearest winning, the system default on top."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import AccessRule, EventLogEntry, Role, utcnow
from app.services import access_policies, charging, topology, user_groups
from app.services.charging import AuthorizationStatus as Auth
from app.services.errors import Conflict, InvalidInput, PermissionDenied
from app.services.nodes import NodeKind, NodeRef

OPEN, KNOWN, GROUPS = AccessRule.OPEN, AccessRule.KNOWN, AccessRule.GROUPS


@pytest.fixture
def site(create_site):
    return create_site("Solna")


@pytest.fixture
def floor(create_floor, site):
    return create_floor(site, "Central 1")


@pytest.fixture
def station(create_station, site, floor):
    return create_station(site, "CP-1", floor=floor, outlets=2)


@pytest.fixture
def member(create_user):
    """A driver with tag 1001, not in any group yet."""
    return create_user(Role.EV_USER, tag="1001")


@pytest.fixture
def stranger(create_user):
    """A driver with a known, valid tag (2002) who is in no group."""
    return create_user(Role.EV_USER, tag="2002")


@pytest.fixture
def tenants(site, member):
    group = user_groups.create_group(None, "Tenants house 3", site)
    user_groups.set_members(None, group, [member], [])
    db.session.commit()
    return group


def _set(node, rule, groups=()):
    access_policies.set_policy(None, node, rule, [g.id for g in groups])
    db.session.commit()


def _outlet(station, number=1):
    return next(o for o in station.outlets if o.number == number)


# -- inheritance -------------------------------------------------------------


def test_without_any_policy_the_system_default_any_known_tag_applies(station, member):
    policy = access_policies.node_policy(_outlet(station))
    assert (policy.rule, str(policy.source)) == (KNOWN, "system")
    assert charging.authorize(station, "1001", 1).status is Auth.ACCEPTED
    assert charging.authorize(station, "999", 1).status is Auth.INVALID


def test_a_site_policy_reaches_every_outlet_of_the_site(site, station):
    _set(site, OPEN)
    assert charging.authorize(station, "999", 1).status is Auth.ACCEPTED
    assert charging.authorize(station, "999", 2).status is Auth.ACCEPTED


def test_a_floor_policy_wins_over_the_site(site, floor, station):
    _set(site, OPEN)
    _set(floor, KNOWN)
    assert charging.authorize(station, "999", 1).status is Auth.INVALID


def test_a_station_policy_wins_over_the_floor(floor, station):
    _set(floor, KNOWN)
    _set(station, OPEN)
    assert charging.authorize(station, "999", 1).status is Auth.ACCEPTED


def test_an_outlet_policy_wins_over_the_station(station):
    _set(station, OPEN)
    _set(_outlet(station, 2), KNOWN)
    assert charging.authorize(station, "999", 1).status is Auth.ACCEPTED
    assert charging.authorize(station, "999", 2).status is Auth.INVALID


def test_removing_a_policy_hands_the_node_back_to_the_level_above(site, station):
    _set(site, OPEN)
    _set(station, KNOWN)
    _set(station, None)
    policy = access_policies.node_policy(_outlet(station))
    assert (policy.rule, str(policy.source)) == (OPEN, f"site:{site.id}")


def test_the_system_default_may_open_every_outlet_nobody_configured(station):
    access_policies.set_default(None, OPEN)
    assert charging.authorize(station, "999", 1).status is Auth.ACCEPTED


def test_the_system_default_cannot_be_a_group_policy(app):
    with pytest.raises(InvalidInput):
        access_policies.set_default(None, GROUPS)


def test_a_new_outlet_follows_its_station(station):
    _set(station, OPEN)
    outlet = topology.create_outlet(None, station)
    db.session.commit()
    assert access_policies.node_policy(outlet).rule is OPEN


# -- what each rule admits ---------------------------------------------------


def test_open_accepts_no_tag_at_all_as_an_anonymous_session(station):
    _set(station, OPEN)
    result = charging.authorize(station, None, 1)
    assert (result.status, result.tag) == (Auth.ACCEPTED, None)


def test_open_keeps_a_known_tag_s_user_on_the_session(station, member):
    _set(station, OPEN)
    started = charging.start_session(station, 1, "1001", 0, utcnow())
    assert (started.session.user_id, started.session.authentication) == (member.id, 1)


def test_a_group_policy_accepts_a_tag_of_a_user_in_the_group(station, tenants):
    _set(station, GROUPS, [tenants])
    assert charging.authorize(station, "1001", 1).status is Auth.ACCEPTED


def test_a_group_policy_accepts_a_tag_that_is_itself_in_the_group(
    station, tenants, stranger
):
    user_groups.set_members(None, tenants, [], stranger.tags)
    _set(station, GROUPS, [tenants])
    assert charging.authorize(station, "2002", 1).status is Auth.ACCEPTED


def test_a_group_policy_refuses_a_known_tag_outside_its_groups_and_says_which(
    site, station, tenants, stranger
):
    _set(site, GROUPS, [tenants])
    result = charging.authorize(station, "2002", 1)
    assert result.status is Auth.BLOCKED
    assert result.refusal() == (
        "Refused by the access policy: Members of Tenants house 3 (site Solna)."
    )


def test_a_group_policy_refuses_an_unknown_tag(station, tenants):
    _set(station, GROUPS, [tenants])
    assert charging.authorize(station, "999", 1).status is Auth.INVALID


def test_a_blocked_member_stays_blocked(station, tenants, member):
    member.tags[0].blocked = True
    _set(station, GROUPS, [tenants])
    assert charging.authorize(station, "1001", 1).status is Auth.BLOCKED


def test_an_authorize_without_outlet_is_accepted_if_one_outlet_admits_the_tag(
    station, tenants, stranger
):
    _set(station, GROUPS, [tenants])
    _set(_outlet(station, 2), KNOWN)
    assert charging.authorize(station, "2002").status is Auth.ACCEPTED
    assert charging.authorize(station, "2002", 1).status is Auth.BLOCKED


def test_a_refused_start_says_in_the_event_log_which_policy_refused(
    station, tenants, stranger
):
    _set(station, GROUPS, [tenants])
    charging.start_session(station, 1, "2002", 0, utcnow())
    entry = db.session.scalars(db.select(EventLogEntry)).all()[-1]
    assert entry.details["refused_by"] == (
        "Refused by the access policy: Members of Tenants house 3 (station CP-1 (CP-1))."
    )


def test_a_station_s_policies_cost_one_statement(site, floor, station, tenants):
    _set(site, KNOWN)
    _set(floor, GROUPS, [tenants])
    _set(_outlet(station, 2), OPEN)
    db.session.expire_all()
    station = db.session.get(type(station), station.id)
    _ = station.outlets, station.floor_id
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        policies = access_policies.station_policies(station)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert [p.rule for p in policies.values()] == [GROUPS, OPEN]
    assert len(statements) == 1


# -- the page: what applies to each outlet, and why --------------------------


def test_each_outlet_shows_its_policy_and_the_level_it_comes_from(
    create_user, site, station, tenants
):
    admin = create_user(Role.ADMIN)
    _set(site, GROUPS, [tenants])
    _set(_outlet(station, 2), OPEN)
    rows = access_policies.outlets_under(admin, NodeRef(NodeKind.SITE, site.id))
    assert [row.words for row in rows] == [
        "Members of Tenants house 3 (site Solna)",
        "Open to anyone (outlet CP-1 Connector: 2)",
    ]


# -- the tags a station admits (local authorisation lists) --------------------


def test_a_station_open_to_known_tags_admits_every_known_tag(station, member, stranger):
    assert [t.tag for t in access_policies.admitted_tags(station)] == ["1001", "2002"]


def test_a_group_station_admits_only_its_members_tags(station, tenants, stranger):
    _set(station, GROUPS, [tenants])
    assert [t.tag for t in access_policies.admitted_tags(station)] == ["1001"]


def test_a_station_with_outlets_of_different_policies_admits_their_union(
    create_station, site, tenants, stranger, create_user
):
    fleet = user_groups.create_group(None, "Fleet cars")
    user_groups.set_members(None, fleet, [], stranger.tags)
    create_user(Role.EV_USER, tag="3003")  # in no group
    mixed = create_station(site, "CP-2", outlets=2)
    _set(_outlet(mixed, 1), GROUPS, [tenants])
    _set(_outlet(mixed, 2), GROUPS, [fleet])
    assert [t.tag for t in access_policies.admitted_tags(mixed)] == ["1001", "2002"]


# -- who may manage groups and policies --------------------------------------


def test_a_site_admin_cannot_set_the_policy_of_another_site(create_user, create_site):
    other = create_site("Kista")
    site_admin = create_user(Role.SITE_ADMIN, sites=[create_site("Own")])
    with pytest.raises(PermissionDenied):
        access_policies.set_policy(site_admin, other, OPEN)


def test_a_site_policy_cannot_name_another_site_s_group(
    create_site, station, create_user
):
    foreign = user_groups.create_group(None, "Kista tenants", create_site("Kista"))
    with pytest.raises(InvalidInput):
        access_policies.set_policy(None, station, GROUPS, [foreign.id])


def test_a_site_policy_may_name_a_system_wide_group(station):
    fleet = user_groups.create_group(None, "Fleet cars")
    access_policies.set_policy(None, station, GROUPS, [fleet.id])
    assert access_policies.node_policy(station).group_ids == (fleet.id,)


def test_a_group_policy_needs_a_group(station):
    with pytest.raises(InvalidInput):
        access_policies.set_policy(None, station, GROUPS, [])


def test_a_site_admin_sees_his_sites_groups_and_the_system_ones_only(
    create_user, create_site, site
):
    user_groups.create_group(None, "Solna tenants", site)
    user_groups.create_group(None, "Kista tenants", create_site("Kista"))
    user_groups.create_group(None, "Fleet cars")
    site_admin = create_user(Role.SITE_ADMIN, sites=[site])
    names = [g.name for g in user_groups.visible_groups(site_admin)]
    assert names == ["Fleet cars", "Solna tenants"]


def test_a_site_admin_cannot_change_another_site_s_group(create_user, create_site):
    kista = user_groups.create_group(None, "Kista tenants", create_site("Kista"))
    site_admin = create_user(Role.SITE_ADMIN, sites=[create_site("Own")])
    with pytest.raises(PermissionDenied):
        user_groups.update_group(site_admin, kista, name="Mine", site=kista.site)


def test_only_administrators_make_system_wide_groups(create_user, site):
    site_admin = create_user(Role.SITE_ADMIN, sites=[site])
    with pytest.raises(PermissionDenied):
        user_groups.create_group(site_admin, "Everyone")
    assert (
        user_groups.create_group(site_admin, "Solna tenants", site).site_id == site.id
    )


def test_group_names_are_unique_whatever_their_case(site):
    user_groups.create_group(None, "Fleet cars")
    with pytest.raises(Conflict):
        user_groups.create_group(None, "fleet CARS", site)


def test_a_group_named_in_a_policy_cannot_be_deleted(station, tenants):
    _set(station, GROUPS, [tenants])
    with pytest.raises(Conflict):
        user_groups.delete_group(None, tenants)


def test_members_are_typed_as_e_mails_and_tags(member, stranger):
    users, tags = user_groups.parse_members([member.email, " 2002 ", ""])
    assert ([u.id for u in users], [t.tag for t in tags]) == ([member.id], ["2002"])


def test_an_unknown_member_is_refused_by_name(app):
    with pytest.raises(InvalidInput, match=r"nobody@example\.com"):
        user_groups.parse_members(["nobody@example.com"])


# -- remote starts (Control tab, services.commands) ----------------------------


def test_a_remote_start_for_a_tag_outside_the_groups_is_refused_before_sending(
    create_user, station, tenants, stranger
):
    from app.services import commands

    _set(station, GROUPS, [tenants])
    with pytest.raises(Conflict, match="Members of Tenants house 3"):
        commands.remote_start(create_user(Role.ADMIN), station, "2002", 1)


# -- for imports and exports (tags with their groups) --------------------------


def test_a_tag_s_groups_are_set_by_name_and_read_back_in_one_go(site, stranger):
    user_groups.create_group(None, "Tenants house 3", site)
    user_groups.create_group(None, "Fleet cars")
    tag = stranger.tags[0]
    user_groups.set_tag_groups(None, tag, ["fleet cars", "Tenants house 3"])
    user_groups.set_tag_groups(None, tag, ["Fleet cars"])
    assert user_groups.groups_of_tags([tag.id]) == {tag.id: ["Fleet cars"]}


def test_an_unknown_group_name_is_refused_by_name(stranger):
    with pytest.raises(InvalidInput, match="No group is named Nobody"):
        user_groups.set_tag_groups(None, stranger.tags[0], ["Nobody"])


def test_a_changed_policy_is_audited_with_its_groups(create_user, station, tenants):
    from app.models import AuditEntry

    admin = create_user(Role.ADMIN)
    access_policies.set_policy(admin, station, KNOWN)
    access_policies.set_policy(admin, station, GROUPS, [tenants.id])
    entry = db.session.scalars(
        db.select(AuditEntry).order_by(AuditEntry.id.desc())
    ).first()
    assert entry.changes["groups"] == ["", "Tenants house 3"]
