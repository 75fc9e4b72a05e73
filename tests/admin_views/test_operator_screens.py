"""admin_views: navigator, dashboard, configuration pages and their JSON (issue 4).

Roles on the server for every page and endpoint (spec §1): administrators and
support reach the configuration, site administrators only their sites' nodes
(another site's id answers 404), EV users never (403).
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEntry,
    ChargingSession,
    ExternalService,
    Floor,
    NewsItem,
    OutletServiceId,
    Role,
    Site,
    Station,
    SystemSettings,
    utcnow,
)
from app.services import api_access, charging, topology

ROLES = [Role.ADMIN, Role.SITE_ADMIN, Role.SUPPORT, Role.EV_USER]
A, SA, SU, EV = ROLES


@pytest.fixture
def home(create_site, create_floor, create_station):
    """The site the site administrator manages: a floor with a two-outlet station."""
    site = create_site("Home site")
    floor = create_floor(site, "Plan 1")
    station = create_station(site, "HOME-1", floor=floor, outlets=2)
    return {
        "site": site,
        "floor": floor,
        "station": station,
        "outlet": station.outlets[0],
    }


@pytest.fixture
def other(create_site, create_floor, create_station):
    site = create_site("Kista")
    floor = create_floor(site, "Plan K")
    station = create_station(site, "KISTA-1", floor=floor)
    return {
        "site": site,
        "floor": floor,
        "station": station,
        "outlet": station.outlets[0],
    }


@pytest.fixture
def client_of(login_as, home):
    def make(role: Role):
        return login_as(role, sites=[home["site"]] if role is Role.SITE_ADMIN else None)

    return make


# page → roles that may open it (every other logged-in role gets 403)
PAGES = {
    "/admin/config/?node=system": [A, SA, SU],
    "/admin/config/?node=system&tab=general": [A, SA, SU],
    "/admin/config/?node=system&tab=topology": [A, SA, SU],
    "/admin/config/?node=system&tab=policies": [A, SA, SU],
    "/admin/navigator/": [A, SA, SU],
    "/admin/services/": [A],
    "/admin/services/new/": [A],
    "/admin/news/": [A],
    "/admin/news/new/": [A],
}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
@pytest.mark.parametrize("path", list(PAGES))
def test_each_role_opens_only_its_configuration_pages(client_of, path, role):
    status = client_of(role).get(path).status_code
    assert status == (200 if role in PAGES[path] else 403)


NODE_PAGES = [
    ("site", "general"),
    ("site", "address"),
    ("floor", "general"),
    ("floor", "positions"),
    ("station", "general"),
    ("station", "address"),
    ("station", "control"),
    ("station", "ocpp"),
    ("station", "log"),
    ("outlet", "general"),
]


@pytest.mark.parametrize("role", [A, SA, SU], ids=lambda r: r.value)
@pytest.mark.parametrize(("kind", "tab"), NODE_PAGES)
def test_staff_open_every_tab_of_their_nodes(client_of, home, role, kind, tab):
    response = client_of(role).get(
        "/admin/config/", query_string={"node": f"{kind}:{home[kind].id}", "tab": tab}
    )
    assert response.status_code == 200
    assert f'data-tab="{tab}"' in response.text


def test_ev_users_never_reach_configuration_or_commands(client_of, home):
    client = client_of(EV)
    station = home["station"]
    assert client.get(f"/admin/config/?node=station:{station.id}").status_code == 403
    assert (
        client.post(f"/admin/config/station/{station.id}/command/reset").status_code
        == 403
    )
    assert client.get("/admin/navigator/").status_code == 403
    assert 'id="navigator"' not in client.get("/admin/settings/").text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/admin/config/site/{site}/general"),
        ("post", "/admin/config/site/{site}/address"),
        ("get", "/admin/config/map/site/{site}"),
        ("post", "/admin/config/floor/{floor}/general"),
        ("post", "/admin/config/floor/{floor}/map"),
        ("get", "/admin/config/floor/{floor}/site-map"),
        ("post", "/admin/config/floor/{floor}/position"),
        ("post", "/admin/config/station/{station}/general"),
        ("post", "/admin/config/station/{station}/password"),
        ("post", "/admin/config/station/{station}/address"),
        ("post", "/admin/config/station/{station}/command/reset"),
        ("post", "/admin/config/station/{station}/command/firmware_library"),
        ("get", "/admin/config/map/station/{station}"),
        ("post", "/admin/config/outlet/{outlet}/general"),
        ("post", "/admin/config/outlet/{outlet}/services"),
        ("post", "/admin/config/topology/delete/station/{station}"),
    ],
)
def test_site_administrator_gets_404_for_another_sites_ids(
    client_of, other, method, path
):
    client = client_of(SA)
    url = path.format(**{key: row.id for key, row in other.items()})
    response = getattr(client, method)(url, data={"name": "Hijacked"})
    assert response.status_code == 404
    db.session.refresh(other["site"])
    assert other["site"].name == "Kista"
    assert db.session.get(Station, other["station"].id) is not None


def test_another_sites_node_in_the_navigator_falls_back_to_the_system(client_of, other):
    page = client_of(SA).get(f"/admin/config/?node=station:{other['station'].id}").text
    assert "KISTA-1" not in page and "Kista" not in page
    assert "Home site" in page


# ---------------------------------------------------------------------------
# Navigator


def test_navigator_shows_the_users_tree_on_every_page(client_of, home, other):
    for path in ("/admin/", "/admin/stations/", "/admin/settings/"):
        page = client_of(SA).get(path).text
        assert f'data-node="station:{home["station"].id}"' in page
        assert "KISTA-1" not in page
    assert "KISTA-1" in client_of(A).get("/admin/stations/").text


def test_navigator_status_json_is_scoped(client_of, home, other):
    statuses = client_of(SA).get("/admin/navigator/").json
    assert statuses[f"station:{home['station'].id}"] == "offline"
    assert f"station:{other['station'].id}" not in statuses
    assert set(statuses) == {
        f"station:{home['station'].id}",
        *(f"outlet:{outlet.id}" for outlet in home["station"].outlets),
    }


def test_selecting_a_node_survives_navigation(client_of, home):
    client = client_of(A)
    client.get(f"/admin/stations/?node=floor:{home['floor'].id}")
    page = client.get("/admin/config/").text
    assert "Floor: Home site / Plan 1" in page
    assert f'data-node="floor:{home["floor"].id}"\n' in page or "selected" in page


# ---------------------------------------------------------------------------
# Topology tab


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_creating_a_floor_without_a_site_is_refused_with_a_message(client_of):
    response = client_of(A).post(
        "/admin/config/topology/create/floor",
        data={"floor-site": "__None", "floor-name": "Central 1"},
        follow_redirects=True,
    )
    assert "A floor needs a site: create or choose the site first." in response.text
    assert _count(Floor) == 1  # only the fixture's


def test_deleting_a_site_that_has_floors_is_refused_with_a_message(client_of, home):
    response = client_of(A).post(
        f"/admin/config/topology/delete/site/{home['site'].id}", follow_redirects=True
    )
    assert "The site Home site has floors: remove them first." in response.text
    assert _count(Site) == 1


def test_creating_sites_floors_stations_and_connectors(client_of):
    client = client_of(A)
    client.post("/admin/config/topology/create/site", data={"site-name": "Solna"})
    solna = db.session.scalars(select(Site).where(Site.name == "Solna")).one()
    client.post(
        "/admin/config/topology/create/floor",
        data={"floor-site": solna.id, "floor-name": "Central 2"},
    )
    floor = db.session.scalars(select(Floor).where(Floor.name == "Central 2")).one()
    client.post(
        "/admin/config/topology/create/station",
        data={
            "station-chargebox_id": "NEW-1",
            "station-protocol": "OCPP16_JSON",
            "station-site": solna.id,
            "station-floor": floor.id,
            "station-outlets": 1,
            "station-mode": "OPEN",
        },
    )
    station = db.session.scalars(
        select(Station).where(Station.chargebox_id == "NEW-1")
    ).one()
    response = client.post(
        "/admin/config/topology/create/outlet",
        data={
            "outlet-station": station.id,
            "outlet-connector_type": "CCS",
            "outlet-mode": "RFID",
        },
        follow_redirects=True,
    )
    assert "Created." in response.text
    db.session.refresh(station)
    assert [(o.number, o.connector_type) for o in station.outlets] == [
        (1, "Type 2"),
        (2, "CCS"),
    ]


def test_moving_a_station_moves_its_sessions_site_only_from_then_on(
    client_of, home, create_site
):
    solna = create_site("Solna")
    station = home["station"]
    before = charging.start_session(station, 1, None, 0, utcnow() - timedelta(hours=2))
    db.session.commit()
    response = client_of(A).post(
        "/admin/config/topology/move",
        data={
            "move-station": station.id,
            "move-site": solna.id,
            "move-floor": "__None",
        },
        follow_redirects=True,
    )
    assert "Moved:" in response.text
    db.session.refresh(station)
    assert (station.site_id, station.floor_id) == (solna.id, None)
    after = charging.start_session(station, 2, None, 0, utcnow())
    db.session.commit()
    assert db.session.get(ChargingSession, before.session.id).site_id == home["site"].id
    assert after.session.site_id == solna.id


def test_site_administrator_cannot_create_a_site(client_of):
    response = client_of(SA).post(
        "/admin/config/topology/create/site",
        data={"site-name": "Mine"},
        follow_redirects=True,
    )
    assert "Your role does not allow this." in response.text
    assert _count(Site) == 1


# ---------------------------------------------------------------------------
# System General and Policies


def test_general_shows_the_addresses_this_server_serves(client_of):
    page = client_of(SU).get("/admin/config/?node=system&tab=general").text
    assert "ws://localhost/Ocpp/websocket/&lt;chargebox id&gt;" in page
    assert "http://localhost/Ocpp/CentralSystemService15" in page


def test_administrator_saves_general_settings_audited(client_of):
    response = client_of(A).post(
        "/admin/config/system/general",
        data={
            "system_name": "Fleet",
            "description": "ours",
            "ftp_address": "ftp://ftp.example.com/up",
        },
        follow_redirects=True,
    )
    assert "The general settings are saved." in response.text
    settings = db.session.get(SystemSettings, 1)
    assert (settings.system_name, settings.ftp_address) == (
        "Fleet",
        "ftp://ftp.example.com/up",
    )
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "SystemSettings")
    ).one()
    assert entry.changes["system_name"] == ["Charge Portal", "Fleet"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ftp_address": "http://x"}, "ftp://host/path"),
        ({"system_name": " "}, "This field is required."),
    ],
)
def test_bad_general_settings_are_refused(client_of, data, message):
    form = {"system_name": "Fleet", "description": "", "ftp_address": "", **data}
    response = client_of(A).post(
        "/admin/config/system/general", data=form, follow_redirects=True
    )
    assert message in response.text
    assert db.session.get(SystemSettings, 1) is None or (
        db.session.get(SystemSettings, 1).system_name == "Charge Portal"
    )


def test_support_reads_but_cannot_change_the_policies(client_of):
    client = client_of(SU)
    page = client.get("/admin/config/?node=system&tab=policies").text
    assert 'id="offline_threshold"' in page and "disabled" in page
    response = client.post(
        "/admin/config/system/policies",
        data={
            "connect_policy": "pending",
            "offline_threshold": 600,
            "default_heartbeat_interval": 120,
            "default_access": "OPEN",
            "alarm_digest_time": "06:30",
            "backup_retention": 30,
        },
        follow_redirects=True,
    )
    assert "Your role does not allow this." in response.text


def test_administrator_saves_policies(client_of):
    response = client_of(A).post(
        "/admin/config/system/policies",
        data={
            "connect_policy": "pending",
            "offline_threshold": 600,
            "default_heartbeat_interval": 120,
            "default_access": "OPEN",
            "alarm_digest_time": "06:30",
            "backup_retention": 30,
        },
        follow_redirects=True,
    )
    assert "The policies are saved." in response.text
    settings = topology.get_settings()
    assert settings.connect_policy.value == "pending"
    assert settings.alarm_digest_time.isoformat() == "06:30:00"


def test_policies_out_of_range_are_refused(client_of):
    response = client_of(A).post(
        "/admin/config/system/policies",
        data={
            "connect_policy": "pending",
            "offline_threshold": 5,
            "default_heartbeat_interval": 120,
            "default_access": "OPEN",
            "alarm_digest_time": "06:30",
            "backup_retention": 30,
        },
        follow_redirects=True,
    )
    assert "Offline threshold (s)" in response.text
    assert topology.get_settings().offline_threshold == 900


# ---------------------------------------------------------------------------
# Services: the secret is made by the portal, shown once, kept as a digest


def test_a_services_secret_is_shown_once_then_masked_and_audited_masked(client_of):
    client = client_of(A)
    client.post(
        "/admin/services/new/",
        data={"provider": "MapCo", "url": "https://maps.example.com", "active": "y"},
    )
    service = db.session.scalars(select(ExternalService)).one()
    assert service.secret_hash is None
    listing = client.get("/admin/services/").text
    assert "not set" in listing
    shown = client.post(f"/admin/services/rotate/{service.id}")
    secret = re.search(r'id="service-secret">([^<]+)<', shown.text).group(1)
    signing = re.search(r'id="signing-secret">([^<]+)<', shown.text).group(1)
    assert secret.startswith("cps_") and signing.startswith("whsec_")
    db.session.refresh(service)
    assert service.secret_hash == api_access.hash_token(secret)
    listing = client.get("/admin/services/").text
    assert secret not in listing and signing not in listing and "••••••••" in listing
    form = client.get(f"/admin/services/edit/?id={service.id}").text
    assert secret[8:] not in form
    client.post(
        f"/admin/services/edit/?id={service.id}",
        data={"provider": "MapCo 2", "url": "https://maps.example.com", "active": "y"},
    )
    db.session.refresh(service)
    assert service.secret_hash == api_access.hash_token(secret)
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "ExternalService")
    ).all()
    assert secret not in str([e.changes for e in entries])
    assert service.secret_hash not in str([e.changes for e in entries])
    assert any(e.changes.get("password") == ["***", "***"] for e in entries)


def test_outlet_ids_at_the_active_services(client_of, home):
    active = ExternalService(provider="PayCo", active=True)
    inactive = ExternalService(provider="RetiredCo", active=False)
    db.session.add_all([active, inactive])
    db.session.commit()
    client = client_of(SA)
    outlet = home["outlet"]
    page = client.get(f"/admin/config/?node=outlet:{outlet.id}").text
    assert "PayCo" in page and "RetiredCo" not in page
    client.post(
        f"/admin/config/outlet/{outlet.id}/services",
        data={f"service-{active.id}": "PAY-77"},
    )
    row = db.session.scalars(select(OutletServiceId)).one()
    assert (row.outlet_id, row.external_id) == (outlet.id, "PAY-77")
    assert "PAY-77" in client.get(f"/admin/config/?node=outlet:{outlet.id}").text
    client.post(
        f"/admin/config/outlet/{outlet.id}/services", data={f"service-{active.id}": ""}
    )
    assert _count(OutletServiceId) == 0


# ---------------------------------------------------------------------------
# Site, floor, station, outlet forms


def test_site_address_with_a_position(client_of, home):
    site = home["site"]
    response = client_of(SA).post(
        f"/admin/config/site/{site.id}/address",
        data={
            "street": "Centralvägen 1",
            "city": "Solna",
            "latitude": "59.36",
            "longitude": "18.0",
        },
        follow_redirects=True,
    )
    assert "The address is saved." in response.text
    db.session.refresh(site)
    assert (site.city, site.latitude, site.longitude) == ("Solna", 59.36, 18.0)


def test_a_position_needs_both_coordinates(client_of, home):
    site = home["site"]
    response = client_of(A).post(
        f"/admin/config/site/{site.id}/address",
        data={"latitude": "59.36"},
        follow_redirects=True,
    )
    assert "Give both latitude and longitude, or neither." in response.text


def test_site_map_is_folium_with_the_portals_own_leaflet(client_of, home):
    page = client_of(A).get(f"/admin/config/map/site/{home['site'].id}").text
    assert "/static/vendor/leaflet/leaflet.js" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "jquery" not in page.lower()
    assert "portal-position" in page


def test_station_address_is_editable_only_on_no_floor(client_of, home, create_station):
    on_floor = home["station"]
    response = client_of(A).post(
        f"/admin/config/station/{on_floor.id}/address",
        data={"street": "Somewhere 2"},
        follow_redirects=True,
    )
    assert "The station is on a floor" in response.text
    loose = create_station(home["site"], "LOOSE-1")
    client_of(A).post(
        f"/admin/config/station/{loose.id}/address", data={"street": "Somewhere 2"}
    )
    db.session.refresh(loose)
    assert loose.street == "Somewhere 2"


def test_station_password_is_set_and_removed_audited_never_shown(client_of, home):
    station = home["station"]
    client = client_of(SU)
    response = client.post(
        f"/admin/config/station/{station.id}/password",
        data={"password": "a-long-station-pass-1", "action": "set"},
        follow_redirects=True,
    )
    assert "The station password is set." in response.text
    db.session.refresh(station)
    assert (
        station.auth_password_hash
        and "a-long-station" not in station.auth_password_hash
    )
    short = client.post(
        f"/admin/config/station/{station.id}/password",
        data={"password": "short", "action": "set"},
        follow_redirects=True,
    )
    assert "at least 16 characters" in short.text
    client.post(
        f"/admin/config/station/{station.id}/password", data={"action": "remove"}
    )
    db.session.refresh(station)
    assert station.auth_password_hash is None
    changes = [e.changes for e in db.session.scalars(select(AuditEntry))]
    assert "a-long-station-pass-1" not in str(changes)


def test_station_general_saves(client_of, home):
    station = home["station"]
    response = client_of(SU).post(
        f"/admin/config/station/{station.id}/general",
        data={
            "name": "Entrance",
            "chargebox_id": "HOME-1",
            "description": "by the door",
            "protocol": "OCPP16_JSON",
            "heartbeat_interval": 120,
            "availability": "private",
        },
        follow_redirects=True,
    )
    assert "The station is saved." in response.text
    db.session.refresh(station)
    assert (station.name, station.heartbeat_interval, station.availability.value) == (
        "Entrance",
        120,
        "private",
    )


def test_outlet_general_saves(client_of, home):
    outlet = home["outlet"]
    client_of(SA).post(
        f"/admin/config/outlet/{outlet.id}/general",
        data={"connector_type": "CCS", "parking": "P7"},
    )
    db.session.refresh(outlet)
    assert (outlet.connector_type, outlet.parking) == ("CCS", "P7")


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_floor_map_upload_and_position(client_of, home, app):
    floor, station = home["floor"], home["station"]
    client = client_of(SA)
    response = client.post(
        f"/admin/config/floor/{floor.id}/map",
        data={"floor_map": (io.BytesIO(_jpeg()), "plan.JPG")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.refresh(floor)
    with client.get(f"/admin/config/floor/{floor.id}/map.jpg") as image:
        assert image.status_code == 200 and image.data == _jpeg()
    saved = client.post(
        f"/admin/config/floor/{floor.id}/position",
        json={"station": station.id, "x": 0.5, "y": 0.25},
    )
    assert saved.json["status"] == "saved"
    db.session.refresh(station)
    assert (station.position.x, station.position.y) == (0.5, 0.25)
    outside = client.post(
        f"/admin/config/floor/{floor.id}/position",
        json={"station": station.id, "x": 2, "y": 0},
    )
    assert outside.status_code == 400 and "on the map" in outside.json["text"]


def test_floor_map_replaced_removes_the_old_file(client_of, home, app):
    from pathlib import Path

    floor = home["floor"]
    client = client_of(A)
    for _ in range(2):
        client.post(
            f"/admin/config/floor/{floor.id}/map",
            data={"floor_map": (io.BytesIO(_jpeg()), "plan.jpg")},
            content_type="multipart/form-data",
        )
    files = list((Path(app.instance_path) / "floor-maps").iterdir())
    db.session.refresh(floor)
    assert [f.name for f in files] == [floor.map_file]


# ---------------------------------------------------------------------------
# Station commands as JSON


def test_commands_to_an_offline_station_answer_offline_as_json(client_of, home):
    station = home["station"]
    for role in (A, SA, SU):
        body = (
            client_of(role)
            .post(
                f"/admin/config/station/{station.id}/command/reset",
                json={"type": "hard"},
            )
            .json
        )
        assert (body["status"], body["text"]) == ("offline", "station offline")


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("unlock", {"outlet": 9}, "The station has no outlet 9."),
        ("start", {"outlet": 1, "tag": "A" * 21}, "at most 20 characters"),
        ("stop", {"outlet": 1}, "No charging session is running"),
        ("firmware", {"location": "file:///etc/passwd"}, "Give an address"),
        ("diagnostics", {"location": ""}, "no FTP address"),
        ("trigger", {"message": "Reset"}, "No such message"),
        ("change_configuration", {"key": "X", "value": "1", "outlet": "a"}, None),
    ],
)
def test_bad_command_input_is_refused_before_anything_is_sent(
    client_of, home, command, args, message
):
    response = client_of(A).post(
        f"/admin/config/station/{home['station'].id}/command/{command}", json=args
    )
    if message is None:
        assert response.json["status"] == "offline"
        return
    assert response.status_code == 400
    assert message in response.json["text"]


def test_unknown_command_is_404(client_of, home):
    response = client_of(A).post(
        f"/admin/config/station/{home['station'].id}/command/explode", json={}
    )
    assert response.status_code == 404


# ---------------------------------------------------------------------------
# Dashboard, panels and news


def test_dashboard_panels_are_chosen_in_user_settings(client_of, home):
    client = client_of(SA)
    page = client.get("/admin/").text
    assert 'data-widget="status"' in page and 'data-widget="news"' not in page
    client.post(
        "/admin/settings/",
        data={
            "panels-slot1": "news",
            "panels-slot2": "charging",
            "panels-slot3": "energy",
            "panels-slot4": "alarms",
        },
    )
    page = client.get("/admin/").text
    assert page.index('data-widget="news"') < page.index('data-widget="charging"')
    assert 'data-widget="status"' not in page


def test_dashboard_numbers_are_the_users_own_scope(client_of, home, other):
    for station, energy in ((home["station"], 11.5), (other["station"], 99.0)):
        db.session.add(
            ChargingSession(
                site_id=station.site_id,
                station_id=station.id,
                outlet_id=station.outlets[0].id,
                outlet_number=1,
                started_at=utcnow() - timedelta(minutes=5),
                energy_kwh=energy,
            )
        )
    db.session.commit()
    client = client_of(SA)
    client.post(
        "/admin/settings/",
        data={
            "panels-slot1": "energy",
            "panels-slot2": "charging",
            "panels-slot3": "status",
            "panels-slot4": "sessions",
        },
    )
    page = client.get("/admin/").text
    assert "11.5 kWh" in page and "99.0" not in page
    assert "HOME-1" in page and "KISTA-1" not in page


def test_administrators_write_news_everyone_reads_it(client_of):
    client_of(A).post(
        "/admin/news/new/",
        data={"title": "Maintenance Friday", "body": "Solna closes at 18."},
    )
    item = db.session.scalars(select(NewsItem)).one()
    assert item.title == "Maintenance Friday"
    assert (
        db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "NewsItem"))
        .one()
        .action
        == "create"
    )
    page = client_of(SU).get("/admin/").text
    assert 'id="news-button"' in page and "Maintenance Friday" in page


def test_a_floor_without_a_map_places_its_stations_on_the_sites_map(client_of, home):
    floor, station = home["floor"], home["station"]
    client = client_of(SA)
    page = client.get(f"/admin/config/?node=floor:{floor.id}&tab=positions").text
    assert 'id="site-map"' in page and 'id="floor-plan"' not in page
    site_map = client.get(f"/admin/config/floor/{floor.id}/site-map").text
    assert "/static/vendor/leaflet/leaflet.js" in site_map
    assert f'"id": {station.id}' in site_map and "portal-place" in site_map
    saved = client.post(
        f"/admin/config/floor/{floor.id}/position",
        json={"station": station.id, "lat": 59.36, "lng": 18.01},
    )
    assert saved.json["status"] == "saved"
    db.session.refresh(station)
    assert (station.latitude, station.longitude) == (59.36, 18.01)


def test_administrator_sets_how_readers_send_cards_in_the_policies(client_of):
    from app.models import TagNotation

    page = client_of(A).get("/admin/config/?node=system&tab=policies").text
    assert 'id="tag_notation"' in page
    response = client_of(A).post(
        "/admin/config/system/policies",
        data={
            "connect_policy": "known_only",
            "offline_threshold": 900,
            "default_heartbeat_interval": 300,
            "default_access": "KNOWN",
            "alarm_digest_time": "07:00",
            "backup_retention": 30,
            "tag_notation": "decimal",
        },
        follow_redirects=True,
    )
    assert "The policies are saved." in response.text
    assert topology.get_settings().tag_notation is TagNotation.DECIMAL


def test_a_site_and_a_station_say_how_their_readers_send_cards(client_of, home):
    from app.models import TagNotation

    station = home["station"]
    site = station.site
    client = client_of(SA)
    assert 'id="tag_notation"' in client.get(f"/admin/config/?node=site:{site.id}").text
    client.post(
        f"/admin/config/site/{site.id}/general",
        data={"name": site.name, "tag_notation": "decimal"},
    )
    client.post(
        f"/admin/config/station/{station.id}/general",
        data={
            "name": station.name,
            "chargebox_id": station.chargebox_id,
            "protocol": "OCPP16_JSON",
            "heartbeat_interval": 300,
            "availability": "public",
            "tag_notation": "hex",
        },
    )
    db.session.refresh(site)
    db.session.refresh(station)
    assert (site.tag_notation, station.tag_notation) == (
        TagNotation.DECIMAL,
        TagNotation.HEX,
    )
