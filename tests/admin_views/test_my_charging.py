"""admin_views/charging.py: an EV user's own sessions, tags and energy (spec §1)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from app.models import Role
from tests.services.session_factory import add_session


@pytest.fixture
def driver_client(login_as, create_user, create_site, create_station):
    client = login_as(Role.EV_USER)
    station = create_station(create_site("Solna"), "SOLNA-1")
    other = create_user(Role.EV_USER, "other@example.com", tag="999")
    now = datetime.now(UTC).replace(microsecond=0)
    add_session(
        station, now - timedelta(days=2), minutes=95, energy=12.5, user=client.user
    )
    add_session(
        station, now - timedelta(days=1), minutes=30, energy=3.25, user=client.user
    )
    add_session(station, now - timedelta(days=1), energy=99.75, user=other)
    return client


def test_an_ev_user_sees_own_sessions_with_start_duration_energy_station_site(
    driver_client,
):
    page = driver_client.get("/admin/my_charging/").text
    for heading in ("Start time", "Duration", "Energy (kWh)", "Station", "Site"):
        assert heading in page
    assert "12.50" in page and "1hrs 35min 0sec" in page and "SOLNA-1" in page
    assert "99.75" not in page


def test_an_ev_user_sees_own_energy_per_month(driver_client):
    page = driver_client.get("/admin/my_charging/").text
    assert 'id="my-months"' in page and "15.75" in page


def test_an_ev_user_sees_own_rfid_tags(login_as, create_user, app):
    from tests.conftest import log_in

    user = create_user(Role.EV_USER, "tagged@example.com", tag="0x1F")
    create_user(Role.EV_USER, "other@example.com", tag="999")
    client = log_in(app.test_client(), user.email)
    page = client.get("/admin/my_charging/").text
    assert "<code>1F</code>" in page and "<code>999</code>" not in page


def test_an_ev_user_exports_only_own_sessions_with_types(driver_client):
    response = driver_client.get("/admin/my_charging/export/xlsx/")
    header, *rows = load_workbook(io.BytesIO(response.data)).active.iter_rows(
        values_only=True
    )
    assert list(header) == ["Start time", "Duration", "Energy (kWh)", "Station", "Site"]
    assert [row[2] for row in rows] == [3.25, 12.5]
    assert rows[1][1] == timedelta(minutes=95) and isinstance(rows[1][0], datetime)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/statistics/",
        "/admin/statistics/export/xlsx/",
        "/admin/diagrams/",
        "/admin/alarms/",
        "/admin/events/",
        "/admin/users/",
        "/admin/stations/",
    ],
)
def test_nothing_else_of_the_admin_is_reachable(driver_client, path):
    assert driver_client.get(path).status_code == 403
