"""app/ftp_server.py: the built-in FTP server, driven by a real FTP client (ftplib)."""

from __future__ import annotations

import ftplib
import io
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from app import ftp_server
from app.extensions import db
from app.models import EventKind, EventLogEntry, Role
from app.services import ftp_files

CAP = 64 * 1024


@pytest.fixture
def app_config(app_config):
    return {
        **app_config,
        "FTP_ENABLED": True,
        "FTP_HOST": "127.0.0.1",
        "FTP_PORT": 0,
        "FTP_MAX_UPLOAD_BYTES": CAP,
    }


@pytest.fixture
def ftp(app) -> Iterator[ftp_server.PortalFtpServer]:
    server = ftp_server.start(app)
    assert server is not None
    yield server
    server.stop()


@pytest.fixture
def stations(create_site, create_station):
    north, south = create_site("North"), create_site("South")
    return create_station(north, "CP-A"), create_station(south, "CP-B")


def _password(app, chargebox_id: str) -> str:
    return ftp_files.station_password(ftp_files.ftp_settings(), chargebox_id)


def _login(app, ftp, chargebox_id: str, password: str | None = None) -> ftplib.FTP:
    client = ftplib.FTP()
    client.connect("127.0.0.1", ftp.port, timeout=5)
    try:
        client.login(chargebox_id, password or _password(app, chargebox_id))
    except ftplib.Error:
        client.close()
        raise
    return client


def _store(client: ftplib.FTP, path: str, data: bytes) -> None:
    client.storbinary(f"STOR {path}", io.BytesIO(data))


def test_an_upload_with_the_station_credentials_shows_for_that_station_only(
    app, ftp, stations, login_as
):
    a, b = stations
    with _login(app, ftp, "CP-A") as client:
        client.cwd("/diagnostics/CP-A")
        _store(client, "diag-1.log", b"boot log\n")
    admin = login_as(Role.ADMIN)
    assert (
        "diag-1.log"
        in admin.get(f"/admin/config/?node=station:{a.id}&tab=control").text
    )
    assert (
        "diag-1.log"
        not in admin.get(f"/admin/config/?node=station:{b.id}&tab=control").text
    )
    with admin.get(f"/admin/ftp/diagnostics/{a.id}/diag-1.log") as download:
        assert (download.status_code, download.data) == (200, b"boot log\n")
    assert admin.get(f"/admin/ftp/diagnostics/{b.id}/diag-1.log").status_code == 404
    logged = db.session.scalars(
        select(EventLogEntry).where(EventLogEntry.kind == EventKind.DIAGNOSTICS)
    ).one()
    assert logged.station_id == a.id and "diag-1.log" in logged.message


def test_a_site_administrator_cannot_download_another_sites_diagnostics(
    app, ftp, stations, login_as
):
    a, b = stations
    with _login(app, ftp, "CP-A") as client:
        _store(client, "/diagnostics/CP-A/diag.log", b"x")
    south_admin = login_as(Role.SITE_ADMIN, sites=[b.site])
    assert south_admin.get(f"/admin/ftp/diagnostics/{a.id}/diag.log").status_code == 404
    north_admin = login_as(Role.SITE_ADMIN, sites=[a.site])
    with north_admin.get(f"/admin/ftp/diagnostics/{a.id}/diag.log") as download:
        assert download.status_code == 200


def test_a_wrong_password_is_refused(app, ftp, stations):
    with pytest.raises(ftplib.error_perm, match="530"):
        _login(app, ftp, "CP-A", _password(app, "CP-B"))


def test_anonymous_login_is_refused(app, ftp, stations):
    client = ftplib.FTP()
    client.connect("127.0.0.1", ftp.port, timeout=5)
    with pytest.raises(ftplib.error_perm, match="530"):
        client.login()
    client.close()


def test_an_unknown_station_is_refused_even_with_its_derived_password(app, ftp):
    with pytest.raises(ftplib.error_perm, match="530"):
        _login(app, ftp, "CP-GHOST")


@pytest.mark.parametrize(
    "path",
    ["../CP-B/evil.log", "../../firmware/evil.bin", "/diagnostics/../firmware/x"],
)
def test_a_path_with_dot_dot_is_refused(app, ftp, stations, path):
    with _login(app, ftp, "CP-A") as client:
        client.cwd("/diagnostics/CP-A")
        with pytest.raises(ftplib.error_perm, match="550"):
            _store(client, path, b"evil")
    root = ftp_files.ftp_settings().root
    assert [p.name for p in root.rglob("*") if p.is_file()] == []


def test_a_station_cannot_write_into_another_stations_folder(app, ftp, stations):
    with _login(app, ftp, "CP-A") as client:
        with pytest.raises(ftplib.error_perm, match="550"):
            _store(client, "/diagnostics/CP-B/evil.log", b"evil")
        with pytest.raises(ftplib.error_perm, match="550"):
            client.nlst("/diagnostics")


def test_an_upload_over_the_cap_is_refused_and_removed(app, ftp, stations):
    _a, _b = stations
    with _login(app, ftp, "CP-A") as client:
        client.cwd("/diagnostics/CP-A")
        with pytest.raises(ftplib.error_perm, match="552"):
            try:
                _store(client, "huge.log", b"x" * (CAP * 4))
            except OSError:  # the server shut the data connection mid-send
                client.getresp()
    folder = ftp_files.station_folder(ftp_files.ftp_settings(), "CP-A")
    assert list(folder.iterdir()) == []


def test_a_firmware_image_uploaded_by_an_administrator_is_downloadable(
    app, ftp, stations, login_as
):
    admin = login_as(Role.ADMIN)
    response = admin.post(
        "/admin/firmware/",
        data={"image": (io.BytesIO(b"FIRMWARE-2.0"), "fw-2.0.bin")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    received = io.BytesIO()
    with _login(app, ftp, "CP-A") as client:
        client.retrbinary("RETR /firmware/fw-2.0.bin", received.write)
        with pytest.raises(ftplib.error_perm, match="550"):
            _store(client, "/firmware/fw-2.0.bin", b"tampered")
    assert received.getvalue() == b"FIRMWARE-2.0"


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.SITE_ADMIN])
def test_only_an_administrator_uploads_firmware_images(app, ftp, login_as, role):
    client = login_as(role)
    client.post(
        "/admin/firmware/",
        data={"image": (io.BytesIO(b"FW"), "fw.bin")},
        content_type="multipart/form-data",
    )
    assert list(ftp_files.firmware_folder(ftp_files.ftp_settings()).iterdir()) == []


def test_the_system_configuration_shows_the_real_ftp_address(app, ftp, login_as):
    page = login_as(Role.ADMIN).get("/admin/config/?node=system&tab=general").text
    assert f"ftp://127.0.0.1:{ftp.port}/" in page


def test_the_station_screen_defaults_to_the_built_in_ftp_server(
    app, ftp, stations, login_as
):
    a, _b = stations
    admin = login_as(Role.ADMIN)
    admin.post(
        "/admin/firmware/",
        data={"image": (io.BytesIO(b"FW"), "fw.bin")},
        content_type="multipart/form-data",
    )
    page = admin.get(f"/admin/config/?node=station:{a.id}&tab=control").text
    credentials = f"CP-A:{_password(app, 'CP-A')}@127.0.0.1:{ftp.port}"
    assert f"ftp://{credentials}/diagnostics/CP-A/" in page
    assert ">fw.bin</option>" in page  # from the firmware library


def test_the_server_starts_with_the_first_request_the_portal_serves(app, client):
    assert "ftp_server" not in app.extensions
    client.get("/login")
    server = app.extensions["ftp_server"]
    try:
        with ftplib.FTP() as probe:
            assert "Charge Portal" in probe.connect("127.0.0.1", server.port, timeout=5)
    finally:
        server.stop()


def test_a_command_line_run_starts_no_ftp_server(app, runner):
    assert runner.invoke(args=["jobs", "list"]).exit_code == 0
    assert "ftp_server" not in app.extensions


def test_a_port_held_by_another_process_leaves_the_portal_serving(app_config):
    import socket

    from app import create_app

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        other = create_app({**app_config, "FTP_PORT": port})
        assert ftp_server.start(other) is None
        assert other.test_client().get("/login").status_code == 200
    with other.app_context():
        db.engine.dispose()
