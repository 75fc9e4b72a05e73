"""The Schedule page (spec §6b): rules per navigator node, week view, limits now."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.extensions import db
from app.models import NodeCapacity, Protocol, Role, RuleKind, ScheduleRule
from app.services import background

CAP_ALL_WEEK = {
    "form": "rule",
    "rule-kind": "cap",
    "rule-days": ["0", "1", "2", "3", "4", "5", "6"],
    "rule-start": "00:00",
    "rule-end": "00:00",
    "rule-action": "refuse",
    "rule-closed": "open",
    "rule-limit_a": "16",
    "rule-cap_scope": "outlet",
    "rule-note": "peak hours",
}


def _page(client, node):
    return client.get(f"/admin/schedule/?node={node}")


def test_the_page_asks_for_a_node_when_none_is_chosen(login_as):
    client = login_as(Role.ADMIN)
    page = _page(client, "system")
    assert page.status_code == 200
    assert 'id="schedule-choose"' in page.text


def test_an_administrator_adds_a_cap_and_sees_the_limit_on_each_outlet(
    login_as, create_site, create_station
):
    site = create_site("Solna")
    station = create_station(site, "CP1", outlets=2)
    client = login_as(Role.ADMIN)
    answer = client.post(f"/admin/schedule/?node=site:{site.id}", data=CAP_ALL_WEEK)
    assert answer.status_code == 302
    background.wait_idle()
    page = _page(client, f"site:{site.id}")
    assert "peak hours" in page.text
    assert page.text.count("16 A</td>") == 0  # the value cell ends with the badge
    for outlet in station.outlets:
        assert f'data-outlet="{outlet.id}"' in page.text
    assert page.text.count("cap of Solna") == 2
    assert 'id="schedule-week"' in page.text and "16 A" in page.text


def test_a_cap_without_amperes_is_refused_with_a_message_on_the_form(
    login_as, create_site
):
    site = create_site("Solna")
    client = login_as(Role.ADMIN)
    data = {**CAP_ALL_WEEK, "rule-limit_a": ""}
    page = client.post(f"/admin/schedule/?node=site:{site.id}", data=data)
    assert page.status_code == 200
    assert "Give the cap in amperes." in page.text
    assert 'class="invalid-feedback d-block field-error"' in page.text
    assert db.session.scalars(select(ScheduleRule)).all() == []


def test_a_rule_with_no_day_is_refused_with_a_message_on_the_form(
    login_as, create_site
):
    site = create_site("Solna")
    client = login_as(Role.ADMIN)
    data = {k: v for k, v in CAP_ALL_WEEK.items() if k != "rule-days"}
    page = client.post(f"/admin/schedule/?node=site:{site.id}", data=data)
    assert "Choose at least one day, or a date." in page.text
    assert db.session.scalars(select(ScheduleRule)).all() == []


def test_a_rule_is_removed(login_as, create_site):
    site = create_site("Solna")
    client = login_as(Role.ADMIN)
    client.post(f"/admin/schedule/?node=site:{site.id}", data=CAP_ALL_WEEK)
    rule = db.session.scalars(select(ScheduleRule)).one()
    answer = client.post(
        f"/admin/schedule/?node=site:{site.id}",
        data={"form": "delete", "delete-rule_id": str(rule.id)},
    )
    assert answer.status_code == 302
    db.session.rollback()
    assert db.session.scalars(select(ScheduleRule)).all() == []


def test_a_site_capacity_is_saved(login_as, create_site):
    site = create_site("Solna")
    client = login_as(Role.ADMIN)
    client.post(
        f"/admin/schedule/?node=site:{site.id}",
        data={"form": "capacity", "capacity-max_current_a": "63"},
    )
    db.session.rollback()
    assert db.session.scalars(select(NodeCapacity.max_current_a)).all() == [63.0]


def test_a_site_administrator_sees_and_changes_only_their_sites(login_as, create_site):
    mine, other = create_site("Mine"), create_site("Other")
    client = login_as(Role.SITE_ADMIN, sites=[mine])
    assert 'id="schedule-choose"' in _page(client, f"site:{other.id}").text
    client.post(f"/admin/schedule/?node=site:{other.id}", data=CAP_ALL_WEEK)
    client.post(f"/admin/schedule/?node=site:{mine.id}", data=CAP_ALL_WEEK)
    db.session.rollback()
    rules = db.session.scalars(select(ScheduleRule)).all()
    assert [(r.site_id, r.kind) for r in rules] == [(mine.id, RuleKind.CAP)]


def test_support_sees_a_sites_schedule_without_the_forms(login_as, create_site):
    site = create_site("Solna")
    client = login_as(Role.SUPPORT)
    page = _page(client, f"site:{site.id}")
    assert 'id="schedule-week"' in page.text
    assert 'id="rule-form"' not in page.text


def test_the_page_says_when_a_station_speaks_ocpp_1_5(
    login_as, create_site, create_station
):
    station = create_station(create_site(), "OLD15", protocol=Protocol.OCPP15_SOAP)
    client = login_as(Role.ADMIN)
    page = _page(client, f"station:{station.id}")
    assert 'id="schedule-ocpp15"' in page.text
    assert "by availability only" in page.text


def test_an_ev_user_may_not_open_the_schedule(login_as):
    assert login_as(Role.EV_USER).get("/admin/schedule/").status_code == 403


def test_a_remote_start_outside_the_window_is_refused_with_the_reason(
    login_as, create_site, create_station
):
    site = create_site("Solna")
    station = create_station(site, "CP1", outlets=1)
    client = login_as(Role.ADMIN)
    closed_today = {
        "form": "rule",
        "rule-kind": "window",
        "rule-on_date": datetime.now(UTC).date().isoformat(),
        "rule-closed": "closed",
        "rule-start": "00:00",
        "rule-end": "00:00",
        "rule-action": "refuse",
        "rule-cap_scope": "outlet",
    }
    client.post(f"/admin/schedule/?node=site:{site.id}", data=closed_today)
    answer = client.post(
        f"/admin/config/station/{station.id}/command/start",
        json={"outlet": 1, "tag": "4242"},
    )
    assert answer.status_code == 400
    assert "outside the charging window of Solna" in answer.json["text"]
