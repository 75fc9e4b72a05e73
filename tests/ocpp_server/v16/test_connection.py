"""Who may connect, and how: sub-protocol, identity policy, Basic auth, replacement."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import json
import threading

import pytest
import websockets
from ocpp.v16 import call
from sqlalchemy import select
from websockets.exceptions import InvalidStatus
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import (
    Alarm,
    AlarmKind,
    ConnectPolicy,
    EventKind,
    EventLogEntry,
    Station,
)
from app.services import topology
from tests.ocpp_server.v16.conftest import eventually
from tests.ocpp_server.v16.station import run_async

PASSWORD = "a-long-station-secret"


def _upgrade_status(live_server, path: str, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=5)
    conn.request(
        "GET",
        path,
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
            **headers,
        },
    )
    status = conn.getresponse().status
    conn.close()
    return status


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _ws_url(live_server, chargebox_id: str) -> str:
    return f"ws://127.0.0.1:{live_server.port}/Ocpp/websocket/{chargebox_id}"


@pytest.mark.parametrize("protocols", [None, ["ocpp2.1"]], ids=["none", "other"])
def test_a_missing_ocpp_subprotocol_is_refused_before_the_upgrade(
    live_server, station_record, protocols
):
    async def scenario() -> int:
        with pytest.raises(InvalidStatus) as info:
            async with websockets.connect(
                _ws_url(live_server, "000003586"), subprotocols=protocols
            ):
                pass
        return info.value.response.status_code

    assert run_async(scenario()) == 400
    assert _upgrade_status(live_server, "/Ocpp/websocket/000003586", {}) == 400


def test_the_endpoint_takes_a_trailing_slash(live_server, station_record):
    headers = {"Sec-WebSocket-Protocol": "ocpp1.6"}
    assert _upgrade_status(live_server, "/Ocpp/websocket/000003586/", headers) == 101


def test_an_unknown_station_is_refused_and_raises_not_registered(live_server):
    status = _upgrade_status(
        live_server, "/Ocpp/websocket/STRANGER", {"Sec-WebSocket-Protocol": "ocpp1.6"}
    )
    assert status == 404
    alarm = db.session.scalars(select(Alarm)).one()
    assert (alarm.kind, alarm.node_name) == (AlarmKind.NOT_REGISTERED, "STRANGER")


def test_under_the_pending_policy_an_unknown_station_boots_pending(app, connect):
    topology.get_settings().connect_policy = ConnectPolicy.PENDING
    db.session.commit()
    with connect("NEWBOX") as newbox:
        answer = newbox.call(
            call.BootNotification(charge_point_vendor="V", charge_point_model="M")
        )
    assert answer.status == "Pending"
    station = db.session.scalars(select(Station)).one()
    assert (station.chargebox_id, station.site_id) == ("NEWBOX", None)


def test_under_auto_register_an_unknown_station_is_accepted(app, connect):
    topology.get_settings().connect_policy = ConnectPolicy.AUTO_REGISTER
    db.session.commit()
    with connect("NEWBOX") as newbox:
        answer = newbox.call(
            call.BootNotification(charge_point_vendor="V", charge_point_model="M")
        )
    assert answer.status == "Accepted"


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (None, 401),
        (_basic("000003586", "wrong"), 401),
        (_basic("someone", PASSWORD), 401),
        (_basic("000003586", PASSWORD), 101),
    ],
    ids=["no-credentials", "wrong-password", "wrong-user", "correct"],
)
def test_a_station_password_is_checked_before_the_upgrade(
    live_server, station_record, auth, expected
):
    station_record.auth_password_hash = generate_password_hash(PASSWORD)
    db.session.commit()
    headers = {"Sec-WebSocket-Protocol": "ocpp1.6"}
    if auth:
        headers["Authorization"] = auth
    assert (
        _upgrade_status(live_server, "/Ocpp/websocket/000003586", headers) == expected
    )


def test_a_wrong_password_is_logged(live_server, station_record):
    station_record.auth_password_hash = generate_password_hash(PASSWORD)
    db.session.commit()
    _upgrade_status(
        live_server,
        "/Ocpp/websocket/000003586",
        {
            "Sec-WebSocket-Protocol": "ocpp1.6",
            "Authorization": _basic("000003586", "x"),
        },
    )
    event = db.session.scalars(select(EventLogEntry)).one()
    assert event.kind is EventKind.REJECTED and "password" in event.message


def test_a_station_with_its_password_connects(connect, station_record):
    station_record.auth_password_hash = generate_password_hash(PASSWORD)
    db.session.commit()
    with connect(password=PASSWORD) as runner:
        assert runner.call(call.Heartbeat()).current_time


def test_a_new_connection_replaces_the_old_one(connect, station_record, live_server):
    registry = live_server.app.extensions["ocpp_websocket"].registry
    with connect() as first:
        old = registry.get("000003586")
        with connect() as second:
            assert eventually(lambda: registry.get("000003586") is not old)
            assert second.call(call.Heartbeat()).current_time
            assert eventually(lambda: old.closed)
        del first


def test_disconnect_marks_the_station_offline(connect, station_record):
    with connect():
        assert eventually(lambda: db.session.get(Station, station_record.id).online)
    assert eventually(lambda: not db.session.get(Station, station_record.id).online)


def test_the_ws_subprotocol_is_ocpp16(live_server, station_record):
    async def scenario() -> str | None:
        async with websockets.connect(
            _ws_url(live_server, "000003586"), subprotocols=["ocpp1.6"]
        ) as ws:
            await ws.send(json.dumps([2, "1", "Heartbeat", {}]))
            await asyncio.wait_for(ws.recv(), 5)
            return ws.subprotocol

    assert run_async(scenario()) == "ocpp1.6"


def _route_threads() -> int:
    return sum("process_request_thread" in t.name for t in threading.enumerate())


def test_a_held_station_keeps_no_server_thread(
    connect, create_site, create_station, live_server
):
    site = create_site("Kista")
    ids = [f"HOLD-{n}" for n in range(8)]
    for chargebox_id in ids:
        create_station(site, chargebox_id)
    with contextlib.ExitStack() as stack:
        runners = [stack.enter_context(connect(c)) for c in ids]
        # each connection is handed to the event loop and its route thread returns
        assert eventually(lambda: _route_threads() == 0)
        assert all(r.call(call.Heartbeat()).current_time for r in runners)
        assert all(
            c in live_server.app.extensions["ocpp_websocket"].registry for c in ids
        )
