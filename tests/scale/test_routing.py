"""Commands reach a station whichever worker it is connected to (issue 9)."""

from __future__ import annotations

import asyncio

from tests.ocpp_server.v16.station import run_async
from tests.scale.conftest import eventually
from tests.scale.stations import ReconnectingStation


def test_a_station_on_a_receives_a_reset_requested_through_b(
    start_portals, add_stations
):
    a, b = start_portals("A", "B")
    (chargebox_id,) = add_stations(1)

    async def scenario() -> tuple[list[str], dict, int]:
        station = ReconnectingStation(chargebox_id, [a.url])
        station.start()
        await asyncio.wait_for(station.connected.wait(), 15)
        held_by_b = (await asyncio.to_thread(b.get, "/_probe/held"))["stations"]
        answer = await asyncio.to_thread(b.get, f"/_probe/reset/{chargebox_id}")
        await station.stop()
        return held_by_b, answer, station.resets

    held_by_b, answer, resets = run_async(scenario(), timeout=60)

    assert held_by_b == []
    assert answer["status"] == "accepted" and answer["pid"] == b.worker_pid()
    assert resets == 1


def test_a_station_whose_worker_is_killed_is_found_on_the_worker_it_reconnects_to(
    start_portals, add_stations
):
    a, b = start_portals("A", "B")
    (chargebox_id,) = add_stations(1)

    async def scenario() -> tuple[list[str], list[str], dict, int]:
        station = ReconnectingStation(chargebox_id, [a.url, b.url])
        station.start()
        await asyncio.wait_for(station.connected.wait(), 15)
        held_by_a = (await asyncio.to_thread(a.get, "/_probe/held"))["stations"]
        await asyncio.to_thread(a.kill)
        await asyncio.sleep(0.2)
        await asyncio.wait_for(station.connected.wait(), 15)
        held_by_b = (await asyncio.to_thread(b.get, "/_probe/held"))["stations"]
        answer = await asyncio.to_thread(b.get, f"/_probe/reset/{chargebox_id}")
        await station.stop()
        return held_by_a, held_by_b, answer, station.resets

    held_by_a, held_by_b, answer, resets = run_async(scenario(), timeout=60)

    assert held_by_a == [chargebox_id] and held_by_b == [chargebox_id]
    assert answer["status"] == "accepted" and resets == 1


def test_a_command_for_a_station_of_a_dead_worker_is_offline_at_once(
    start_portals, add_stations, redis_client, redis_prefix
):
    a, b = start_portals("A", "B")
    (chargebox_id,) = add_stations(1)

    def gone(worker_id: bytes) -> bool:  # SIGKILL delivered, its channel closed
        channel = f"{redis_prefix}worker:{worker_id.decode()}"
        return redis_client.pubsub_numsub(channel)[0][1] == 0

    async def scenario() -> dict:
        station = ReconnectingStation(chargebox_id, [a.url])
        station.start()
        await asyncio.wait_for(station.connected.wait(), 15)
        worker_id = redis_client.get(f"{redis_prefix}station:{chargebox_id}")
        await asyncio.to_thread(a.kill)
        await asyncio.to_thread(eventually, lambda: gone(worker_id))
        answer = await asyncio.to_thread(b.get, f"/_probe/reset/{chargebox_id}")
        await station.stop()
        return answer

    answer = run_async(scenario(), timeout=60)

    assert answer["status"] == "offline" and answer["ms"] < 2000, answer
    assert not redis_client.exists(f"{redis_prefix}station:{chargebox_id}")
