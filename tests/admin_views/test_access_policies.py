"""The Access policies and User groups pages (spec §8 Policies): a node's rule, what
applies to each outlet and why, and the groups a site administrator manages."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AccessRule, Role, UserGroup
from app.services import access_policies, user_groups


def test_the_page_asks_for_a_node_and_says_the_system_default(login_as):
    page = login_as(Role.ADMIN).get("/admin/access/?node=system")
    assert 'id="access-choose"' in page.text
    assert "Any known tag (system default)" in page.text


def test_an_administrator_opens_a_site_and_every_outlet_says_it_comes_from_the_site(
    login_as, create_site, create_station
):
    site = create_site("Solna")
    station = create_station(site, "CP1", outlets=2)
    client = login_as(Role.ADMIN)
    answer = client.post(f"/admin/access/?node=site:{site.id}", data={"rule": "OPEN"})
    assert answer.status_code == 302
    page = client.get(f"/admin/access/?node=site:{site.id}")
    for outlet in station.outlets:
        assert f'data-outlet="{outlet.id}" data-rule="OPEN"' in page.text
    assert page.text.count("Open to anyone (site Solna)") == 3  # in force + 2 rows


def test_choosing_as_the_level_above_removes_the_node_s_own_policy(
    login_as, create_site, create_station
):
    site = create_site("Solna")
    station = create_station(site, "CP1", access=AccessRule.OPEN)
    client = login_as(Role.ADMIN)
    client.post(f"/admin/access/?node=station:{station.id}", data={"rule": ""})
    assert access_policies.own_policy(station) is None


def test_a_site_admin_sets_a_group_policy_with_a_group_of_his_site(
    login_as, create_site, create_station
):
    site = create_site("Solna")
    station = create_station(site, "CP1")
    group = user_groups.create_group(None, "Tenants house 3", site)
    db.session.commit()
    client = login_as(Role.SITE_ADMIN, sites=[site])
    client.post(
        f"/admin/access/?node=station:{station.id}",
        data={"rule": "GROUPS", "groups": [str(group.id)]},
    )
    assert access_policies.node_policy(station).group_ids == (group.id,)


def test_a_group_policy_without_a_group_is_refused_with_a_message(
    login_as, create_site
):
    site = create_site("Solna")
    client = login_as(Role.ADMIN)
    page = client.post(
        f"/admin/access/?node=site:{site.id}",
        data={"rule": "GROUPS"},
        follow_redirects=True,
    )
    assert "Choose at least one group" in page.text
    assert access_policies.own_policy(site) is None


def test_a_site_admin_does_not_see_another_site_s_groups(login_as, create_site):
    user_groups.create_group(None, "Kista tenants", create_site("Kista"))
    user_groups.create_group(None, "Solna tenants", solna := create_site("Solna"))
    db.session.commit()
    page = login_as(Role.SITE_ADMIN, sites=[solna]).get("/admin/user_groups/")
    assert "Solna tenants" in page.text and "Kista tenants" not in page.text


def test_a_group_is_created_with_its_members_typed_one_per_line(
    login_as, create_site, create_user
):
    site = create_site("Solna")
    driver = create_user(Role.EV_USER, "anna@example.com", tag="04A1B2C3D4E5F6")
    create_user(Role.EV_USER, tag="APP-7F3K2Q")
    client = login_as(Role.SITE_ADMIN, sites=[site])
    answer = client.post(
        "/admin/user_groups/new/",
        data={
            "name": "Tenants house 3",
            "site": site.id,
            "members": "anna@example.com\r\napp-7f3k2q\r\n",
        },
    )
    assert answer.status_code == 302
    group = db.session.scalars(select(UserGroup)).one()
    assert ([u.id for u in group.users], [t.tag for t in group.tags]) == (
        [driver.id],
        ["APP-7F3K2Q"],
    )


def test_the_control_tab_start_says_which_policy_refused_the_tag(
    login_as, create_site, create_station, create_user
):
    site = create_site("Solna")
    station = create_station(site, "CP1")
    create_user(Role.EV_USER, tag="2002")
    group = user_groups.create_group(None, "Tenants house 3", site)
    access_policies.set_policy(None, station, AccessRule.GROUPS, [group.id])
    db.session.commit()
    answer = login_as(Role.ADMIN).post(
        f"/admin/config/station/{station.id}/command/start",
        json={"outlet": 1, "tag": "2002"},
    )
    assert answer.status_code == 400
    assert answer.json["text"] == (
        "Refused by the access policy: Members of Tenants house 3 (station CP1 (CP1))."
    )


def test_each_level_s_general_tab_says_who_may_charge_there_and_from_where(
    login_as, create_site, create_floor, create_station
):
    site = create_site("Solna")
    floor = create_floor(site, "Central 1")
    station = create_station(site, "CP1", floor=floor)
    access_policies.set_policy(None, floor, AccessRule.OPEN)
    db.session.commit()
    client = login_as(Role.ADMIN)
    for node, words in (
        (f"site:{site.id}", "Any known tag (system default)"),
        (f"floor:{floor.id}", "Open to anyone (floor Solna / Central 1)"),
        (f"station:{station.id}", "Open to anyone (floor Solna / Central 1)"),
        (f"outlet:{station.outlets[0].id}", "Open to anyone (floor Solna / Central 1)"),
    ):
        page = client.get(f"/admin/config/?node={node}&tab=general")
        assert words in page.text, node
