"""A worker's graceful shutdown (ocpp_server/shutdown.py, issue 9)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import websockets
from ocpp.v16 import call_result
from websockets.exceptions import InvalidStatus

from app.services.commands import CommandStatus, Reset, StationAddress
from ocpp_server import shutdown
from tests.ocpp_server.v16.conftest import eventually
from tests.ocpp_server.v16.station import run_async


def test_draining_closes_a_station_with_going_away(live_server, station):
    shutdown.drain(live_server.app, spread=0.1, idle_wait=2)

    assert eventually(lambda: station.ws.close_code) == 1001
    assert len(live_server.app.extensions["ocpp_websocket"].registry) == 0


def test_draining_waits_for_a_command_in_flight(live_server, station):
    gateway = live_server.app.extensions["station_gateway"]
    address = StationAddress(station.cp.id, "OCPP16_JSON", None)
    results = []

    async def slow_reset(**payload):  # the station takes half a second to answer
        await asyncio.sleep(0.5)
        return call_result.Reset(status="Accepted")

    station.cp.route_map["Reset"]["_on_action"] = slow_reset
    sender = threading.Thread(
        target=lambda: results.append(gateway.send(address, Reset(), 5.0))
    )
    sender.start()
    time.sleep(0.1)  # the Reset is on its way

    shutdown.drain(live_server.app, spread=0, idle_wait=3)
    sender.join(5)

    assert [r.status for r in results] == [CommandStatus.ACCEPTED]
    assert eventually(lambda: station.ws.close_code) == 1001  # closed after it


def test_a_draining_worker_turns_new_stations_away_with_503(
    live_server, station_record
):
    chargebox_id = station_record.chargebox_id
    url = live_server.url.replace("http://", "ws://")
    shutdown.drain(live_server.app, spread=0, idle_wait=0)

    async def handshake() -> int:
        try:
            await websockets.connect(
                f"{url}/Ocpp/websocket/{chargebox_id}",
                subprotocols=["ocpp1.6"],
            )
        except InvalidStatus as refused:
            return refused.response.status_code
        pytest.fail("the handshake was accepted")

    assert run_async(handshake()) == 503
