"""Browser: the navigator's colours and the station's Control and OCPP tabs (issue 4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ocpp.v16 import call
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.models import Role, StationConfigKey
from tests.e2e.operator.conftest import eventually, log_in

BOOT = call.BootNotification(charge_point_vendor="ACME", charge_point_model="Wall 22")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def solna_station(create_site, create_station, create_user):
    create_user(Role.ADMIN, "boss@example.com")
    return create_station(create_site("Solna"), "000003586", outlets=2)


def test_navigator_turns_blue_when_charging_and_red_on_a_fault(
    page: Page, live_server, connect, solna_station
):
    with connect(solna_station.chargebox_id) as station:
        station.call(BOOT)
        log_in(page, live_server.url, "boss@example.com")
        node = page.locator(f"#navigator [data-node='station:{solna_station.id}']")
        expect(node).to_have_attribute("data-status", "online")
        expect(node).to_have_css("color", "rgb(33, 37, 41)")  # black

        station.call(
            call.StartTransaction(
                connector_id=1,
                id_tag="4242",
                meter_start=1000,
                timestamp=_iso(datetime.now(UTC)),
            )
        )
        expect(node).to_have_attribute("data-status", "charging")
        expect(node).to_have_css("color", "rgb(13, 110, 253)")  # blue
        outlet = page.locator(
            f"#navigator [data-node='outlet:{solna_station.outlets[0].id}']"
        )
        expect(outlet).to_have_attribute("data-status", "charging")

        station.call(
            call.StatusNotification(
                connector_id=2, error_code="GroundFailure", status="Faulted"
            )
        )
        expect(node).to_have_attribute("data-status", "fault")
        expect(node).to_have_css("color", "rgb(220, 53, 69)")  # red

    # The connection closed: grey, faded.
    expect(node).to_have_attribute("data-status", "offline")


def test_restart_sends_reset_and_shows_accepted(
    page: Page, live_server, connect, solna_station
):
    with connect(solna_station.chargebox_id) as station:
        station.call(BOOT)
        log_in(page, live_server.url, "boss@example.com")
        page.goto(
            f"{live_server.url}/admin/config/?node=station:{solna_station.id}&tab=control"
        )
        page.click("#restart-soft")
        result = page.locator("[data-result-for='reset']")
        expect(result).to_have_attribute("data-status", "accepted")
        expect(result).to_have_text("accepted")
        assert ("Reset", {"type": "Soft"}) in station.received
        assert "/tab=control" not in page.url or "control" in page.url  # same page


def test_start_and_stop_on_an_outlet_show_their_results(
    page: Page, live_server, connect, solna_station
):
    with connect(solna_station.chargebox_id) as station:
        station.call(BOOT)
        log_in(page, live_server.url, "boss@example.com")
        page.goto(
            f"{live_server.url}/admin/config/?node=station:{solna_station.id}&tab=control"
        )
        page.select_option("#start-outlet", "2")
        page.fill("#start-tag", "0x10")
        page.click("#start-charging")
        expect(page.locator("[data-result-for='start']")).to_have_attribute(
            "data-status", "accepted"
        )
        assert ("RemoteStartTransaction", {"id_tag": "10", "connector_id": 2}) in [
            (name, {k: payload.get(k) for k in ("id_tag", "connector_id")})
            for name, payload in station.received
        ]
        # Nothing runs on outlet 1: a clear message, nothing sent.
        page.select_option("#stop-outlet", "1")
        page.click("#stop-charging")
        expect(page.locator("[data-result-for='stop']")).to_have_text(
            "No charging session is running on that outlet."
        )


def test_editing_heartbeat_interval_in_the_ocpp_tab_reaches_the_station(
    page: Page, live_server, connect, solna_station
):
    with connect(solna_station.chargebox_id) as station:
        station.call(BOOT)
        log_in(page, live_server.url, "boss@example.com")
        page.goto(
            f"{live_server.url}/admin/config/?node=station:{solna_station.id}&tab=ocpp"
        )
        page.click("#upload-keys")  # GetConfiguration: the table arrives
        row = page.locator("#config-keys tr[data-key='HeartbeatInterval']")
        expect(row.locator("input.value")).to_have_value("300")
        expect(
            page.locator("#config-keys tr[data-key='NumberOfConnectors'] input")
        ).to_have_count(0)  # read-only: no Save

        row.locator("input.value").fill("120")
        row.locator(".save-key").click()
        expect(row.locator(".command-result")).to_have_attribute(
            "data-status", "accepted"
        )
        assert (
            "ChangeConfiguration",
            {"key": "HeartbeatInterval", "value": "120"},
        ) in station.received
        stored = eventually(
            lambda: next(
                (
                    key.value
                    for key in select_keys(solna_station.id)
                    if key.key == "HeartbeatInterval" and key.value == "120"
                ),
                None,
            )
        )
        assert stored == "120"


def select_keys(station_id: int) -> list[StationConfigKey]:
    from app.extensions import db

    return list(
        db.session.scalars(
            select(StationConfigKey).where(StationConfigKey.station_id == station_id)
        )
    )


def test_an_offline_station_answers_offline(page: Page, live_server, solna_station):
    log_in(page, live_server.url, "boss@example.com")
    page.goto(
        f"{live_server.url}/admin/config/?node=station:{solna_station.id}&tab=control"
    )
    page.click("#clear-cache")
    result = page.locator("[data-result-for='clear_cache']")
    expect(result).to_have_attribute("data-status", "offline")
    expect(result).to_have_text("station offline")
