"""admin_views/diagrams.py: the chart menu, the period and the JSON data (spec §5)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from app.models import Role
from app.services import stats
from tests.services.session_factory import add_session

DATA = "/admin/diagrams/data"


@pytest.fixture
def place(create_site, create_station):
    solna, kista = create_site("Solna"), create_site("Kista")
    s1, k1 = create_station(solna, "SOLNA-1"), create_station(kista, "KISTA-1")
    add_session(s1, datetime(2026, 3, 2, 8, tzinfo=UTC), energy=10)
    add_session(s1, datetime(2026, 3, 3, 8, tzinfo=UTC), energy=5)
    add_session(k1, datetime(2026, 3, 3, 9, tzinfo=UTC), energy=8)
    return {"solna": solna, "kista": kista}


def test_the_page_offers_every_predefined_chart_and_a_period(login_as):
    page = login_as(Role.ADMIN).get("/admin/diagrams/").text
    for title in stats.CHART_TITLES.values():
        assert str(title) in page
    assert 'id="range-from"' in page and 'id="range-to"' in page


def test_all_javascript_is_served_by_the_portal(login_as, client):
    page = login_as(Role.ADMIN).get("/admin/diagrams/").text
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert scripts and all(src.startswith("/") for src in scripts)
    assert any("vendor/uplot/uPlot.iife.min.js" in src for src in scripts)
    for path in ("/static/vendor/uplot/uPlot.iife.min.js", "/static/charts.js"):
        with client.get(path) as response:
            assert response.status_code == 200


@pytest.mark.parametrize("chart", list(stats.Chart))
def test_every_chart_answers_json(login_as, place, chart):
    data = (
        login_as(Role.ADMIN)
        .get(
            DATA,
            query_string={
                "chart": chart.value,
                "from": "2026-03-01",
                "to": "2026-03-07",
            },
        )
        .json
    )
    assert data["chart"] == chart.value and data["labels"]
    assert len(data["series"][0]["values"]) == len(data["labels"])


def test_energy_per_day_of_the_period(login_as, place):
    data = (
        login_as(Role.ADMIN)
        .get(
            DATA,
            query_string={
                "chart": "energy_day",
                "from": "2026-03-02",
                "to": "2026-03-03",
            },
        )
        .json
    )
    assert data["labels"] == ["2026-03-02", "2026-03-03"]
    assert data["series"][0] == {
        "label": "Energy",
        "unit": "kWh",
        "values": [10.0, 13.0],
    }


def test_the_data_follows_the_node_selected(login_as, place):
    query = {
        "chart": "energy_day",
        "from": "2026-03-02",
        "to": "2026-03-03",
        "node": f"site:{place['kista'].id}",
    }
    data = login_as(Role.ADMIN).get(DATA, query_string=query).json
    assert data["series"][0]["values"] == [0.0, 8.0]


def test_a_site_administrators_data_holds_only_its_sites(login_as, place):
    client = login_as(Role.SITE_ADMIN, sites=[place["solna"]])
    query = {
        "chart": "energy_day",
        "from": "2026-03-02",
        "to": "2026-03-03",
        "node": f"site:{place['kista'].id}",
    }
    assert client.get(DATA, query_string=query).json["series"][0]["values"] == [
        10.0,
        5.0,
    ]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-03-05", "2026-03-01", "before its start"),
        ("yesterday", "2026-03-01", "YYYY-MM-DD"),
    ],
)
def test_a_bad_period_is_a_clear_400(login_as, start, end, message):
    response = login_as(Role.ADMIN).get(DATA, query_string={"from": start, "to": end})
    assert response.status_code == 400 and message in response.json["error"]


def test_ev_users_have_no_diagrams(login_as):
    client = login_as(Role.EV_USER)
    assert client.get("/admin/diagrams/").status_code == 403
    assert client.get(DATA).status_code == 403


class TestInThePortalsTimeZone:
    @pytest.fixture
    def app_config(self, app_config):
        app_config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Stockholm"
        return app_config

    def test_days_are_the_portals_days(self, login_as, create_site, create_station):
        station = create_station(create_site("Solna"), "SOLNA-1")
        # 23:30 UTC on 2 March is 00:30 on 3 March in Stockholm.
        add_session(station, datetime(2026, 3, 2, 23, 30, tzinfo=UTC), energy=7)
        query = {"chart": "energy_day", "from": "2026-03-02", "to": "2026-03-03"}
        data = login_as(Role.ADMIN).get(DATA, query_string=query).json
        assert data["series"][0]["values"] == [0.0, 7.0]
