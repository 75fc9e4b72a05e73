"""admin_views/topology.py: create, delete and move through the forms (spec §3)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Floor, Outlet, Role, Site, Station


@pytest.fixture
def admin_client(login_as):
    return login_as(Role.ADMIN)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_creating_a_site(admin_client):
    response = admin_client.post(
        "/admin/sites/new/", data={"name": "Solna", "city": "Solna"}
    )
    assert response.status_code == 302
    assert db.session.scalars(select(Site)).one().city == "Solna"


def test_deleting_a_site_with_floors_is_refused_with_a_message(
    admin_client, create_site, create_floor
):
    site = create_site("Solna")
    create_floor(site, "Central 1")
    response = admin_client.post(
        "/admin/sites/delete/", data={"id": site.id}, follow_redirects=True
    )
    assert "The site Solna has floors: remove them first." in response.text
    assert _count(Site) == 1 and _count(Floor) == 1


def test_a_floor_without_a_site_is_refused_with_a_message(admin_client):
    response = admin_client.post(
        "/admin/floors/new/", data={"site": "__None", "name": "Central 1"}
    )
    assert response.status_code == 200
    assert "A floor needs a site" in response.text
    assert _count(Floor) == 0


def test_creating_a_station_with_its_outlets(admin_client, create_site, create_floor):
    site = create_site()
    floor = create_floor(site)
    data = {
        "chargebox_id": "000003586",
        "name": "Solna 01",
        "protocol": "OCPP16_JSON",
        "site": site.id,
        "floor": floor.id,
        "outlets": 2,
    }
    assert admin_client.post("/admin/stations/new/", data=data).status_code == 302
    station = db.session.scalars(select(Station)).one()
    assert (station.floor, len(station.outlets)) == (floor, 2)


def test_duplicate_chargebox_id_is_refused_on_the_form(
    admin_client, create_site, create_station
):
    site = create_site()
    create_station(site, "000003586")
    data = {
        "chargebox_id": "000003586",
        "protocol": "OCPP16_JSON",
        "site": site.id,
        "floor": "__None",
        "outlets": 1,
    }
    response = admin_client.post("/admin/stations/new/", data=data)
    assert "already exists" in response.text
    assert _count(Station) == 1


def test_moving_a_station_to_another_site(admin_client, create_site, create_station):
    solna, kista = create_site("Solna"), create_site("Kista")
    station = create_station(solna)
    data = {
        "name": station.name,
        "chargebox_id": station.chargebox_id,
        "protocol": "OCPP16_JSON",
        "description": "",
        "heartbeat_interval": 300,
        "availability": "public",
        "site": kista.id,
        "floor": "__None",
    }
    assert (
        admin_client.post(
            f"/admin/stations/edit/?id={station.id}", data=data
        ).status_code
        == 302
    )
    db.session.refresh(station)
    assert station.site == kista


def test_adding_a_fifth_outlet_is_refused(admin_client, create_site, create_station):
    station = create_station(create_site(), outlets=4)
    response = admin_client.post(
        "/admin/outlets/new/",
        data={"station": station.id, "connector_type": "Type 2"},
    )
    assert "already has 4 outlets" in response.text
    assert _count(Outlet) == 4


def test_support_edits_a_station_but_cannot_create_or_delete(
    login_as, create_site, create_station
):
    station = create_station(create_site())
    client = login_as(Role.SUPPORT)
    assert (
        client.get("/admin/stations/new/").status_code == 302
    )  # Flask-Admin: not allowed
    client.post("/admin/stations/delete/", data={"id": station.id})
    assert _count(Station) == 1
    assert client.get(f"/admin/stations/edit/?id={station.id}").status_code == 200


def test_dashboard_shows_the_topology(
    admin_client, create_site, create_floor, create_station
):
    site = create_site("Solna")
    floor = create_floor(site, "Central 1")
    create_station(site, "000003586", floor=floor, outlets=2)
    page = admin_client.get("/admin/").text
    assert "Solna" in page and "Central 1" in page and "000003586" in page
