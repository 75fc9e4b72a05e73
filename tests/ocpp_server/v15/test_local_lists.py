"""Local lists over OCPP 1.5 (SOAP): a blocked tag follows as a difference."""

from __future__ import annotations

from app.extensions import db
from app.models import RfidTag, Role, Station
from app.services import station_control
from tests.ocpp_server.v15.simulator import SimulatorServer
from tests.ocpp_server.v16.conftest import eventually


def _lists(simulator: SimulatorServer) -> list[dict]:
    return [
        c.payload for c in simulator.simulator.calls if c.operation == "SendLocalList"
    ]


def test_a_blocked_tag_reaches_a_15_station_as_a_differential_update(
    station: Station, simulator: SimulatorServer, create_user
) -> None:
    station.endpoint_address = simulator.url
    station.online = True
    db.session.add_all([RfidTag(tag="1111"), RfidTag(tag="2222")])
    db.session.commit()
    assert station_control.send_local_list(create_user(Role.ADMIN), station).ok
    tag = db.session.query(RfidTag).filter_by(tag="2222").one()
    tag.blocked = True
    db.session.commit()

    assert eventually(lambda: len(_lists(simulator)) == 2)
    full, update = _lists(simulator)
    assert (full["updateType"], update["updateType"]) == ("Full", "Differential")
    assert update["listVersion"] == full["listVersion"] + 1
    (entry,) = update["localAuthorisationList"]
    assert entry["idTag"] == "2222"
    assert entry["idTagInfo"]["status"] == "Blocked"
