"""admin_views/alarms.py: active alarms, alarm history and the event log (spec §7)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import Alarm, AlarmKind, AlarmState, AuditEntry, EventKind, Role
from app.services import alarms, events


def column(page: str, name: str) -> list[str]:
    """The texts of one column of a list page."""
    cells = re.findall(rf'<td class="col-{name}">(.*?)</td>', page, re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in cells]


@pytest.fixture
def place(create_site, create_station):
    solna, kista = create_site("Solna"), create_site("Kista")
    return {
        "solna": solna,
        "kista": kista,
        "s1": create_station(solna, "000004082", outlets=2),
        "k1": create_station(kista, "000005001"),
    }


@pytest.fixture
def raised(place):
    """An outlet alarm at Solna, a station alarm at Kista, one resolved at Kista."""
    lock = alarms.raise_alarm(
        AlarmKind.CONNECTOR_LOCK_FAILURE,
        station=place["s1"],
        outlet=place["s1"].outlets[0],
    )
    heat = alarms.raise_alarm(
        AlarmKind.TEMPERATURE, station=place["k1"], description="Too hot: 71 °C"
    )
    fuse = alarms.raise_alarm(AlarmKind.OVER_CURRENT, station=place["k1"])
    alarms.resolve_alarms(station=place["k1"], kinds=(AlarmKind.OVER_CURRENT,))
    db.session.commit()
    return {"lock": lock.id, "heat": heat.id, "fuse": fuse.id}


def test_active_alarms_show_create_date_node_name_description_and_clear(
    login_as, raised
):
    page = login_as(Role.ADMIN).get("/admin/alarms/").text
    for heading in ("Create date", "Node name", "Description"):
        assert heading in page
    # The newest first; the resolved fuse alarm is in the history only.
    assert column(page, "node_name") == ["000005001", "000004082 Connector: 1"]
    assert column(page, "description") == ["Too hot: 71 °C", "Connector lock failure"]
    assert page.count('class="d-inline clear-alarm"') == 2


def test_clear_moves_an_alarm_to_the_history_with_who_and_when_and_is_audited(
    login_as, raised
):
    client = login_as(Role.ADMIN)
    response = client.post("/admin/alarms/clear/", data={"id": raised["heat"]})
    assert response.status_code == 302
    alarm = db.session.get(Alarm, raised["heat"])
    db.session.refresh(alarm)
    assert alarm.state is AlarmState.CLEARED and alarm.cleared_by_id == client.user.id
    assert alarm.ended_at is not None
    assert "Too hot" not in client.get("/admin/alarms/").text
    history = client.get("/admin/alarm_history/").text
    assert "Too hot: 71 °C" in history and client.user.email in history
    audit = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "Alarm")
    ).one()
    assert (
        audit.changes == {"state": ["active", "cleared"]}
        and audit.actor == client.user.email
    )


def test_an_alarm_the_station_resolved_reads_resolved_by_station(login_as, raised):
    history = login_as(Role.ADMIN).get("/admin/alarm_history/").text
    assert "Fuse / over-current protection tripped" in history
    assert "resolved by station" in history


def test_clearing_twice_says_it_is_no_longer_active(login_as, raised):
    client = login_as(Role.ADMIN)
    client.post("/admin/alarms/clear/", data={"id": raised["lock"]})
    page = client.post(
        "/admin/alarms/clear/", data={"id": raised["lock"]}, follow_redirects=True
    ).text
    assert "no longer active" in page


def test_a_site_administrator_sees_and_clears_only_its_sites_alarms(
    login_as, raised, place
):
    client = login_as(Role.SITE_ADMIN, sites=[place["solna"]])
    page = client.get("/admin/alarms/").text
    assert column(page, "node_name") == ["000004082 Connector: 1"]
    assert (
        client.post("/admin/alarms/clear/", data={"id": raised["heat"]}).status_code
        == 404
    )
    assert db.session.get(Alarm, raised["heat"]).state is AlarmState.ACTIVE


def test_alarms_follow_the_node_selected_in_the_navigator(login_as, raised, place):
    client = login_as(Role.ADMIN)
    page = client.get(
        "/admin/alarms/", query_string={"node": f"site:{place['kista'].id}"}
    ).text
    assert column(page, "node_name") == ["000005001"]
    outlet = place["s1"].outlets[0]
    page = client.get(
        "/admin/alarms/", query_string={"node": f"outlet:{outlet.id}"}
    ).text
    assert column(page, "node_name") == ["000004082 Connector: 1"]


def test_active_alarms_filter_by_kind_and_node_name(login_as, raised):
    client = login_as(Role.ADMIN)
    page = client.get(
        "/admin/alarms/", query_string={"flt0_kind_equals": "temperature"}
    ).text
    assert column(page, "description") == ["Too hot: 71 °C"]
    page = client.get(
        "/admin/alarms/", query_string={"flt0_node_name_contains": "Connector"}
    ).text
    assert column(page, "description") == ["Connector lock failure"]


def test_history_filters_by_how_an_alarm_ended(login_as, raised):
    client = login_as(Role.ADMIN)
    client.post("/admin/alarms/clear/", data={"id": raised["heat"]})
    page = client.get(
        "/admin/alarm_history/", query_string={"flt0_how_it_ended_equals": "resolved"}
    ).text
    assert column(page, "description") == ["Fuse / over-current protection tripped"]


def rows(response):
    assert response.status_code == 200
    return list(
        load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)
    )


def test_each_alarm_table_exports_to_excel(login_as, raised):
    client = login_as(Role.ADMIN)
    header, *active = rows(client.get("/admin/alarms/export/xlsx/"))
    assert list(header) == ["Create date", "Node name", "Description", "Kind"]
    assert {row[1] for row in active} == {"000004082 Connector: 1", "000005001"}
    assert all(isinstance(row[0], datetime) for row in active)
    header, *history = rows(client.get("/admin/alarm_history/export/xlsx/"))
    assert history[0][1] is not None and history[0][-1] == "resolved by station"


def test_the_event_log_lists_what_stations_and_people_did(login_as, place):
    client = login_as(Role.ADMIN)
    events.record_event(EventKind.BOOT, "boot: firmware 1.2", station=place["s1"])
    events.record_event(
        EventKind.COMMAND_RESULT, "RemoteStart accepted", station=place["k1"]
    )
    db.session.commit()
    page = client.get("/admin/events/").text
    assert "boot: firmware 1.2" in page and "RemoteStart accepted" in page
    assert "logged in" in page  # the login of this very client
    page = client.get("/admin/events/", query_string={"flt0_event_equals": "boot"}).text
    assert "boot: firmware 1.2" in page and "RemoteStart" not in page
    header, *logged = rows(
        client.get(
            "/admin/events/export/xlsx/", query_string={"flt0_event_equals": "boot"}
        )
    )
    assert list(header) == ["When", "Event", "Node name", "Message"]
    assert [row[1:] for row in logged] == [("Boot", "000004082", "boot: firmware 1.2")]


def test_the_event_log_follows_the_node_and_the_role(login_as, place):
    events.record_event(EventKind.BOOT, "solna boot", station=place["s1"])
    events.record_event(EventKind.BOOT, "kista boot", station=place["k1"])
    db.session.commit()
    client = login_as(Role.SITE_ADMIN, sites=[place["kista"]])
    page = client.get("/admin/events/").text
    assert "kista boot" in page and "solna boot" not in page
    admin = login_as(Role.ADMIN)
    page = admin.get(
        "/admin/events/", query_string={"node": f"station:{place['s1'].id}"}
    ).text
    assert "solna boot" in page and "kista boot" not in page


def test_event_log_time_filter(login_as, place):
    entry = events.record_event(EventKind.BOOT, "old boot", station=place["s1"])
    entry.occurred_at = datetime(2026, 1, 1, tzinfo=UTC)
    events.record_event(EventKind.BOOT, "new boot", station=place["s1"])
    db.session.commit()
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    page = (
        login_as(Role.ADMIN)
        .get("/admin/events/", query_string={"flt0_when_after": since})
        .text
    )
    assert "new boot" in page and "old boot" not in page


@pytest.mark.parametrize(
    "path", ["/admin/alarms/", "/admin/alarm_history/", "/admin/events/"]
)
def test_ev_users_see_no_alarms(login_as, path):
    assert login_as(Role.EV_USER).get(path).status_code == 403


def test_every_alarm_kind_of_the_spec_can_be_filtered(login_as):
    page = login_as(Role.ADMIN).get("/admin/alarms/").text
    for kind in (
        AlarmKind.NOT_REGISTERED,
        AlarmKind.HARDWARE_FAILURE,
        AlarmKind.HARDWARE_MISMATCH,
        AlarmKind.OVER_CURRENT,
        AlarmKind.TEMPERATURE,
        AlarmKind.NO_NETWORK,
        AlarmKind.CONNECTOR_LOCK_FAILURE,
        AlarmKind.POWER_METER_FAILURE,
        AlarmKind.POWER_SWITCH_FAILURE,
    ):
        assert f'"{kind.value}", "{alarms.DESCRIPTIONS[kind]}"' in page
