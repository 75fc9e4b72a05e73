"""Fixtures for OCPP 2.0.1: the portal on a live server and connected 2.0.1 stations."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

from app.models import Protocol, Station
from tests.ocpp_server.v16.conftest import eventually
from tests.ocpp_server.v16.station import StationRunner
from tests.ocpp_server.v201.station import running_station201

__all__ = ["eventually"]


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # Fast failure paths; the first-contact report is exercised where a test wants it.
    return {
        **app_config,
        "OCPP_COMMAND_TIMEOUT": 2.0,
        "OCPP_FETCH_CONFIG_ON_BOOT": False,
    }


@pytest.fixture
def station_record(create_site, create_station) -> Station:
    """A registered 2.0.1 station, CS-201, with two RFID outlets (EVSEs 1 and 2)."""
    return create_station(
        create_site("Solna"),
        "CS-201",
        outlets=2,
        protocol=Protocol.OCPP201_JSON,
    )


@pytest.fixture
def connect(live_server) -> Callable[..., AbstractContextManager[StationRunner]]:
    """Return a context manager that connects a simulated 2.0.1 station and waits
    until the portal holds the connection (so commands can reach it)."""
    registry = live_server.app.extensions["ocpp_websocket"].registry

    @contextmanager
    def make(chargebox_id: str = "CS-201", **kwargs: Any) -> Iterator[StationRunner]:
        with running_station201(live_server.url, chargebox_id, **kwargs) as runner:
            deadline = time.monotonic() + 5
            while chargebox_id not in registry and time.monotonic() < deadline:
                time.sleep(0.01)
            yield runner

    return make


@pytest.fixture
def station(connect, station_record) -> Iterator[StationRunner]:
    """The registered 2.0.1 station, connected."""
    with connect(station_record.chargebox_id) as runner:
        yield runner
