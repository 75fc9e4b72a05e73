"""Fixtures for OCPP 1.5: a station played by zeep from the official WSDL, a
simulated charge point, an endpoint that is down and one that never answers."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import zeep
from lxml import etree
from sqlalchemy import func, select
from zeep.plugins import HistoryPlugin, Plugin
from zeep.wsdl import Document
from zeep.wsdl.utils import get_or_create_header

from app.extensions import db
from app.models import Base, Protocol, Site, Station
from ocpp_server.v15.routes import RULE
from ocpp_server.v15.wsdl import CS_NS, CS_WSDL_PATH, SOAP12_ENV_NS, WSA_NS
from tests.conftest import LiveServer
from tests.ocpp_server.v15.simulator import ChargePointSimulator, SimulatorServer

CS_BINDING = f"{{{CS_NS}}}CentralSystemServiceSoap"
STATION_ID = "CB-15-0001"
ENV = f"{{{SOAP12_ENV_NS}}}"
SOAP12 = "application/soap+xml; charset=utf-8"

logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """No first-contact fetch (no station endpoint listens) and short timeouts."""
    app_config["OCPP_FETCH_CONFIG_ON_BOOT"] = False
    app_config["OCPP_COMMAND_TIMEOUT"] = 5.0
    return app_config


class WsaFromPlugin(Plugin):
    """Adds `wsa:From/wsa:Address` as a real 1.5 station does (zeep does not)."""

    def __init__(self, address: str | None) -> None:
        self.address = address

    def egress(
        self, envelope: Any, http_headers: Any, operation: Any, binding_options: Any
    ) -> Any:
        if self.address is not None:
            header = get_or_create_header(envelope)
            from_elt = etree.SubElement(header, f"{{{WSA_NS}}}From")
            etree.SubElement(from_elt, f"{{{WSA_NS}}}Address").text = self.address
        return envelope, http_headers


@dataclass
class StationClient:
    """A station: a zeep client built from the OFFICIAL CentralSystemService WSDL."""

    chargebox_id: str
    callback: str
    service: Any
    history: HistoryPlugin

    @property
    def headers(self) -> dict[str, str]:
        return {"ChargeBoxIdentity": self.chargebox_id}

    def call(self, operation: str, **payload: Any) -> Any:
        """Call an operation as this station."""
        return self.service[operation](**payload, _soapheaders=self.headers)

    def boot(self, **payload: Any) -> Any:
        payload.setdefault("chargePointVendor", "ACME")
        payload.setdefault("chargePointModel", "Wallbox-15")
        return self.call("BootNotification", **payload)

    def last_sent(self) -> etree._Element:
        assert self.history.last_sent is not None
        return self.history.last_sent["envelope"]

    def last_received(self) -> etree._Element:
        assert self.history.last_received is not None
        return self.history.last_received["envelope"]


@pytest.fixture(scope="session")
def cs_wsdl() -> Document:
    """The official CentralSystemService WSDL, parsed once."""
    return Document(str(CS_WSDL_PATH), zeep.Transport())


@pytest.fixture
def endpoint(live_server: LiveServer) -> str:
    return live_server.url + RULE


@pytest.fixture
def make_station_client(
    cs_wsdl: Document, endpoint: str
) -> Callable[..., StationClient]:
    def make(
        chargebox_id: str = STATION_ID, callback: str = "http://10.1.2.3:8080/cp"
    ) -> StationClient:
        history = HistoryPlugin()
        client = zeep.Client(cs_wsdl, plugins=[WsaFromPlugin(callback), history])
        service = client.create_service(CS_BINDING, endpoint)
        return StationClient(chargebox_id, callback, service, history)

    return make


@pytest.fixture
def site(create_site: Callable[..., Site]) -> Site:
    return create_site("Solna")


@pytest.fixture
def station(site: Site, create_station: Callable[..., Station]) -> Station:
    """A registered 1.5 station with two RFID outlets."""
    return create_station(site, STATION_ID, outlets=2, protocol=Protocol.OCPP15_SOAP)


@pytest.fixture
def cp(
    station: Station, make_station_client: Callable[..., StationClient]
) -> StationClient:
    """The registered station, played by zeep against the live server."""
    return make_station_client(station.chargebox_id)


def fresh() -> None:
    """Forget what the test's session cached: the server committed elsewhere."""
    db.session.rollback()
    db.session.expire_all()


def row_counts() -> dict[str, int]:
    """Count the rows of every table."""
    fresh()
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


def post(
    endpoint: str, data: str | bytes, content_type: str | None = SOAP12
) -> requests.Response:
    """POST a raw document to the SOAP endpoint."""
    headers = {"Content-Type": content_type} if content_type else {}
    if isinstance(data, str):
        data = data.encode()
    return requests.post(endpoint, data=data, headers=headers, timeout=10)


def envelope(
    body: str,
    *,
    identity: str | None = STATION_ID,
    wsa: str = "",
    identity_attrs: str = "",
    identity_ns: str = CS_NS,
) -> str:
    """A SOAP 1.2 envelope with a chargeBoxIdentity header around a body."""
    ident = (
        f'<i:chargeBoxIdentity xmlns:i="{identity_ns}" {identity_attrs}>'
        f"{identity}</i:chargeBoxIdentity>"
        if identity is not None
        else ""
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP12_ENV_NS}">'
        f"<s:Header>{ident}{wsa}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )


def wsa_headers(
    *,
    from_: str | None = None,
    reply_to: str | None = None,
    message_id: str = "urn:uuid:req-1",
    action: str = "/BootNotification",
) -> str:
    parts = [
        f'<a:Action xmlns:a="{WSA_NS}">{action}</a:Action>',
        f'<a:MessageID xmlns:a="{WSA_NS}">{message_id}</a:MessageID>',
    ]
    if from_ is not None:
        parts.append(
            f'<a:From xmlns:a="{WSA_NS}"><a:Address>{from_}</a:Address></a:From>'
        )
    if reply_to is not None:
        parts.append(
            f'<a:ReplyTo xmlns:a="{WSA_NS}"><a:Address>{reply_to}</a:Address></a:ReplyTo>'
        )
    return "".join(parts)


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    """A simulated 1.5 charge point answering as STATION_ID."""
    with SimulatorServer(ChargePointSimulator(STATION_ID)) as server:
        yield server


@pytest.fixture
def free_port() -> int:
    """A port with (almost certainly) nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BlackHoleServer:
    """Accepts TCP connections and never answers."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        port = self._sock.getsockname()[1]
        return f"http://127.0.0.1:{port}/Ocpp/ChargePointService/"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self._conns.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._conns:
            conn.close()
        self._sock.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHoleServer]:
    server = BlackHoleServer()
    yield server
    server.close()
