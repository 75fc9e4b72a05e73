"""Every admin page per role (spec §1): allowed, forbidden, or not found for other sites."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from app.models import Role

ROLES = [Role.ADMIN, Role.SITE_ADMIN, Role.SUPPORT, Role.EV_USER]
A, SA, SU, EV = ROLES

# page → roles that may open it; every other role gets 403.
PAGES = {
    "/admin/": ROLES,
    "/admin/settings/": ROLES,
    "/admin/users/": [A],
    "/admin/users/new/": [A],
    "/admin/users/export/xlsx/": [A],
    "/admin/audit/": [A],
    "/admin/audit/export/xlsx/": [A],
    "/admin/sites/": [A, SA, SU],
    "/admin/floors/": [A, SA, SU],
    "/admin/stations/": [A, SA, SU],
    "/admin/stations/export/xlsx/": [A, SA, SU],
    "/admin/outlets/": [A, SA, SU],
    "/admin/my_charging/": [EV],
}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
@pytest.mark.parametrize("path", list(PAGES))
def test_each_role_opens_only_its_pages(login_as, path, role):
    client = login_as(role)
    status = client.get(path).status_code
    if role in PAGES[path]:
        assert status in (200, 302) and status != 403
        if path != "/admin/":
            assert status == 200
    else:
        assert status == 403


@pytest.mark.parametrize("path", list(PAGES))
def test_anonymous_visitors_are_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.fixture
def other_site(create_site, create_floor, create_station):
    kista = create_site("Kista")
    floor = create_floor(kista, "Plan K")
    station = create_station(kista, "KISTA-1", floor=floor)
    return {
        "site": kista,
        "floor": floor,
        "station": station,
        "outlet": station.outlets[0],
    }


@pytest.mark.parametrize(
    ("endpoint", "key"),
    [
        ("sites", "site"),
        ("floors", "floor"),
        ("stations", "station"),
        ("outlets", "outlet"),
    ],
)
@pytest.mark.parametrize("action", ["details"])
def test_site_administrator_guessing_another_sites_id_gets_404(
    login_as, other_site, endpoint, key, action
):
    client = login_as(Role.SITE_ADMIN)
    response = client.get(
        f"/admin/{endpoint}/{action}/", query_string={"id": other_site[key].id}
    )
    assert response.status_code == 404


def test_site_administrator_cannot_delete_another_sites_station(login_as, other_site):
    client = login_as(Role.SITE_ADMIN)
    client.post("/admin/stations/delete/", data={"id": other_site["station"].id})
    client.post("/admin/outlets/delete/", data={"id": other_site["outlet"].id})
    from app.extensions import db
    from app.models import Outlet

    assert db.session.get(Outlet, other_site["outlet"].id) is not None


def test_site_administrators_lists_counts_and_exports_hold_only_its_site(
    login_as, other_site, create_site, create_station
):
    home = create_site("Solna")
    create_station(home, "SOLNA-1")
    client = login_as(Role.SITE_ADMIN, sites=[home])
    page = client.get("/admin/stations/").text
    assert "SOLNA-1" in page and "KISTA-1" not in page
    sheet = load_workbook(
        io.BytesIO(client.get("/admin/stations/export/xlsx/").data)
    ).active
    ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ids == ["SOLNA-1"]
    # Choices of forms are scoped too: no other site's name leaks into a dropdown.
    form = client.get("/admin/config/?node=system&tab=topology").text
    assert "Solna" in form and "Kista" not in form


def test_site_administrator_cannot_create_a_floor_in_another_site(login_as, other_site):
    from app.extensions import db

    client = login_as(Role.SITE_ADMIN)
    client.post(
        "/admin/config/topology/create/floor",
        data={"floor-site": other_site["site"].id, "floor-name": "X"},
    )
    db.session.expire_all()
    assert [floor.name for floor in other_site["site"].floors] == ["Plan K"]


def test_ev_user_sees_only_own_sessions(
    login_as, create_site, create_station, create_user
):
    from datetime import timedelta

    from app.extensions import db
    from app.models import ChargingSession, utcnow

    station = create_station(create_site())
    client = login_as(Role.EV_USER)
    other = create_user(Role.EV_USER)
    for user, energy in ((client.user, 11.5), (other, 99.25)):
        db.session.add(
            ChargingSession(
                site_id=station.site_id,
                station_id=station.id,
                outlet_id=station.outlets[0].id,
                outlet_number=1,
                started_at=utcnow() - timedelta(hours=3),
                ended_at=utcnow() - timedelta(hours=1),
                energy_kwh=energy,
                user_id=user.id,
            )
        )
    db.session.commit()
    page = client.get("/admin/my_charging/").text
    assert "11.50" in page and "99.25" not in page
    assert "2hrs 0min 0sec" in page


@pytest.mark.parametrize("ident", ["abc", "1.5"])
def test_a_record_id_that_is_not_a_number_is_not_found(login_as, ident):
    client = login_as(Role.ADMIN)
    assert (
        client.get("/admin/stations/details/", query_string={"id": ident}).status_code
        == 404
    )
