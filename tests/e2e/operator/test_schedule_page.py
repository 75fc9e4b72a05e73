"""Browser: a weekday power cap on a site, seen as an outlet's limit (spec §6b)."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from app.models import Role
from app.services import schedule
from tests.e2e.operator.conftest import log_in

MONDAY_08 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_a_weekday_cap_on_a_site_shows_as_the_limit_of_its_outlet(
    page: Page, live_server, create_site, create_station, create_user, monkeypatch
):
    monkeypatch.setattr(schedule.rules, "utcnow", lambda: MONDAY_08)  # a Monday morning
    create_user(Role.ADMIN, "boss@example.com")
    site = create_site("Solna")
    station = create_station(site, "000003586", outlets=2)
    outlet = station.outlets[0]
    log_in(page, live_server.url, "boss@example.com")

    page.click("a.dropdown-toggle:has-text('Configuration')")
    page.click("a:has-text('Schedule')")
    expect(page.locator("#schedule-choose")).to_be_visible()
    page.click(f"#navigator [data-node='site:{site.id}']")
    expect(page.locator("#schedule-node")).to_have_text("Solna")

    page.select_option("#rule-kind", "cap")
    for day in ("0", "1", "2", "3", "4"):  # Monday to Friday, checked by default
        expect(page.locator(f"#rule-days input[value='{day}']")).to_be_checked()
    expect(page.locator("#rule-days input[value='5']")).not_to_be_checked()
    page.fill("#rule-start", "07:00")
    page.fill("#rule-end", "10:00")
    page.fill("#rule-limit_a", "16")
    page.fill("#rule-note", "building peak")
    page.click("#add-rule")

    expect(page.locator(".alert-success")).to_contain_text("The rule is added.")
    expect(page.locator("#schedule-rules")).to_contain_text("building peak")
    monday = page.locator("#schedule-week .week-row").first
    expect(monday).to_contain_text("07:00 16 A")

    page.click(f"#navigator [data-node='outlet:{outlet.id}']")
    row = page.locator(f"#schedule-limits tr[data-outlet='{outlet.id}']")
    expect(row.locator(".limit-value")).to_have_text("16 A")
    expect(row.locator(".limit-why")).to_contain_text("cap of Solna")
    expect(row.locator(".limit-why")).to_contain_text("07:00-10:00")
