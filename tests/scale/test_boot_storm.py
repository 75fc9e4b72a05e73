"""A fleet that boots at once: nothing lost, and the first-contact work bounded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action
from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import (
    AccessRule,
    ChargingSession,
    EventKind,
    EventLogEntry,
    Outlet,
    OutletStatus,
    Protocol,
    Station,
    StationConfigKey,
)
from app.services import topology
from ocpp_server.websocket import first_contact
from ocpp_server.websocket.loop import get_loop
from tests.ocpp_server.v16.conftest import eventually

STATIONS = 200
CONFIGURATION = [
    {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
    {"key": "NumberOfConnectors", "readonly": True, "value": "1"},
]


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "OCPP_FETCH_CONFIG_ON_BOOT": True}


class Station16(ChargePoint):  # type: ignore[misc]
    """Answers the first-contact GetConfiguration, and notes that it did."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked = asyncio.Event()

    @on(Action.get_configuration)
    def on_get_configuration(self, **_: Any) -> call_result.GetConfiguration:
        self.asked.set()
        return call_result.GetConfiguration(configuration_key=CONFIGURATION)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _station(url: str, identity: str) -> tuple[str, int]:
    """Connect, boot, report, charge once, stay until asked for the configuration;
    the boot's status and the transaction id the station got."""
    async with websockets.connect(
        f"{url}/{identity}", subprotocols=["ocpp1.6"], open_timeout=30
    ) as ws:
        cp = Station16(identity, ws, response_timeout=30)
        reader = asyncio.create_task(cp.start())
        boot = await cp.call(
            call.BootNotification(charge_point_vendor="ACME", charge_point_model="S")
        )
        await cp.call(
            call.StatusNotification(
                connector_id=1, error_code="NoError", status="Preparing"
            )
        )
        start = await cp.call(
            call.StartTransaction(
                connector_id=1, id_tag="STORM", meter_start=0, timestamp=_now()
            )
        )
        await cp.call(
            call.StopTransaction(
                meter_stop=1000, timestamp=_now(), transaction_id=start.transaction_id
            )
        )
        await asyncio.wait_for(cp.asked.wait(), 30)
        await asyncio.sleep(0.1)  # the answer is on its way
        reader.cancel()
        return boot.status, start.transaction_id


async def _storm(url: str, identities: list[str]) -> list[tuple[str, int]]:
    return await asyncio.gather(*(_station(url, i) for i in identities))


@pytest.fixture
def fleet(create_site) -> list[str]:
    """STATIONS registered stations with one outlet each (bulk inserted), where
    anyone may charge."""
    site = create_site("Storm")
    topology.get_settings().default_access = AccessRule.OPEN  # no tag needed
    identities = [f"STORM{n:04d}" for n in range(STATIONS)]
    db.session.execute(
        insert(Station),
        [
            {
                "chargebox_id": identity,
                "name": identity,
                "protocol": Protocol.OCPP16_JSON,
                "site_id": site.id,
                "heartbeat_interval": 300,
            }
            for identity in identities
        ],
    )
    ids = db.session.scalars(select(Station.id).where(Station.site_id == site.id))
    db.session.execute(
        insert(Outlet),
        [
            {
                "station_id": station_id,
                "number": 1,
                "status": OutletStatus.AVAILABLE,
            }
            for station_id in ids
        ],
    )
    db.session.commit()
    return identities


def _count(statement: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(statement) or 0)


def test_a_boot_storm_loses_no_message_and_bounds_the_first_contact_work(
    live_server, fleet
):
    url = live_server.url.replace("http", "ws") + "/Ocpp/websocket"
    # The queue is the process's: an earlier test's stations may have used it.
    queue = first_contact.get_queue(get_loop())
    assert eventually(lambda: queue.running == queue.waiting == 0, timeout=30)
    finished_before = queue.finished

    answers = asyncio.run(_storm(url, fleet))

    assert [status for status, _ in answers] == ["Accepted"] * STATIONS
    assert len({transaction for _, transaction in answers}) == STATIONS
    booted = select(func.count(func.distinct(EventLogEntry.station_id))).where(
        EventLogEntry.kind == EventKind.BOOT
    )
    assert _count(booted) == STATIONS
    closed = select(func.count(ChargingSession.id)).where(
        ChargingSession.ended_at.is_not(None), ChargingSession.meter_kwh == 1.0
    )
    assert _count(closed) == STATIONS
    preparing = select(func.count(Outlet.id)).where(
        Outlet.status == OutletStatus.PREPARING
    )
    assert _count(preparing) == STATIONS
    configured = select(func.count(func.distinct(StationConfigKey.station_id)))
    assert eventually(lambda: _count(configured) == STATIONS, timeout=30)
    assert queue.finished - finished_before == STATIONS
    assert 1 <= queue.peak <= queue.concurrency
