"""OCPP 1.5 over SOAP (a zeep station): Authorize and StartTransaction follow the
access policies (spec §8 Policies) as over 1.6."""

from __future__ import annotations

from datetime import UTC, datetime

from app.extensions import db
from app.models import AccessRule, Role
from app.services import access_policies, user_groups

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_a_group_site_admits_its_members_and_blocks_other_known_tags(
    cp, site, station, create_user
):
    member = create_user(Role.EV_USER, tag="1001")
    create_user(Role.EV_USER, tag="2002")
    group = user_groups.create_group(None, "Tenants house 3", site)
    user_groups.set_members(None, group, [member], [])
    access_policies.set_policy(None, site, AccessRule.GROUPS, [group.id])
    db.session.commit()

    assert cp.call("Authorize", idTag="1001").status == "Accepted"
    assert cp.call("Authorize", idTag="2002").status == "Blocked"
    started = cp.call(
        "StartTransaction", connectorId=1, idTag="2002", timestamp=T0, meterStart=0
    )
    assert started.idTagInfo.status == "Blocked"


def test_an_open_station_policy_wins_over_a_group_site(cp, site, station):
    group = user_groups.create_group(None, "Tenants house 3", site)
    access_policies.set_policy(None, site, AccessRule.GROUPS, [group.id])
    access_policies.set_policy(None, station, AccessRule.OPEN)
    db.session.commit()

    assert cp.call("Authorize", idTag="UNKNOWN").status == "Accepted"
