"""The REST API starts and stops charging on a 2.0.1 station as on the others
(issue 21 acceptance: results in the REST API)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AccessRule, ChargingSession, Protocol
from app.services import integrations
from tests.api.conftest import Service, admin, api, make_service  # noqa: F401 (fixtures)
from tests.ocpp_server.v201.conftest import eventually


@pytest.fixture
def app_config(app_config):
    return {**app_config, "API_START_WAIT": 15.0}


@pytest.fixture
def station_record(create_site, create_station):
    return create_station(
        create_site("Solna"),
        "CS-201",
        outlets=2,
        access=AccessRule.OPEN,
        protocol=Protocol.OCPP201_JSON,
    )


@pytest.fixture
def service(make_service, admin, station_record) -> Service:  # noqa: F811
    made = make_service("PayCo")
    integrations.set_outlet_service_ids(
        admin, station_record.outlets[0], {made.id: "P-1"}
    )
    db.session.commit()
    return made


def test_a_service_starts_and_stops_a_201_session(
    api,  # noqa: F811
    service,
    station,
    station_record,
):
    outlet = station_record.outlets[0]
    started = api.post(f"/outlets/{outlet.uuid}/start", service)
    assert started.status_code == 201, started.text
    session_id = started.json()["id"]
    session = db.session.get(ChargingSession, session_id)
    assert session.transaction_ref == "RS-1"
    stopped = api.post(f"/sessions/{session_id}/stop", service)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "ended"
    assert stopped.json()["energy_kwh"] == pytest.approx(2.5)
    ended = eventually(
        lambda: db.session.scalars(
            select(ChargingSession).where(ChargingSession.ended_at.is_not(None))
        ).first()
    )
    assert ended.id == session_id
    assert [name for name, _ in station.received] == [
        "RequestStartTransaction",
        "RequestStopTransaction",
    ]
