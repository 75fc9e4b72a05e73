"""Fixtures for OCPP 1.6: the portal on a live server and connected simulated stations."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

from app.extensions import db
from app.models import Station
from tests.ocpp_server.v16.station import StationRunner, running_station


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # Fast failure paths; the boot-time key fetch is exercised where a test wants it.
    return {
        **app_config,
        "OCPP_COMMAND_TIMEOUT": 2.0,
        "OCPP_FETCH_CONFIG_ON_BOOT": False,
    }


@pytest.fixture
def station_record(create_site, create_station) -> Station:
    """A registered 1.6 station, 000003586, with two RFID outlets."""
    return create_station(create_site("Solna"), "000003586", outlets=2)


@pytest.fixture
def connect(live_server) -> Callable[..., AbstractContextManager[StationRunner]]:
    """Return a context manager that connects a simulated station to the portal and
    waits until the portal holds the connection (so commands can reach it)."""
    registry = live_server.app.extensions["ocpp_websocket"].registry

    @contextmanager
    def make(chargebox_id: str = "000003586", **kwargs: Any) -> Iterator[StationRunner]:
        with running_station(live_server.url, chargebox_id, **kwargs) as runner:
            deadline = time.monotonic() + 5
            while chargebox_id not in registry and time.monotonic() < deadline:
                time.sleep(0.01)
            yield runner

    return make


@pytest.fixture
def station(connect, station_record) -> Iterator[StationRunner]:
    """The registered station, connected."""
    with connect(station_record.chargebox_id) as runner:
        yield runner


def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll until check() is truthy (the server commits from its own threads)."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()  # look at what other connections committed
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)
