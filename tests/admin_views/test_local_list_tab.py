"""The Control tab shows the station's local list: the version sent, the version the
station reports, and what waits to be sent."""

from __future__ import annotations

from app.extensions import db
from app.models import LocalListTag, RfidTag, Role, StationLocalList, utcnow


def _control(client, station) -> str:
    response = client.get(
        "/admin/config/",
        query_string={"node": f"station:{station.id}", "tab": "control"},
    )
    assert response.status_code == 200
    return response.text


def test_the_control_tab_shows_the_list_version_and_what_waits(
    login_as, create_site, create_station
):
    station = create_station(create_site())
    db.session.add_all([RfidTag(tag="1111"), RfidTag(tag="2222")])
    db.session.add(
        StationLocalList(
            station_id=station.id,
            version=218805121,
            sent_at=utcnow(),
            pending=True,
            full_needed=False,
            supported=True,
            station_version=218805120,
            station_version_at=utcnow(),
            last_result="accepted",
            entries=[
                LocalListTag(tag="1111", tag_key="1111", status="accepted"),
            ],
        )
    )
    db.session.commit()
    page = _control(login_as(Role.ADMIN), station)
    assert '<strong id="local-list-version">218805121</strong>' in page
    assert '<span id="local-list-station-version">218805120</span>' in page
    assert "Changes waiting to be sent: 1" in page
    assert "(when the station is back online)" in page


def test_a_station_without_a_kept_list_says_how_to_start_one(
    login_as, create_site, create_station
):
    station = create_station(create_site())
    page = _control(login_as(Role.ADMIN), station)
    assert "The portal keeps no RFID list on this station yet" in page


def test_a_station_without_local_lists_says_so(login_as, create_site, create_station):
    station = create_station(create_site())
    db.session.add(
        StationLocalList(
            station_id=station.id,
            version=0,
            pending=False,
            full_needed=True,
            supported=False,
            last_result="not supported (NotSupported)",
        )
    )
    db.session.commit()
    page = _control(login_as(Role.ADMIN), station)
    assert "The station has no local RFID list (not supported (NotSupported))" in page
