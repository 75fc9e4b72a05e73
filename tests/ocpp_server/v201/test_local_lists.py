"""Local lists over a real OCPP 2.0.1 station: a blocked tag follows as a difference."""

from __future__ import annotations

from app.extensions import db
from app.models import RfidTag, Role
from app.services import station_control
from tests.ocpp_server.v201.conftest import eventually


def _lists(station) -> list[dict]:
    return [p for name, p in station.received if name == "SendLocalList"]


def test_a_blocked_tag_reaches_a_201_station_as_a_differential_update(
    station, station_record, create_user
):
    db.session.add_all([RfidTag(tag="04A1B2C3D4E5F6"), RfidTag(tag="APP-7F3K2Q")])
    db.session.commit()
    assert station_control.send_local_list(create_user(Role.ADMIN), station_record).ok
    tag = db.session.query(RfidTag).filter_by(tag="APP-7F3K2Q").one()
    tag.blocked = True
    db.session.commit()

    assert eventually(lambda: len(_lists(station)) == 2)
    full, update = _lists(station)
    assert full["update_type"] == "Full"
    assert update["update_type"] == "Differential"
    assert update["version_number"] == full["version_number"] + 1
    assert update["local_authorization_list"] == [
        {
            "id_token": {"id_token": "APP-7F3K2Q", "type": "Local"},
            "id_token_info": {"status": "Blocked"},
        }
    ]
