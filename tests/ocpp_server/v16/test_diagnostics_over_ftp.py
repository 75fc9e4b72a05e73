"""End to end: GetDiagnostics from the station screen → the station uploads to the
built-in FTP server → the file is listed on the station's page."""

from __future__ import annotations

import pytest

from app import ftp_server
from app.models import Role
from tests.ocpp_server.v16.conftest import eventually


@pytest.fixture
def app_config(app_config):
    return {**app_config, "FTP_ENABLED": True, "FTP_HOST": "127.0.0.1", "FTP_PORT": 0}


@pytest.fixture
def ftp(app):
    server = ftp_server.start(app)
    yield server
    server.stop()


def test_diagnostics_asked_from_the_station_screen_appear_on_its_page(
    ftp, station, station_record, login_as
):
    admin = login_as(Role.ADMIN)
    page = f"/admin/config/?node=station:{station_record.id}&tab=control"
    assert "diag-CP.zip" not in admin.get(page).text

    answer = admin.post(
        f"/admin/config/station/{station_record.id}/command/diagnostics",
        json={"location": ""},  # the screen's default: the built-in FTP server
    ).json
    assert answer["status"] == "accepted", answer

    name, payload = station.received[-1]
    assert name == "GetDiagnostics"
    assert payload["location"].startswith("ftp://000003586:")
    assert eventually(lambda: "diag-CP.zip" in admin.get(page).text)
    assert eventually(lambda: station_record.diagnostics_status == "Uploaded")
    assert station.cp.uploads == [(payload["location"], "uploaded")]
