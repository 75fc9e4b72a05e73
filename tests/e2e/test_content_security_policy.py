"""Browser: the Content-Security-Policy blocks nothing the pages need (issue #11)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import NewsItem, Role
from app.services import dashboard
from tests.conftest import PASSWORD

# Report every CSP violation of the page (and its frames) into a list the test reads.
# Flask-Admin's inline onclick attributes are blocked on purpose (script-src-attr;
# app/static/inline_handlers.js does their work): only those may be reported.
_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  if (e.violatedDirective === "script-src-attr") return;
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def _log_in(page: Page, base: str, email: str) -> None:
    page.set_default_timeout(30_000)  # a loaded CI machine; scrypt at login
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")


def test_admin_pages_run_under_the_policy_without_violations(
    page: Page, live_server, create_user, create_site, create_floor, create_station
):
    site = create_site("Solna")
    floor = create_floor(site)
    station = create_station(site, "CSP-1", floor=floor)
    admin = create_user(Role.ADMIN, "csp@example.com")
    messages: list[str] = []
    page.on(
        "console",
        lambda msg: messages.append(msg.text) if msg.type == "error" else None,
    )
    page.add_init_script(_WATCH)
    _log_in(page, live_server.url, admin.email)
    for path in [
        "/admin/",
        "/admin/sites/",
        f"/admin/stations/details/?id={station.id}",
        "/admin/statistics/",
        "/admin/diagrams/",
        "/admin/alarms/",
        f"/admin/config/?node=station:{station.id}",
        f"/admin/config/?node=floor:{floor.id}",
    ]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        violations = page.evaluate("window.__cspViolations")
        for frame in page.frames[1:]:  # the map iframes
            violations += frame.evaluate("window.__cspViolations || []")
        assert violations == [], (path, violations)
    blocked = [
        m
        for m in messages
        if "Content Security Policy" in m and "inline event handler" not in m
    ]
    assert blocked == [], blocked


def test_deleting_a_row_still_asks_first(page: Page, live_server, create_user):
    admin = create_user(Role.ADMIN, "csp-del@example.com")
    news = dashboard.create_news(admin, "CSP-DEL", "Kept unless confirmed")
    db.session.commit()
    _log_in(page, live_server.url, admin.email)
    page.goto(f"{live_server.url}/admin/news/")
    asked: list[str] = []

    def dismiss(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.click("form.icon button[title='Delete Record']")
    page.wait_for_load_state("networkidle")
    assert asked == ["Are you sure you want to delete this record?"]
    db.session.rollback()
    assert db.session.get(NewsItem, news.id) is not None
