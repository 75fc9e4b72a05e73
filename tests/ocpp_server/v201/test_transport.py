"""One endpoint, two OCPP-J versions: the sub-protocol negotiated, the protocol kept,
admission as for 1.6, every message checked against the 2.0.1 schemas (issue 21 §1)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from ocpp.v16 import call as call16
from sqlalchemy import select
from websockets.exceptions import InvalidStatus
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import EventLogEntry, Protocol, Station
from tests.ocpp_server.v16.station import run_async, running_station
from tests.ocpp_server.v201.conftest import eventually
from tests.ocpp_server.v201.test_station_messages import BOOT

PASSWORD = "a-long-station-secret"


def _url(live_server: Any, chargebox_id: str = "CS-201") -> str:
    return f"ws://127.0.0.1:{live_server.port}/Ocpp/websocket/{chargebox_id}"


def _agreed(live_server: Any, offered: list[str]) -> str | None:
    async def scenario() -> str | None:
        async with websockets.connect(
            _url(live_server),
            subprotocols=offered,  # type: ignore[arg-type]
        ) as ws:
            return ws.subprotocol

    return run_async(scenario())  # type: ignore[no-any-return]


def test_a_station_offering_201_is_served_201(live_server, station_record):
    assert _agreed(live_server, ["ocpp2.0.1"]) == "ocpp2.0.1"


def test_a_station_offering_both_gets_the_portals_preference(
    live_server, station_record
):
    assert _agreed(live_server, ["ocpp1.6", "ocpp2.0.1"]) == "ocpp2.0.1"


class TestPreferring16:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        options = {**app_config.get("SOCK_SERVER_OPTIONS", {})}
        options["subprotocols"] = ["ocpp1.6", "ocpp2.0.1"]
        return {**app_config, "SOCK_SERVER_OPTIONS": options}

    def test_the_preference_is_configurable(self, live_server, station_record):
        assert _agreed(live_server, ["ocpp2.0.1", "ocpp1.6"]) == "ocpp1.6"


class TestServing16Only:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        options = {**app_config.get("SOCK_SERVER_OPTIONS", {})}
        options["subprotocols"] = ["ocpp1.6"]
        return {**app_config, "SOCK_SERVER_OPTIONS": options}

    def test_a_portal_serving_16_alone_refuses_201(self, live_server, station_record):
        async def scenario() -> int:
            with pytest.raises(InvalidStatus) as info:
                async with websockets.connect(
                    _url(live_server),
                    subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                ):
                    pass
            return info.value.response.status_code

        assert run_async(scenario()) == 400


def test_the_protocol_a_station_speaks_is_recorded(connect, station_record):
    station_record.protocol = Protocol.OCPP16_JSON
    db.session.commit()
    with connect(station_record.chargebox_id) as runner:
        runner.call(BOOT)
    db.session.refresh(station_record)
    assert station_record.protocol is Protocol.OCPP201_JSON
    changes = db.session.scalars(select(EventLogEntry.message)).all()
    assert "protocol changed from OCPP16_JSON to OCPP201_JSON" in changes


def test_the_same_station_may_come_back_speaking_16(live_server, station_record):
    with running_station(live_server.url, station_record.chargebox_id) as runner:
        runner.call(
            call16.BootNotification(charge_point_vendor="ACME", charge_point_model="X")
        )
    db.session.refresh(station_record)
    assert station_record.protocol is Protocol.OCPP16_JSON


def test_basic_auth_guards_a_201_station(connect, station_record):
    station_record.auth_password_hash = generate_password_hash(PASSWORD)
    db.session.commit()
    with pytest.raises(InvalidStatus) as refused, connect(station_record.chargebox_id):
        pass
    assert refused.value.response.status_code == 401
    with connect(station_record.chargebox_id, password=PASSWORD) as runner:
        assert runner.call(BOOT).status == "Accepted"


def test_an_unknown_201_station_is_refused(connect):
    with pytest.raises(InvalidStatus) as refused, connect("NOBODY"):
        pass
    assert refused.value.response.status_code == 404


def _exchange(live_server: Any, frames: list[str]) -> list[Any]:
    async def scenario() -> list[Any]:
        async with websockets.connect(
            _url(live_server),
            subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
        ) as ws:
            answers = []
            for frame in frames:
                await ws.send(frame)
                answers.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            return answers

    return run_async(scenario())  # type: ignore[no-any-return]


def test_a_payload_against_the_schema_gets_a_format_violation(
    live_server, station_record
):
    bad = json.dumps([2, "m-1", "Heartbeat", {"extra": 1}])
    boot = json.dumps([2, "m-2", "Heartbeat", {}])
    error, answer = _exchange(live_server, [bad, boot])
    assert error[:3] == [4, "m-1", "FormatViolation"]  # 2.0.1's spelling
    assert answer[0] == 3 and answer[1] == "m-2"  # the connection stays


def test_a_malformed_frame_gets_a_callerror_and_the_connection_stays(
    live_server, station_record
):
    error, answer = _exchange(
        live_server,
        ['[2, "m-1", "Heartbeat"', json.dumps([2, "m-2", "Heartbeat", {}])],
    )
    assert error[0] == 4 and error[1] == "m-1"
    assert answer[:2] == [3, "m-2"]


def test_an_action_of_16_only_is_refused_in_201(live_server, station_record):
    frame = json.dumps([2, "m-1", "StartTransaction", {"connectorId": 1}])
    (error,) = _exchange(live_server, [frame])
    assert error[:3] == [4, "m-1", "NotSupported"]  # the library's answer


def test_a_201_station_is_online_while_connected(connect, station_record):
    with connect(station_record.chargebox_id):
        assert eventually(lambda: db.session.get(Station, station_record.id).online)
    assert eventually(lambda: not db.session.get(Station, station_record.id).online)
