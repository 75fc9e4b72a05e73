"""Browser: an administrator adds an EV user with a tag, who then logs in (spec §2)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.models import Role
from tests.conftest import PASSWORD


def _log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_admin_adds_an_ev_user_who_then_logs_in(page: Page, live_server, create_user):
    admin = create_user(Role.ADMIN, "boss@example.com")
    _log_in(page, live_server.url, admin.email, PASSWORD)
    expect(page.locator("h1")).to_have_text("Dashboard")

    page.goto(f"{live_server.url}/admin/users/new/")
    page.select_option("#role", "ev_user")
    expect(page.locator("#sites")).to_be_hidden()
    page.fill("#first_name", "Anna")
    page.fill("#last_name", "Holm")
    page.fill("#email", "anna@example.com")
    page.fill("#password", "charge2024")
    page.fill("#tag", "0x04A1B2C3")
    page.click("input[type=submit][value='Save']")
    expect(page.locator("td.col-email", has_text="anna@example.com")).to_be_visible()
    expect(page.locator("td.col-tags", has_text="04A1B2C3")).to_be_visible()

    page.click("#logout")
    expect(page.locator("#email")).to_be_visible()

    _log_in(page, live_server.url, "anna@example.com", "charge2024")
    expect(page.locator("body")).to_contain_text("My charging")
    assert "/admin/my_charging/" in page.url
