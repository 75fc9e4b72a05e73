"""Browser: floor-map upload and station placement; a site administrator's view (issue 4)."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import FloorPosition, Role
from tests.e2e.operator.conftest import eventually, log_in


def _jpeg(width: int = 800, height: int = 500) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (235, 238, 242)).save(buffer, "JPEG")
    return buffer.getvalue()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 50), (200, 0, 0)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def floor_setup(create_site, create_floor, create_station, create_user):
    create_user(Role.ADMIN, "boss@example.com")
    site = create_site("Solna")
    floor = create_floor(site, "Central 1")
    station = create_station(site, "000003586", floor=floor)
    return floor, station


def _upload(page: Page, name: str, data: bytes, mime: str) -> None:
    page.set_input_files(
        "#floor_map", files=[{"name": name, "mimeType": mime, "buffer": data}]
    )
    page.click("#upload-floor-map")


def test_uploading_a_floor_map_and_dragging_a_station_onto_it(
    page: Page, live_server, floor_setup, tmp_path
):
    floor, station = floor_setup
    log_in(page, live_server.url, "boss@example.com")
    page.goto(f"{live_server.url}/admin/config/?node=floor:{floor.id}&tab=general")
    _upload(page, "plan.jpg", _jpeg(), "image/jpeg")
    expect(page.locator(".alert-success")).to_contain_text("The floor map is saved.")
    expect(page.locator("#config-tabs .active")).to_have_attribute(
        "data-tab", "positions"
    )

    plan = page.locator("#floor-plan-image")
    expect(plan).to_be_visible()
    chip = page.locator(f".floor-station[data-station='{station.id}']")
    box = plan.bounding_box()
    assert box is not None
    chip.drag_to(
        plan, target_position={"x": box["width"] * 0.25, "y": box["height"] * 0.5}
    )
    expect(page.locator("#position-result")).to_have_attribute("data-status", "saved")
    position = eventually(lambda: db.session.get(FloorPosition, station.id))
    assert position is not None and position.floor_id == floor.id
    assert position.x == pytest.approx(0.25, abs=0.03)
    assert position.y == pytest.approx(0.5, abs=0.03)

    # Still there after a reload.
    page.reload()
    left = page.locator(f"#floor-plan .floor-station[data-station='{station.id}']")
    expect(left).to_have_attribute("style", re.compile(r"left: 2[2-8](\.\d+)?%"))


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("big.jpg", b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024), "at most 2 MB"),
        ("photo.jpg", _png(), "not a JPEG image"),
        ("plan.png", _png(), "must be a .jpg file"),
    ],
    ids=["5 MB", "PNG renamed .jpg", "PNG"],
)
def test_a_wrong_floor_map_is_refused_with_the_reason(
    page: Page, live_server, floor_setup, name, data, reason
):
    floor, _station = floor_setup
    log_in(page, live_server.url, "boss@example.com")
    page.goto(f"{live_server.url}/admin/config/?node=floor:{floor.id}&tab=general")
    _upload(page, name, data, "image/jpeg")
    alert = page.locator(".alert-danger")
    expect(alert).to_contain_text("The floor map was refused")
    expect(alert).to_contain_text(reason)
    db.session.refresh(floor)
    assert floor.map_file is None


def test_a_site_administrator_sees_nothing_of_other_sites(
    page: Page, live_server, create_site, create_floor, create_station, create_user
):
    solna, kista = create_site("Solna"), create_site("Kista")
    create_station(solna, "SOLNA-1", floor=create_floor(solna, "Central 1"))
    kista_station = create_station(
        kista, "KISTA-1", floor=create_floor(kista, "Plan K")
    )
    create_user(Role.SITE_ADMIN, "sara@example.com", sites=[solna])
    log_in(page, live_server.url, "sara@example.com")

    navigator = page.locator("#navigator")
    expect(navigator).to_contain_text("Solna")
    expect(navigator).to_contain_text("SOLNA-1")
    expect(navigator).not_to_contain_text("Kista")
    expect(navigator).not_to_contain_text("KISTA-1")
    expect(page.locator("#dashboard")).not_to_contain_text("KISTA")
    expect(page.locator("[data-count='offline']")).to_have_text("1")

    page.goto(f"{live_server.url}/admin/config/?node=system")
    topology = page.locator("#topology")
    expect(topology).to_contain_text("SOLNA-1")
    expect(topology).not_to_contain_text("Kista")
    expect(topology).not_to_contain_text("KISTA-1")
    expect(page.locator("#config-tabs")).not_to_contain_text("General")

    # Another site's station by its id: not found; by the navigator: the whole system.
    response = page.goto(
        f"{live_server.url}/admin/config/map/station/{kista_station.id}"
    )
    assert response is not None and response.status == 404
    page.goto(f"{live_server.url}/admin/config/?node=station:{kista_station.id}")
    expect(page.locator("body")).not_to_contain_text("KISTA-1")
