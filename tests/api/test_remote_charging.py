"""Acceptance (issue 8): a service starts and stops charging by outlet UUID over the
REST API on a live portal, with a simulated OCPP 1.6 station."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiCommand, ChargingSession
from tests.ocpp_server.v16.conftest import eventually


def test_a_service_starts_by_outlet_uuid_and_gets_the_session_id(
    api, service, station, station_record
):
    outlet = station_record.outlets[0]
    answer = api.post(f"/outlets/{outlet.uuid}/start", service, json={"tag": "4242"})
    assert answer.status_code == 422  # an unknown tag may not charge on an RFID outlet
    answer = api.post(f"/outlets/{outlet.uuid}/start", service)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    session = db.session.get(ChargingSession, body["id"])
    assert session is not None and session.outlet_id == outlet.id
    assert body["status"] == "charging" and body["started_by_you"] is True
    assert body["outlet"] == {"uuid": outlet.uuid, "id": "P-1", "number": 1}
    assert answer.headers["Location"] == f"/api/v1/sessions/{body['id']}"
    assert [name for name, _ in station.runner.received] == ["RemoteStartTransaction"]


def test_a_service_reads_the_energy_so_far_and_stops_the_session(
    api, service, station, station_record
):
    outlet = station_record.outlets[0]
    session_id = api.post(f"/outlets/{outlet.uuid}/start", service).json()["id"]
    station.meter_values(session_id, 2200)
    energy = api.get(f"/sessions/{session_id}", service).json()["energy_kwh"]
    assert energy == pytest.approx(1.2)
    stopped = api.post(f"/sessions/{session_id}/stop", service)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "ended"
    assert stopped.json()["energy_kwh"] == pytest.approx(2.5)
    assert stopped.json()["stop_reason"] == "Remote"


def test_a_service_starts_by_its_own_outlet_id(api, service, station):
    answer = api.post("/outlets/by-service-id/P-1/start", service)
    assert answer.status_code == 201, answer.text
    assert answer.json()["outlet"]["id"] == "P-1"


def test_a_service_without_an_id_for_the_outlet_gets_404(
    api, service, make_service, admin, station, station_record
):
    known, unknown = station_record.outlets
    other = make_service("MapCo")
    for who, outlet in ((service, unknown), (other, known)):
        answer = api.post(f"/outlets/{outlet.uuid}/start", who)
        assert answer.status_code == 404
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["detail"] == "No such outlet."
        assert api.get(f"/outlets/{outlet.uuid}", who).status_code == 404
    assert station.runner.received == []


def test_a_wrong_token_gets_401_and_no_token_leaks_into_the_logs(
    api, service, station_record, caplog
):
    outlet = station_record.outlets[0]
    wrong = "cps_" + "x" * 43
    answer = api.get(
        f"/outlets/{outlet.uuid}", headers={"Authorization": f"Bearer {wrong}"}
    )
    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.get(f"/outlets/{outlet.uuid}").status_code == 401
    assert api.get(f"/outlets/{outlet.uuid}", service).status_code == 200
    assert wrong not in caplog.text and service.secret not in caplog.text


def test_the_same_idempotency_key_starts_once(api, service, station, station_record):
    outlet = station_record.outlets[0]
    key = {"Idempotency-Key": "order-77"}
    first = api.post(f"/outlets/{outlet.uuid}/start", service, headers=key)
    again = api.post(f"/outlets/{outlet.uuid}/start", service, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(select(func.count(ChargingSession.id))) == 1
    assert [name for name, _ in station.runner.received] == ["RemoteStartTransaction"]
    other = api.post(
        f"/outlets/{outlet.uuid}/start", service, headers=key, json={"tag": "1"}
    )
    assert other.status_code == 422  # the same key for another request


def test_a_slow_station_gets_a_202_with_a_status_url(
    app, api, service, station, station_record
):
    app.config["API_START_WAIT"] = 1.0
    station.respond = False  # accepts, but starts only later
    outlet = station_record.outlets[0]
    answer = api.post(f"/outlets/{outlet.uuid}/start", service)
    assert answer.status_code == 202, answer.text
    command = answer.json()
    assert command["state"] in ("pending", "accepted") and command["session_id"] is None
    assert answer.headers["Location"] == command["status_url"]
    tag = db.session.scalars(select(ApiCommand.tag)).one()
    from ocpp.v16 import call

    from tests.api.conftest import _now

    started = station.runner.call(
        call.StartTransaction(
            connector_id=1, id_tag=tag, meter_start=0, timestamp=_now()
        )
    )
    followed = eventually(
        lambda: (
            api.get(command["status_url"].removeprefix("/api/v1"), service).json()[
                "state"
            ]
            == "done"
        )
    )
    assert followed
    final = api.get(command["status_url"].removeprefix("/api/v1"), service).json()
    assert final["session_id"] == started.transaction_id


def test_a_service_may_not_stop_a_session_it_did_not_start(
    api, service, station, station_record
):
    from ocpp.v16 import call

    from tests.api.conftest import _now

    session_id = station.runner.call(
        call.StartTransaction(
            connector_id=1, id_tag="", meter_start=0, timestamp=_now()
        )
    ).transaction_id
    assert api.get(f"/sessions/{session_id}", service).status_code == 200
    answer = api.post(f"/sessions/{session_id}/stop", service)
    assert answer.status_code == 403
    assert "did not start" in answer.json()["detail"]


def test_an_offline_station_is_a_clear_conflict(api, service, station_record):
    answer = api.post(f"/outlets/{station_record.outlets[0].uuid}/start", service)
    assert answer.status_code == 409
    assert answer.json()["detail"] == "The station is offline."
