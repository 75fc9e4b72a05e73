"""Browser fixtures for the operator screens: a live portal with a connected 1.6 station."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from playwright.sync_api import Page

from app.extensions import db
from tests.conftest import PASSWORD
from tests.ocpp_server.v16.station import StationRunner, running_station


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        # The browser loads no map tiles from outside the machine.
        "PORTAL_MAP_TILES": "",
        # Colours follow quickly, commands fail fast.
        "PORTAL_NAVIGATOR_POLL_SECONDS": 0.3,
        "OCPP_COMMAND_TIMEOUT": 3.0,
        "OCPP_FETCH_CONFIG_ON_BOOT": False,
        # The browser sends the real CSRF token (header and forms).
        "WTF_CSRF_ENABLED": True,
    }


@pytest.fixture
def connect(live_server) -> Callable[..., AbstractContextManager[StationRunner]]:
    """Connect a simulated 1.6 station and wait until the portal holds the connection."""
    registry = live_server.app.extensions["ocpp_websocket"].registry

    @contextmanager
    def make(chargebox_id: str) -> Iterator[StationRunner]:
        with running_station(live_server.url, chargebox_id) as runner:
            deadline = time.monotonic() + 5
            while chargebox_id not in registry and time.monotonic() < deadline:
                time.sleep(0.01)
            yield runner

    return make


def log_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/**")


def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll until check() is truthy (the live server commits from its own threads)."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)
