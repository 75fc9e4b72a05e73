"""A restart in the middle of charging sessions loses none of them (issue 9)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from ocpp.v16 import call
from sqlalchemy import create_engine, select

from app.config import normalise_database_url
from app.models import ChargingSession, Station
from tests.ocpp_server.v16.station import run_async
from tests.scale.conftest import _free_port
from tests.scale.stations import ReconnectingStation

SESSIONS = 100


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _meter_values(transaction_id: int, wh: int) -> call.MeterValues:
    return call.MeterValues(
        connector_id=1,
        transaction_id=transaction_id,
        meter_value=[
            {
                "timestamp": _now(),
                "sampled_value": [
                    {"value": str(wh), "measurand": "Energy.Active.Import.Register"}
                ],
            }
        ],
    )


def test_a_restart_in_the_middle_of_100_charging_sessions_loses_none(
    start_portals, add_stations, scale_database
):
    ids = add_stations(SESSIONS)
    port = _free_port()
    (first,) = start_portals("first", port=port)
    url = first.url

    async def scenario() -> tuple[dict[int, tuple[int, int]], list[list[int | None]]]:
        stations = [ReconnectingStation(chargebox_id, [url]) for chargebox_id in ids]
        mid_session = asyncio.Semaphore(0)
        restarted = asyncio.Event()

        async def charge(
            index: int, station: ReconnectingStation
        ) -> tuple[int, int, int]:
            meter = 10_000 * (index + 1)
            started = await station.send(
                call.StartTransaction(
                    connector_id=1, id_tag="SCALE", meter_start=meter, timestamp=_now()
                )
            )
            transaction_id = started.transaction_id
            meter_start, sent_after_restart = meter, 0
            while sent_after_restart < 3:
                meter += 250
                await station.send(_meter_values(transaction_id, meter))
                if meter == meter_start + 500:
                    mid_session.release()
                if restarted.is_set():
                    sent_after_restart += 1
                await asyncio.sleep(random.uniform(0.1, 0.3))
            await station.send(
                call.StopTransaction(
                    meter_stop=meter, timestamp=_now(), transaction_id=transaction_id
                )
            )
            return transaction_id, meter_start, meter

        for station in stations:
            station.start()
        sessions = [asyncio.create_task(charge(n, s)) for n, s in enumerate(stations)]
        for _ in stations:
            await asyncio.wait_for(mid_session.acquire(), 60)
        await asyncio.to_thread(first.terminate)  # graceful: SIGTERM
        await asyncio.to_thread(start_portals, "second", port=port)
        restarted.set()
        results = await asyncio.wait_for(asyncio.gather(*sessions), 90)
        for station in stations:
            await station.stop()
        return (
            {tx: (start, stop) for tx, start, stop in results},
            [station.close_codes for station in stations],
        )

    expected, close_codes = run_async(scenario(), timeout=150)

    engine = create_engine(normalise_database_url(scale_database))
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ChargingSession.id,
                ChargingSession.meter_start_kwh,
                ChargingSession.energy_kwh,
                ChargingSession.ended_at,
            )
            .join(Station, Station.id == ChargingSession.station_id)
            .where(Station.chargebox_id.in_(ids))
        ).all()
    engine.dispose()
    assert len(expected) == SESSIONS
    assert len(rows) == SESSIONS
    for session_id, meter_start_kwh, energy_kwh, ended_at in rows:
        start, stop = expected[session_id]
        assert ended_at is not None
        assert meter_start_kwh == start / 1000
        assert energy_kwh == round((stop - start) / 1000, 4)
    # Each station was let go with "going away", none dropped abruptly.
    assert all(codes[:1] == [1001] for codes in close_codes)
