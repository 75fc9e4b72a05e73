"""OCPP 2.0.1: Authorize follows the access policies (spec §8 Policies) as 1.5 and
1.6 do: a group policy admits its members only."""

from __future__ import annotations

from ocpp.v201 import call

from app.extensions import db
from app.models import AccessRule, Role
from app.services import access_policies, user_groups


def _status(station, tag: str) -> str:
    token = {"id_token": tag, "type": "ISO14443"}
    return station.call(call.Authorize(id_token=token)).id_token_info["status"]


def test_a_group_policy_admits_its_members_and_blocks_other_known_tags(
    station, station_record, create_user
):
    member = create_user(Role.EV_USER, tag="04A1B2C3")
    create_user(Role.EV_USER, tag="04D5E6F7")
    group = user_groups.create_group(None, "Fleet cars")
    user_groups.set_members(None, group, [member], [])
    access_policies.set_policy(None, station_record, AccessRule.GROUPS, [group.id])
    db.session.commit()
    assert _status(station, "04A1B2C3") == "Accepted"
    assert _status(station, "04D5E6F7") == "Blocked"
