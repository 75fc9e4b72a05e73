"""Browser: statistics filtered by date and a session's detail, a diagram's period, and
clearing an alarm (spec §5, §6, §7), in Chromium."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import AlarmKind, Role
from app.services import alarms
from tests.conftest import PASSWORD
from tests.services.session_factory import add_meter_values, add_session

pytestmark = pytest.mark.browser


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#logout")).to_be_visible()


@pytest.fixture
def admin(create_user):
    return create_user(Role.ADMIN, "boss@example.com")


@pytest.fixture
def station(create_site, create_station):
    return create_station(create_site("Solna"), "000004082", outlets=2)


def test_filter_the_statistics_by_date_range_and_open_a_sessions_detail(
    page: Page, live_server, admin, station
):
    for day in range(2, 7):
        session = add_session(
            station, datetime(2026, 3, day, 8, tzinfo=UTC), minutes=90, energy=day
        )
        add_meter_values(session, [1000, 1000 + day * 500, 1000 + day * 1000])
    log_in(page, live_server.url, admin.email)
    page.goto(f"{live_server.url}/admin/statistics/")
    expect(page.locator("#row-count")).to_contain_text("of 5")

    page.click("text=Add Filter")
    page.click("a.filter:text-is('Start time')")
    field = page.locator("input.filter-val").first
    field.fill("2026-03-03 00:00:00 to 2026-03-04 23:59:59")
    field.press("Escape")
    page.click("#filter_form button[type=submit]")
    expect(page.locator("#row-count")).to_contain_text("Rows 1-2 of 2")
    expect(page.locator("td.col-started_at")).to_have_text(
        ["2026-03-04 08:00:00.0", "2026-03-03 08:00:00.0"]
    )

    page.locator("a[title='View Record']").first.click()
    expect(page.locator("table.searchable")).to_contain_text("1hrs 30min 0sec")
    expect(page.locator("table.searchable")).to_contain_text("000004082 Connector: 1")
    expect(page.locator("#meter-values tbody tr")).to_have_count(3)
    expect(page.locator("#meter-chart canvas")).to_be_visible()


def test_change_a_diagrams_period_and_see_the_chart_redraw(
    page: Page, live_server, admin, station
):
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    for days_ago in (1, 2, 40):
        add_session(station, today - timedelta(days=days_ago), energy=7)
    log_in(page, live_server.url, admin.email)
    page.goto(f"{live_server.url}/admin/diagrams/?chart=energy_day")
    chart = page.locator("#diagram-chart")
    expect(chart).to_have_attribute("data-draws", "1")
    expect(chart).to_have_attribute("data-points", "30")
    expect(chart.locator("canvas")).to_be_visible()

    first = (today - timedelta(days=59)).date().isoformat()
    page.fill("#range-from", first)
    page.click("#range-apply")
    expect(chart).to_have_attribute("data-draws", "2")
    expect(chart).to_have_attribute("data-from", first)
    expect(chart).to_have_attribute("data-points", "60")
    expect(page.locator("#diagram-status")).to_contain_text("Σ 21")

    page.click("#chart-menu a[data-chart='top_stations']")
    expect(page.locator("#chart-title")).to_have_text("Top stations by energy")
    expect(chart).to_have_attribute("data-draws", "1")


def test_clear_an_active_alarm_and_find_it_in_the_history(
    page: Page, live_server, admin, station
):
    alarms.raise_alarm(
        AlarmKind.CONNECTOR_LOCK_FAILURE, station=station, outlet=station.outlets[0]
    )
    alarms.raise_alarm(AlarmKind.NO_NETWORK, station=station)
    db.session.commit()
    log_in(page, live_server.url, admin.email)
    page.goto(f"{live_server.url}/admin/alarms/")
    row = page.locator("tr", has_text="000004082 Connector: 1")
    expect(row).to_contain_text("Connector lock failure")
    row.locator("button", has_text="Clear").click()
    expect(page.locator(".alert")).to_contain_text(
        "Alarm cleared: 000004082 Connector: 1"
    )
    expect(page.locator("td.col-node_name")).to_have_text(["000004082"])

    history = page.locator("a.dropdown-item", has_text="Alarm history")
    expect(history).to_have_attribute("href", "/admin/alarm_history/")
    page.goto(
        live_server.url + "/admin/alarm_history/"
    )  # the menu's link; no hover race
    cleared = page.locator("tr", has_text="000004082 Connector: 1")
    expect(cleared).to_contain_text("Connector lock failure")
    expect(cleared).to_contain_text("boss@example.com")
