"""The REST API start follows the outlet's access policy (spec §8 Policies) and a
refusal names the policy that refused it."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AccessRule, RfidTag, Role
from app.services import access_policies, remote_charging, tags, user_groups


@pytest.fixture
def tenants(site, create_user):
    """A group policy on the site: one member with tag 1001; tag 2002 is known but
    in no group."""
    member = create_user(Role.EV_USER, tag="1001")
    create_user(Role.EV_USER, tag="2002")
    group = user_groups.create_group(None, "Tenants house 3", site)
    user_groups.set_members(None, group, [member], [])
    access_policies.set_policy(None, site, AccessRule.GROUPS, [group.id])
    db.session.commit()
    return group


def test_a_start_for_a_tag_outside_the_groups_is_refused_naming_the_policy(
    api, service, station, station_record, tenants
):
    outlet = station_record.outlets[0]
    answer = api.post(f"/outlets/{outlet.uuid}/start", service, json={"tag": "2002"})
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        "The RFID tag may not charge on this outlet (blocked). Refused by the access "
        "policy: Members of Tenants house 3 (site Solna)."
    )
    assert station.runner.received == []


def test_a_start_for_a_member_s_tag_starts(
    api, service, station, station_record, tenants
):
    outlet = station_record.outlets[0]
    answer = api.post(f"/outlets/{outlet.uuid}/start", service, json={"tag": "1001"})
    assert answer.status_code == 201, answer.text


def test_an_anonymous_start_at_a_group_outlet_needs_the_service_s_tag_in_a_group(
    api, service, station, station_record, tenants
):
    outlet = station_record.outlets[0]
    assert api.post(f"/outlets/{outlet.uuid}/start", service).status_code == 422
    start_tag = tags.find_registered(remote_charging.service_start_tag(service.id))
    assert isinstance(start_tag, RfidTag)
    user_groups.add_tag(None, tenants, start_tag)
    db.session.commit()
    answer = api.post(f"/outlets/{outlet.uuid}/start", service)
    assert answer.status_code == 201, answer.text


def test_an_outlet_says_who_may_charge_there(api, service, station_record, tenants):
    outlet = station_record.outlets[0]
    body = api.get(f"/outlets/{outlet.uuid}", service).json()
    assert (body["mode"], body["access"]) == ("RFID", "GROUPS")
