"""The firmware library (app.services.firmware, admin_views.firmware): one store,
one upload path, listed once, offered to a real station over FTP (a real pyftpdlib
server, ftplib fetching) and over HTTP (the live portal) from the same files."""

from __future__ import annotations

import ftplib
import hashlib
import io
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app import ftp_server
from app.extensions import db
from app.models import EventKind, EventLogEntry, FirmwareImage, Role
from app.services import firmware, ftp_files
from tests.ocpp_server.v16.station import running_station

IMAGE = b"\x7fELF firmware 2.0"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "FTP_ENABLED": True,
        "FTP_HOST": "127.0.0.1",
        "FTP_PORT": 0,
        "OCPP_COMMAND_TIMEOUT": 2.0,
        "OCPP_FETCH_CONFIG_ON_BOOT": False,
    }


@pytest.fixture
def ftp(app) -> Iterator[ftp_server.PortalFtpServer]:
    server = ftp_server.start(app)
    assert server is not None
    yield server
    server.stop()


def _upload(client, name: str = "fw-2.0.bin", data: bytes = IMAGE):
    return client.post(
        "/admin/firmware/",
        data={"image": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _image(name: str = "fw-2.0.bin") -> FirmwareImage | None:
    db.session.rollback()
    return db.session.scalars(
        select(FirmwareImage).where(FirmwareImage.name == name)
    ).first()


def test_an_uploaded_image_is_listed_once_with_its_size_checksum_and_uploader(
    app, login_as
):
    admin = login_as(Role.ADMIN)
    assert _upload(admin).status_code == 302
    image = _image()
    assert image is not None
    assert (image.size, image.sha256) == (len(IMAGE), hashlib.sha256(IMAGE).hexdigest())
    assert image.uploaded_by_id == admin.user.id
    assert (firmware.library_folder() / "fw-2.0.bin").read_bytes() == IMAGE
    page = admin.get("/admin/firmware/").text
    assert page.count('data-image="fw-2.0.bin"') == 1
    assert image.sha256 in page and admin.user.email in page
    logged = db.session.scalars(
        select(EventLogEntry).where(EventLogEntry.kind == EventKind.FIRMWARE)
    ).one()
    assert "fw-2.0.bin" in logged.message


def test_a_second_image_of_the_same_name_is_refused_and_the_first_kept(app, login_as):
    admin = login_as(Role.ADMIN)
    _upload(admin)
    response = _upload(admin, data=b"other bytes")
    assert "delete it first" in admin.get(response.location).text
    assert (firmware.library_folder() / "fw-2.0.bin").read_bytes() == IMAGE
    assert db.session.query(FirmwareImage).count() == 1


def test_staff_download_an_image_of_the_library(app, login_as):
    _upload(login_as(Role.ADMIN))
    image = _image()
    with login_as(Role.SUPPORT).get(f"/admin/firmware/{image.id}") as download:
        assert (download.status_code, download.data) == (200, IMAGE)


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.SITE_ADMIN])
def test_only_an_administrator_adds_or_deletes_images(app, login_as, role):
    admin = login_as(Role.ADMIN)
    _upload(admin)
    image = _image()
    other = login_as(role)
    _upload(other, "fw-3.0.bin")
    other.post(f"/admin/firmware/{image.id}/delete")
    assert _image("fw-3.0.bin") is None
    assert _image() is not None
    assert sorted(p.name for p in firmware.library_folder().iterdir()) == ["fw-2.0.bin"]


def test_deleting_an_image_removes_its_file_its_record_and_its_addresses(
    app, ftp, login_as, client, create_site, create_station
):
    station = create_station(create_site(), "CP-F")
    admin = login_as(Role.ADMIN)
    _upload(admin)
    image = _image()
    with app.test_request_context():
        http_path = urlsplit(firmware.location(image, station, "http")).path
    with client.get(http_path) as served:
        assert served.status_code == 200
    assert admin.post(f"/admin/firmware/{image.id}/delete").status_code == 302
    assert _image() is None
    assert list(firmware.library_folder().iterdir()) == []
    assert client.get(http_path).status_code == 404
    password = ftp_files.station_password(ftp_files.ftp_settings(), "CP-F")
    with ftplib.FTP() as session:
        session.connect("127.0.0.1", ftp.port, timeout=5)
        session.login("CP-F", password)
        with pytest.raises(ftplib.error_perm, match="550"):
            session.retrbinary("RETR /firmware/fw-2.0.bin", io.BytesIO().write)


def test_a_guessed_http_token_finds_nothing(app, login_as, client):
    _upload(login_as(Role.ADMIN))
    assert (
        client.get("/firmware/guessed-token-000000000000/fw-2.0.bin").status_code == 404
    )


def _update_from_library(admin, station_id: int, image_id: int, via: str) -> Any:
    return admin.post(
        f"/admin/config/station/{station_id}/command/firmware_library",
        json={"image": str(image_id), "via": via},
    )


def _received_location(runner) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [p for name, p in runner.received if name == "UpdateFirmware"]
        if found:
            return str(found[-1]["location"])
        time.sleep(0.02)
    raise AssertionError("no UpdateFirmware reached the station")


@pytest.mark.parametrize("via", ["ftp", "http"])
def test_the_control_tab_offers_a_library_image_that_the_station_fetches(
    app, ftp, live_server, login_as, create_site, create_station, via
):
    station = create_station(create_site("Solna"), "000003586", outlets=1)
    admin = login_as(Role.ADMIN)
    _upload(admin)
    image = _image()
    page = admin.get(f"/admin/config/?node=station:{station.id}&tab=control").text
    assert f'<option value="{image.id}">fw-2.0.bin</option>' in page
    assert '<option value="ftp">FTP</option>' in page
    registry = live_server.app.extensions["ocpp_websocket"].registry
    with running_station(live_server.url, "000003586") as runner:
        deadline = time.monotonic() + 5
        while "000003586" not in registry and time.monotonic() < deadline:
            time.sleep(0.01)
        response = _update_from_library(admin, station.id, image.id, via)
        assert response.json["status"] == "accepted", response.json
        location = _received_location(runner)
    parts = urlsplit(location)
    assert parts.scheme == via and parts.path.endswith("/fw-2.0.bin")
    if via == "ftp":
        received = io.BytesIO()
        with ftplib.FTP() as session:
            session.connect("127.0.0.1", ftp.port, timeout=5)
            session.login(parts.username, parts.password)
            session.retrbinary(f"RETR {parts.path}", received.write)
        assert received.getvalue() == IMAGE
    else:
        with urllib.request.urlopen(live_server.url + parts.path, timeout=5) as got:
            assert got.read() == IMAGE


def test_a_site_administrator_offers_library_images_to_his_own_stations_only(
    app, login_as, create_site, create_station
):
    home, away = create_site("Home"), create_site("Away")
    mine, theirs = create_station(home, "CP-H"), create_station(away, "CP-X")
    _upload(login_as(Role.ADMIN))
    image = _image()
    site_admin = login_as(Role.SITE_ADMIN, sites=[home])
    assert (
        _update_from_library(site_admin, mine.id, image.id, "http").json["status"]
        == "offline"
    )
    assert (
        _update_from_library(site_admin, theirs.id, image.id, "http").status_code == 404
    )


def test_an_unknown_image_or_way_is_refused_before_anything_is_sent(
    app, login_as, create_site, create_station
):
    station = create_station(create_site(), "CP-U")
    admin = login_as(Role.ADMIN)
    _upload(admin)
    image = _image()
    assert _update_from_library(admin, station.id, 999999, "http").status_code == 400
    refused = _update_from_library(admin, station.id, image.id, "gopher")
    assert refused.status_code == 400 and "FTP or HTTP" in refused.json["text"]
