"""admin_views/topology.py: the topology lists (spec §3) filter, sort and export;
creating, editing, moving and deleting are the configuration screens' alone."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Outlet, Role, Site, Station


@pytest.fixture
def admin_client(login_as):
    return login_as(Role.ADMIN)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("endpoint", ["sites", "floors", "stations", "outlets"])
def test_a_topology_list_offers_no_form_of_its_own(
    admin_client, create_site, create_station, endpoint
):
    create_station(create_site("Solna"), "000003586")
    page = admin_client.get(f"/admin/{endpoint}/").text
    assert f"/admin/{endpoint}/new/" not in page
    assert f"/admin/{endpoint}/edit/" not in page
    assert "/admin/config/?node=system&amp;tab=topology" in page
    assert admin_client.get(f"/admin/{endpoint}/new/").status_code == 302


def test_posting_to_a_list_creates_changes_and_deletes_nothing(
    admin_client, create_site, create_station
):
    station = create_station(create_site("Solna"), "000003586", outlets=1)
    admin_client.post("/admin/sites/new/", data={"name": "Forged"})
    admin_client.post(
        f"/admin/stations/edit/?id={station.id}",
        data={"name": "Renamed", "chargebox_id": "X"},
    )
    admin_client.post("/admin/outlets/delete/", data={"id": station.outlets[0].id})
    admin_client.post("/admin/stations/delete/", data={"id": station.id})
    db.session.expire_all()
    assert (_count(Site), _count(Station), _count(Outlet)) == (1, 1, 1)
    assert db.session.get(Station, station.id).chargebox_id == "000003586"


def test_each_row_links_to_its_nodes_configuration_screen(
    admin_client, create_site, create_floor, create_station
):
    site = create_site("Solna")
    floor = create_floor(site, "Central 1")
    station = create_station(site, "000003586", floor=floor)
    for endpoint, node in (
        ("sites", f"site:{site.id}"),
        ("floors", f"floor:{floor.id}"),
        ("stations", f"station:{station.id}"),
        ("outlets", f"outlet:{station.outlets[0].id}"),
    ):
        page = admin_client.get(f"/admin/{endpoint}/").text
        assert f'href="/admin/config/?node={node}"' in page


def test_the_station_list_filters_and_exports_plain_values(
    admin_client, create_site, create_station
):
    create_station(create_site("Solna"), "SOLNA-1")
    create_station(create_site("Kista"), "KISTA-1")
    page = admin_client.get("/admin/stations/?flt0_site_equals=Solna").text
    assert 'class="to-screen">SOLNA-1<' in page
    assert 'class="to-screen">KISTA-1<' not in page
    export = admin_client.get("/admin/stations/export/csv/").text
    assert "SOLNA-1" in export and "<a " not in export


def test_duplicate_chargebox_id_is_refused_on_the_topology_tab(
    admin_client, create_site, create_station
):
    site = create_site()
    create_station(site, "000003586")
    response = admin_client.post(
        "/admin/config/topology/create/station",
        data={
            "station-chargebox_id": "000003586",
            "station-protocol": "OCPP16_JSON",
            "station-site": site.id,
            "station-floor": "__None",
            "station-outlets": 1,
        },
        follow_redirects=True,
    )
    assert "already exists" in response.text
    assert _count(Station) == 1


def test_adding_a_fifth_outlet_is_refused_on_the_topology_tab(
    admin_client, create_site, create_station
):
    station = create_station(create_site(), outlets=4)
    response = admin_client.post(
        "/admin/config/topology/create/outlet",
        data={
            "outlet-station": station.id,
            "outlet-connector_type": "Type 2",
        },
        follow_redirects=True,
    )
    assert "already has 4 outlets" in response.text
    assert _count(Outlet) == 4


def test_support_edits_a_station_but_cannot_create_or_delete(
    login_as, create_site, create_station
):
    site = create_site()
    station = create_station(site, "000003586")
    client = login_as(Role.SUPPORT)
    client.post(
        f"/admin/config/station/{station.id}/general",
        data={
            "name": "Renamed by support",
            "chargebox_id": "000003586",
            "protocol": "OCPP16_JSON",
            "heartbeat_interval": 300,
            "availability": "public",
            "tag_notation": "",
        },
    )
    client.post(
        "/admin/config/topology/create/station",
        data={
            "station-chargebox_id": "NEW-1",
            "station-protocol": "OCPP16_JSON",
            "station-site": site.id,
            "station-outlets": 1,
        },
    )
    client.post(f"/admin/config/topology/delete/station/{station.id}")
    db.session.expire_all()
    assert _count(Station) == 1
    assert db.session.get(Station, station.id).name == "Renamed by support"


def test_dashboard_shows_the_topology(
    admin_client, create_site, create_floor, create_station
):
    site = create_site("Solna")
    floor = create_floor(site, "Central 1")
    create_station(site, "000003586", floor=floor, outlets=2)
    page = admin_client.get("/admin/").text
    assert "Solna" in page and "Central 1" in page and "000003586" in page
