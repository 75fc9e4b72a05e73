"""Fixtures for the REST API: a service with a secret, outlets with its ids, a live
portal and a simulated 1.6 station that starts and stops when asked."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from ocpp.v16 import call

from app.extensions import db
from app.models import Role
from app.services import api_access, background, integrations, webhooks
from tests.ocpp_server.v16.conftest import connect  # noqa: F401 (a fixture)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "OCPP_COMMAND_TIMEOUT": 3.0,
        "OCPP_FETCH_CONFIG_ON_BOOT": False,
        "API_START_WAIT": 15.0,  # generous: a loaded CI machine is slow
        "API_WEBHOOK_RETRY_BASE": 0.2,
        "API_WEBHOOK_RETRY_MAX": 0.5,
        "API_WEBHOOK_TIMEOUT": 2.0,
    }


@pytest.fixture(autouse=True)
def _no_retries_after_the_test(app) -> Iterator[None]:
    yield
    webhooks.shutdown(app)
    background.wait_idle()


@pytest.fixture
def admin(create_user):
    return create_user(Role.ADMIN)


@dataclass
class Service:
    id: int
    provider: str
    secret: str
    signing_secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


@pytest.fixture
def make_service(admin):
    def make(provider: str = "PayCo", url: str = "") -> Service:
        service = integrations.create_service(
            admin, integrations.ServiceInput(provider, url=url, active=True)
        )
        new = api_access.rotate_service_secret(admin, service)
        db.session.commit()
        return Service(service.id, provider, new.secret, new.signing_secret)

    return make


@pytest.fixture
def site(create_site):
    return create_site(
        "Solna", street="Gatan 1", city="Solna", latitude=59.36, longitude=18.0
    )


@pytest.fixture
def station_record(site, create_station):
    return create_station(site, "000003586", outlets=2)


@pytest.fixture
def service(make_service, admin, station_record) -> Service:
    """PayCo knows outlet 1 of the station as "P-1" (outlet 2 it does not know)."""
    made = make_service("PayCo")
    integrations.set_outlet_service_ids(
        admin, station_record.outlets[0], {made.id: "P-1"}
    )
    db.session.commit()
    return made


def _now() -> str:
    return datetime.now(UTC).isoformat()


class AutoStation:
    """Make a connected simulated station start a transaction when asked to, and
    stop it when asked to, as a real one does after RemoteStart/RemoteStop."""

    def __init__(self, runner) -> None:
        self.runner = runner
        self.meter = 1000
        self.respond = True
        cp = runner.cp
        cp.route_map["RemoteStartTransaction"]["_after_action"] = self._started
        cp.route_map["RemoteStopTransaction"]["_after_action"] = self._stopped

    async def _started(self, **payload: Any) -> None:
        if not self.respond:
            return
        await self.runner.cp.call(
            call.StatusNotification(
                connector_id=payload["connector_id"],
                error_code="NoError",
                status="Charging",
            )
        )
        await self.runner.cp.call(
            call.StartTransaction(
                connector_id=payload["connector_id"],
                id_tag=payload["id_tag"],
                meter_start=self.meter,
                timestamp=_now(),
            )
        )

    async def _stopped(self, **payload: Any) -> None:
        if not self.respond:
            return
        await self.runner.cp.call(
            call.StopTransaction(
                transaction_id=payload["transaction_id"],
                meter_stop=self.meter + 2500,
                timestamp=_now(),
                reason="Remote",
            )
        )

    def meter_values(self, session_id: int, wh: int, connector: int = 1) -> None:
        self.runner.call(
            call.MeterValues(
                connector_id=connector,
                transaction_id=session_id,
                meter_value=[
                    {
                        "timestamp": _now(),
                        "sampledValue": [
                            {
                                "value": str(wh),
                                "measurand": "Energy.Active.Import.Register",
                                "unit": "Wh",
                            }
                        ],
                    }
                ],
            )
        )

    def status(self, connector: int, status: str) -> None:
        self.runner.call(
            call.StatusNotification(
                connector_id=connector, error_code="NoError", status=status
            )
        )


@pytest.fixture
def station(connect, station_record) -> Iterator[AutoStation]:  # noqa: F811
    with connect(station_record.chargebox_id) as runner:
        auto = AutoStation(runner)
        auto.status(1, "Available")
        auto.status(2, "Available")
        yield auto


@pytest.fixture
def api(live_server):
    """requests against the live portal's API: api.get("/outlets", service)."""

    class Client:
        base = live_server.url + "/api/v1"

        def request(self, method: str, path: str, who=None, **kwargs: Any):
            headers = dict(kwargs.pop("headers", {}))
            if who is not None:
                headers.update(who.headers)
            return requests.request(
                method, self.base + path, headers=headers, timeout=30, **kwargs
            )

        def get(self, path: str, who=None, **kwargs: Any):
            return self.request("GET", path, who, **kwargs)

        def post(self, path: str, who=None, **kwargs: Any):
            return self.request("POST", path, who, **kwargs)

    return Client()


class Receiver:
    """A real local HTTP server that records the webhooks posted to it."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.signatures: list[tuple[str, bytes]] = []
        self.up = True
        self.refused = 0
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not receiver.up:
                    receiver.refused += 1
                    self.send_response(503)
                    self.end_headers()
                    return
                with receiver.arrived:
                    receiver.events.append(json.loads(body))
                    receiver.signatures.append(
                        (self.headers["X-ChargePortal-Signature"], body)
                    )
                    receiver.arrived.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def kinds(self) -> list[str]:
        return [event["type"] for event in self.events]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.events) >= count, timeout)
        return self.events

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()
