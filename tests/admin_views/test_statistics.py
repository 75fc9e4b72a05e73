"""admin_views/statistics.py: the sessions table of spec §6 (filters, sort, pages, export)."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from app.extensions import db
from app.models import Role
from app.services import exports
from tests.services.session_factory import (
    add_driver,
    add_meter_values,
    add_session,
    bulk_sessions,
)

URL = "/admin/statistics/"
COLUMNS = [
    "Start time",
    "Duration",
    "End time",
    "Node identity",
    "Site",
    "Energy (kWh)",
    "Station",
    "Authentication",
    "Session id",
    "Outlet id",
    "Server log date",
    "E-mail",
    "Meter value (kWh)",
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def place(create_site, create_station):
    solna, kista = create_site("Solna"), create_site("Kista")
    s1 = create_station(solna, "C-300", outlets=2)
    s2 = create_station(solna, "C-100")
    k1 = create_station(kista, "C-200")
    for station, name in ((s1, "Beta"), (s2, "Charlie"), (k1, "Alpha")):
        station.name = name
    db.session.commit()
    return {
        "solna": solna,
        "kista": kista,
        "s1": s1,
        "s2": s2,
        "k1": k1,
        "anna": add_driver("anna@example.com", "101"),
        "bo": add_driver("bo@example.com", "202"),
    }


@pytest.fixture
def sessions(place):
    """Five sessions whose every column sorts differently (E is still charging)."""
    rows = {
        "A": add_session(
            place["s1"],
            at("2026-03-02 08:00"),
            minutes=60,
            energy=10,
            user=place["anna"],
            meter=1000,
        ),
        "B": add_session(
            place["s1"],
            at("2026-03-03 09:00"),
            minutes=150,
            energy=25.5,
            outlet=2,
            meter=2000,
        ),
        "C": add_session(
            place["k1"],
            at("2026-03-04 10:00"),
            minutes=30,
            energy=4.25,
            user=place["bo"],
            meter=500,
        ),
        "D": add_session(
            place["s2"],
            at("2026-03-05 11:00"),
            minutes=600,
            energy=60,
            user=place["anna"],
            meter=3000,
        ),
        "E": add_session(
            place["k1"], at("2026-03-06 12:00"), minutes=None, energy=1, meter=501
        ),
    }
    return {name: session.id for name, session in rows.items()}


@pytest.fixture
def admin(login_as):
    return login_as(Role.ADMIN)


def table(page: str) -> list[dict[str, str]]:
    """The list's rows as {column: text}."""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        cells = re.findall(r'<td class="col-([\w.]+)">(.*?)</td>', row, re.S)
        if cells:
            rows.append(
                {
                    name: " ".join(re.sub(r"<[^>]+>", "", text).split())
                    for name, text in cells
                }
            )
    return rows


def ids_on(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<td class="col-id">\s*(\d+)\s*</td>', page)]


def names(sessions, page: str) -> list[str]:
    by_id = {ident: name for name, ident in sessions.items()}
    return [by_id[i] for i in ids_on(page)]


def test_the_table_has_every_column_of_the_spec(admin, sessions):
    page = admin.get(URL).text
    headings = re.findall(
        r'<th class="column-header[^"]*">\s*(?:<a[^>]*>)?\s*([^<]+?)\s*<', page
    )
    assert headings == COLUMNS
    rows = {int(row["id"]): row for row in table(page)}
    assert rows[sessions["A"]] == {
        "started_at": "2026-03-02 08:00:00.0",
        "duration": "1hrs 0min 0sec",
        "ended_at": "2026-03-02 09:00:00.0",
        "station.chargebox_id": "C-300",
        "site.name": "Solna",
        "energy_kwh": "10.00",
        "station.name": "Beta",
        "authentication": "1 (RFID)",
        "id": str(sessions["A"]),
        "outlet_number": "1",
        "logged_at": "2026-03-02 09:00:02.0",
        "user.email": "anna@example.com",
        "meter_kwh": "1000.000",
    }
    anonymous = rows[sessions["E"]]
    assert anonymous["authentication"] == "0 (anonymous)"
    assert anonymous["user.email"] == "unknown" and anonymous["duration"] == ""


def test_the_newest_session_comes_first(admin, sessions):
    assert names(sessions, admin.get(URL).text) == ["E", "D", "C", "B", "A"]


FILTERS = {
    "start time": [
        ("start_time_between", "2026-03-03 00:00:00 to 2026-03-04 23:59:59", "BC"),
        ("start_time_after", "2026-03-05 00:00:00", "DE"),
        ("start_time_before", "2026-03-03 00:00:00", "A"),
    ],
    "duration": [
        ("duration_min_between", "30 to 60", "AC"),
        ("duration_min_greater_than", "100", "BD"),
        ("duration_min_smaller_than", "45", "C"),
    ],
    "end time": [
        ("end_time_between", "2026-03-02 00:00:00 to 2026-03-02 23:59:59", "A"),
        ("end_time_before", "2026-03-04 00:00:00", "AB"),
    ],
    "node identity": [
        ("node_identity_contains", "C-2", "CE"),
        ("node_identity_equals", "C-300", "AB"),
    ],
    "energy": [
        ("energy_between", "4 to 10", "AC"),
        ("energy_greater_than", "20", "BD"),
        ("energy_smaller_than", "5", "CE"),
    ],
    "station": [("station_contains", "lph", "CE"), ("station_equals", "Beta", "AB")],
    "authentication": [("authentication_equals", "0", "BE")],
    "outlet id": [("outlet_id_equals", "2", "B")],
    "server log date": [
        ("server_log_date_after", "2026-03-05 00:00:00", "DE"),
        ("server_log_date_between", "2026-03-02 00:00:00 to 2026-03-02 23:59:59", "A"),
    ],
    "e-mail": [
        ("email_contains", "anna", "AD"),
        ("email_equals", "bo@example.com", "C"),
    ],
    "meter value": [
        ("meter_value_between", "500 to 1000", "ACE"),
        ("meter_value_greater_than", "2500", "D"),
        ("meter_value_smaller_than", "600", "CE"),
    ],
}


@pytest.mark.parametrize("column", list(FILTERS))
def test_every_column_filters(admin, sessions, column):
    for arg, value, expected in FILTERS[column]:
        page = admin.get(URL, query_string={f"flt0_{arg}": value, "sort": "8"}).text
        assert "".join(names(sessions, page)) == expected, arg


def test_the_site_filter_offers_the_sites_one_may_see(admin, sessions, place):
    page = admin.get(
        URL, query_string={"flt0_site_equals": place["solna"].id, "sort": "8"}
    ).text
    assert names(sessions, page) == ["A", "B", "D"]
    assert '"Kista"' in page and '"Solna"' in page


def test_the_session_id_filters_exactly_and_by_range(admin, sessions):
    page = admin.get(URL, query_string={"flt0_session_id_equals": sessions["C"]}).text
    assert names(sessions, page) == ["C"]
    between = f"{sessions['A']} to {sessions['B']}"
    page = admin.get(
        URL, query_string={"flt0_session_id_between": between, "sort": "8"}
    ).text
    assert names(sessions, page) == ["A", "B"]


def test_filters_combine(admin, sessions, place):
    query = {
        "flt0_site_equals": place["solna"].id,
        "flt1_energy_between": "5 to 30",
        "flt2_start_time_after": "2026-03-01 00:00:00",
        "sort": "8",
    }
    assert names(sessions, admin.get(URL, query_string=query).text) == ["A", "B"]


def test_a_bad_filter_value_is_ignored_not_an_error(admin, sessions):
    response = admin.get(URL, query_string={"flt0_energy_between": "lots"})
    assert response.status_code == 200
    assert len(ids_on(response.text)) == 5


SORTS = [
    (0, "ABCDE"),  # start time
    (1, "CABD"),  # duration (E still charging: no duration)
    (2, "ABCD"),  # end time
    (3, "DCEAB"),  # node identity: C-100, C-200, C-300
    (4, "CEABD"),  # site: Kista, Solna
    (5, "ECABD"),  # energy
    (6, "CEABD"),  # station: Alpha, Beta, Charlie
    (7, "BEACD"),  # authentication 0, then 1
    (8, "ABCDE"),  # session id
    (9, "ACDEB"),  # outlet id
    (10, "ABCDE"),  # server log date
    (11, "ADC"),  # e-mail (anonymous sessions have none)
    (12, "CEABD"),  # meter value
]


@pytest.mark.parametrize(("column", "expected"), SORTS, ids=COLUMNS)
def test_every_column_sorts_both_ways_and_equal_values_keep_the_session_order(
    admin, sessions, column, expected
):
    for query, order in (
        ({"sort": column}, expected),
        ({"sort": column, "desc": 1}, expected[::-1]),
    ):
        shown = names(sessions, admin.get(URL, query_string=query).text)
        # Where a column is empty (NULL) the database decides whether it comes first.
        assert "".join(name for name in shown if name in expected) == order


@pytest.fixture
def many(place):
    bulk_sessions(place["s1"], 45)


@pytest.mark.parametrize(
    ("page", "rows", "caption"),
    [
        (0, 20, "Rows 1-20 of 45"),
        (1, 20, "Rows 21-40 of 45"),
        (2, 5, "Rows 41-45 of 45"),
        (3, 0, "No rows on page 4; 45 in all."),
        (-1, 20, "Rows 1-20 of 45"),
    ],
)
def test_pages_are_cut_on_the_server_within_bounds(admin, many, page, rows, caption):
    response = admin.get(URL, query_string={"page": page, "page_size": 20})
    assert response.status_code == 200
    assert len(ids_on(response.text)) == rows
    assert caption in response.text


def test_a_page_size_not_offered_falls_back_to_the_default(admin, many):
    page = admin.get(URL, query_string={"page_size": 100_000}).text
    assert len(ids_on(page)) == 45 and "Rows 1-45 of 45" in page


def test_pages_do_not_repeat_or_skip_sessions_with_equal_values(admin, place):
    for _ in range(30):
        add_session(place["s1"], at("2026-03-02 08:00"), energy=5)
    seen = []
    for page in range(3):
        text = admin.get(
            URL, query_string={"sort": 5, "page": page, "page_size": 20}
        ).text
        seen += ids_on(text)
    assert len(seen) == len(set(seen)) == 30


def test_the_node_selected_in_the_navigator_limits_the_rows(admin, sessions, place):
    page = admin.get(
        URL, query_string={"node": f"site:{place['kista'].id}", "sort": 8}
    ).text
    assert names(sessions, page) == ["C", "E"] and "Kista" in page
    page = admin.get(URL, query_string={"node": f"station:{place['s2'].id}"}).text
    assert names(sessions, page) == ["D"]
    page = admin.get(
        URL, query_string={"node": f"outlet:{place['s1'].outlets[1].id}"}
    ).text
    assert names(sessions, page) == ["B"]


def test_a_site_administrator_sees_only_its_sites_even_when_selecting_another(
    login_as, sessions, place
):
    client = login_as(Role.SITE_ADMIN, sites=[place["kista"]])
    page = client.get(URL, query_string={"sort": 8}).text
    assert names(sessions, page) == ["C", "E"]
    page = client.get(
        URL, query_string={"node": f"site:{place['solna'].id}", "sort": 8}
    ).text
    assert names(sessions, page) == ["C", "E"]
    assert (
        client.get(f"{URL}details/", query_string={"id": sessions["A"]}).status_code
        == 404
    )


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SITE_ADMIN, Role.SUPPORT])
def test_staff_open_the_statistics(login_as, role):
    assert login_as(role).get(URL).status_code == 200


def test_ev_users_do_not(login_as):
    client = login_as(Role.EV_USER)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}export/xlsx/").status_code == 403


def test_show_opens_every_field_with_the_meter_values_and_their_chart(admin, place):
    session = add_session(
        place["s1"], at("2026-03-02 08:00"), minutes=30, energy=1.25, user=place["anna"]
    )
    add_meter_values(session, [1000, 1500, 2250])
    page = admin.get(f"{URL}details/", query_string={"id": session.id}).text
    for label in [
        *COLUMNS,
        "Meter at start (kWh)",
        "RFID tag",
        "Outlet",
        "Stop reason",
    ]:
        assert label in page
    assert (
        "0hrs 30min 0sec" in page
        and "anna@example.com" in page
        and "C-300 Connector: 1" in page
    )
    assert page.count("Energy.Active.Import.Register") == 3
    assert "2026-03-02 08:00:00.0" in page  # times as spec §6 writes them
    chart = re.search(r'data-chart="([^"]+)"', page).group(1).replace("&#34;", '"')
    assert '"y": [1.0, 1.5, 2.25]' in chart and '"unit": "kWh"' in chart
    assert "vendor/uplot/uPlot.iife.min.js" in page


def test_show_of_a_session_without_meter_values_says_so(admin, place):
    session = add_session(place["s1"], at("2026-03-02 08:00"))
    page = admin.get(f"{URL}details/", query_string={"id": session.id}).text
    assert "reported no meter values" in page


# Export


def sheet_rows(response) -> list[tuple]:
    assert response.status_code == 200, response.text
    assert response.mimetype == exports.XLSX_MIMETYPE
    sheet = load_workbook(io.BytesIO(response.data)).active
    return list(sheet.iter_rows(values_only=True))


def test_the_export_holds_the_filtered_list_in_the_same_order_with_types(
    admin, sessions, place
):
    query = {"flt0_site_equals": place["solna"].id, "sort": 5, "desc": 1}
    listed = ids_on(admin.get(URL, query_string=query).text)
    header, *rows = sheet_rows(admin.get(f"{URL}export/xlsx/", query_string=query))
    assert list(header) == COLUMNS
    assert [row[8] for row in rows] == listed == [sessions[n] for n in "DBA"]
    assert rows[-1] == (
        datetime(2026, 3, 2, 8, 0),
        timedelta(hours=1),
        datetime(2026, 3, 2, 9, 0),
        "C-300",
        "Solna",
        10.0,
        "Beta",
        1,
        sessions["A"],
        1,
        datetime(2026, 3, 2, 9, 0, 2),
        "anna@example.com",
        1000.0,
    )


def test_an_anonymous_session_still_charging_exports_empty_cells(admin, sessions):
    query = {"flt0_session_id_equals": sessions["E"]}
    _header, row = sheet_rows(admin.get(f"{URL}export/xlsx/", query_string=query))
    assert row[1] is None and row[2] is None and row[11] is None and row[7] == 0


def test_the_export_does_not_stop_at_64000_rows(admin, place):
    bulk_sessions(place["s1"], 64_001)
    response = admin.get(f"{URL}export/xlsx/", query_string={"sort": 8})
    assert response.status_code == 200
    assert response.headers["X-Export-Rows"] == "64001"
    sheet = zipfile.ZipFile(io.BytesIO(response.data)).read("xl/worksheets/sheet1.xml")
    assert sheet.count(b"<row ") == 64_002
    last = re.search(rb'<row r="64002">(.*?)</row>', sheet).group(1)
    # Session id (column I) of the 64,001st session, energy 64.0 kWh (column F).
    assert b'<c r="F64002"><v>64.0</v></c>' in last


def test_the_export_of_a_site_administrator_holds_only_its_sites(
    login_as, sessions, place
):
    client = login_as(Role.SITE_ADMIN, sites=[place["kista"]])
    _header, *rows = sheet_rows(client.get(f"{URL}export/xlsx/"))
    assert {row[4] for row in rows} == {"Kista"}
    assert sorted(row[8] for row in rows) == [sessions["C"], sessions["E"]]


def test_beyond_an_excel_sheet_the_export_says_so_and_offers_csv(
    admin, sessions, monkeypatch
):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)
    response = admin.get(f"{URL}export/xlsx/", query_string={"sort": 8})
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).text
    assert "5 rows are more than an Excel sheet holds (3)" in page
    csv_url = re.search(
        r'id="export-csv" href="([^"]+)"|href="([^"]+)" id="export-csv"', page
    )
    link = (csv_url.group(1) or csv_url.group(2)).replace("&amp;", "&")
    assert "/export/csv/" in link and "sort=8" in link
    lines = admin.get(link).text.splitlines()
    assert lines[0].startswith("Start time,Duration,End time")
    assert len(lines) == 6


class TestInThePortalsTimeZone:
    @pytest.fixture
    def app_config(self, app_config):
        app_config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Stockholm"
        return app_config

    def test_times_are_shown_and_filtered_in_the_portals_zone(self, admin, place):
        # 23:30 UTC on 2 March is 00:30 on 3 March in Stockholm.
        session = add_session(place["s1"], at("2026-03-02 23:30"))
        query = {"flt0_start_time_after": "2026-03-03 00:00:00"}
        page = admin.get(URL, query_string=query).text
        assert ids_on(page) == [session.id]
        assert "2026-03-03 00:30:00.0" in page
        _header, row = sheet_rows(admin.get(f"{URL}export/xlsx/", query_string=query))
        assert row[0] == datetime(2026, 3, 3, 0, 30)
