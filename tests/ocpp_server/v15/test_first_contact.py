"""First contact (spec §9): after a station's first accepted BootNotification has
been answered, the portal fetches its configuration through the simulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Direction, EventKind, EventLogEntry, OcppMessage, Station
from tests.ocpp_server.v15.conftest import STATION_ID, StationClient, fresh
from tests.ocpp_server.v15.simulator import SimulatorServer

THREAD_NAME = f"ocpp15-fetch-configuration-{STATION_ID}"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["OCPP_FETCH_CONFIG_ON_BOOT"] = True
    return app_config


def wait_for_fetch(simulator: SimulatorServer, count: int, timeout: float = 10) -> None:
    """Wait until the simulator got `count` GetConfigurations and the fetch ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        received = [
            c for c in simulator.simulator.calls if c.operation == "GetConfiguration"
        ]
        fetching = [t for t in threading.enumerate() if t.name == THREAD_NAME]
        for thread in fetching:
            if thread.is_alive():  # a thread in limbo (not started) cannot be joined
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if len(received) >= count and not fetching:
            return
        time.sleep(0.05)
    raise AssertionError("the configuration fetch did not happen")


def test_first_boot_fetches_the_configuration_after_answering(
    station: Station,
    simulator: SimulatorServer,
    make_station_client: Callable[..., StationClient],
) -> None:
    cp = make_station_client(STATION_ID, callback=simulator.url)

    assert cp.boot().status == "Accepted"
    wait_for_fetch(simulator, 1)

    fresh()
    assert [(k.key, k.value, k.readonly) for k in station.config_keys] == [
        ("ChargePointId", "CB", True),
        ("HeartbeatInterval", "300", False),
    ]
    assert simulator.simulator.last("GetConfiguration").payload == {"key": []}
    results = db.session.scalars(
        select(EventLogEntry.message).where(
            EventLogEntry.kind == EventKind.COMMAND_RESULT
        )
    ).all()
    assert results == ["GetConfiguration: accepted"]
    log = db.session.scalars(select(OcppMessage).order_by(OcppMessage.id)).all()
    assert [(m.direction, m.action) for m in log] == [
        (Direction.IN, "BootNotification"),
        (Direction.OUT, "BootNotification"),
        (Direction.OUT, "GetConfiguration"),
        (Direction.IN, "GetConfiguration"),
    ]


def test_a_station_with_a_key_table_is_not_fetched_again(
    station: Station,
    simulator: SimulatorServer,
    make_station_client: Callable[..., StationClient],
) -> None:
    cp = make_station_client(STATION_ID, callback=simulator.url)
    cp.boot()
    wait_for_fetch(simulator, 1)

    assert cp.boot().status == "Accepted"
    time.sleep(1.5)  # longer than the fetch's delay

    assert [t for t in threading.enumerate() if t.name == THREAD_NAME] == []
    assert [c.operation for c in simulator.simulator.calls] == ["GetConfiguration"]
