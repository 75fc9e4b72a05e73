"""Take the README's screenshots from a demo installation.

    PYTHONPATH=. .venv/bin/python docs/screenshots/take.py

Builds a throw-away portal (demo data, a drawn floor map, three simulated OCPP 1.6
stations: one idle, one charging, one faulted), serves it on a free local port and
photographs the dashboard, a station's Control tab and the floor-map placement
with Debian's Chromium. No map tiles are fetched.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

from ocpp.v16 import call
from PIL import Image, ImageDraw
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from app.models import Floor, Role, Station
from app.services import accounts, demo, places, topology
from tests.ocpp_server.v16.station import running_station

OUT = Path(__file__).parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ADMIN, PASSWORD = "boss@example.com", "demo12345"


def floor_plan() -> bytes:
    """A simple office floor drawn as a JPEG: rooms, a corridor, parking bays."""
    image = Image.new("RGB", (1200, 700), (248, 249, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 1180, 680), outline=(80, 80, 80), width=6)
    for x in (300, 600, 900):
        draw.line((x, 20, x, 260), fill=(120, 120, 120), width=4)
    draw.line((20, 260, 1180, 260), fill=(120, 120, 120), width=4)
    draw.rectangle((20, 260, 1180, 340), fill=(233, 236, 239))
    for index in range(10):
        x = 60 + index * 110
        draw.rectangle((x, 420, x + 90, 640), outline=(150, 150, 150), width=3)
        draw.text((x + 30, 520), f"P{index + 1}", fill=(90, 90, 90))
    for index, name in enumerate(("Reception", "Office", "Meeting", "Storage")):
        draw.text((120 + index * 300, 130), name, fill=(90, 90, 90))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def build(instance: Path) -> object:
    app = create_app(
        {
            "SECRET_KEY": "screenshots-secret-key-0123456789",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'portal.db'}",
            "INSTANCE_PATH": str(instance),
            "PORTAL_MAP_TILES": "",
            "PORTAL_NAVIGATOR_POLL_SECONDS": 1,
            "OCPP_FETCH_CONFIG_ON_BOOT": True,
        }
    )
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        demo.load_demo(weeks=3)
        admin = accounts.create_user(
            None,
            accounts.UserInput(
                email=ADMIN,
                password=PASSWORD,
                first_name="Berit",
                last_name="Boss",
                role=Role.ADMIN,
            ),
        )
        db.session.flush()
        floor = db.session.scalars(select(Floor).where(Floor.name == "Central 1")).one()
        places.store_floor_map(admin, floor, "central-1.jpg", floor_plan(), instance)
        spots = [(0.1, 0.76), (0.28, 0.76), (0.47, 0.76), (0.65, 0.76)]
        for station, (x, y) in zip(floor.stations, spots, strict=False):
            topology.set_floor_position(admin, station, x, y)
        topology.get_settings().ftp_address = "ftp://ftp.example.com/stations"
        db.session.commit()
    return app


def main() -> None:
    instance = Path(tempfile.mkdtemp(prefix="portal-shots-"))
    app = build(instance)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    boot = call.BootNotification(
        charge_point_vendor="ACME", charge_point_model="Wall 22"
    )
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    with (
        running_station(base, "000003586") as idle,
        running_station(base, "000003590") as charging,
        running_station(base, "000004083") as faulted,
    ):
        for station in (idle, charging, faulted):
            station.call(boot)
        charging.call(
            call.StartTransaction(
                connector_id=1, id_tag="1000001", meter_start=0, timestamp=now
            )
        )
        faulted.call(
            call.StatusNotification(
                connector_id=1, error_code="HighTemperature", status="Faulted"
            )
        )
        with app.app_context():
            station_id = db.session.scalars(
                select(Station.id).where(Station.chargebox_id == "000003586")
            ).one()
            floor_id = db.session.scalars(
                select(Floor.id).where(Floor.name == "Central 1")
            ).one()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"]
            )
            page = browser.new_page(
                viewport={"width": 1440, "height": 900}, locale="en-GB"
            )
            page.goto(f"{base}/login")
            page.fill("#email", ADMIN)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/admin/")
            page.screenshot(path=str(OUT / "dashboard.png"))

            page.goto(f"{base}/admin/config/?node=station:{station_id}&tab=control")
            page.click("#restart-soft")
            expect(page.locator("[data-result-for='reset']")).to_have_text("accepted")
            page.click("#send-local-list")
            expect(page.locator("[data-result-for='send_local_list']")).to_have_text(
                "accepted"
            )
            page.screenshot(path=str(OUT / "station-control.png"))

            page.goto(f"{base}/admin/config/?node=floor:{floor_id}&tab=positions")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT / "floor-map.png"))
            browser.close()
    server.shutdown()
    print("screenshots written to", OUT)  # noqa: T201


if __name__ == "__main__":
    main()
