"""The WebSocket as the event loop serves it: pings, the frame size limit, fragments,
a station that stops reading."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from ocpp.v16 import call
from websockets.exceptions import ConnectionClosedError
from werkzeug.serving import make_server
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    Ping,
    Request,
    TextMessage,
)

from ocpp_server.websocket.calls import CallStatus
from tests.ocpp_server.v16.conftest import eventually
from tests.ocpp_server.v16.station import run_async

LIMIT = 1024


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_config,
        "SOCK_SERVER_OPTIONS": {
            "subprotocols": ["ocpp1.6"],
            "ping_interval": 0.2,
            "max_message_size": LIMIT,
        },
    }


class RawStation:
    """A station's socket driven by hand (wsproto): it answers nothing, not even a
    ping, and reads only when told to."""

    def __init__(self, port: int, chargebox_id: str, *, receive_buffer: int = 0):
        self.sock = socket.socket()
        if receive_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.connect(("127.0.0.1", port))
        self.sock.settimeout(5)
        self.ws = WSConnection(ConnectionType.CLIENT)
        request = Request(
            host="127.0.0.1",
            target=f"/Ocpp/websocket/{chargebox_id}",
            subprotocols=["ocpp1.6"],
        )
        self.sock.sendall(self.ws.send(request))
        assert any(isinstance(e, AcceptConnection) for e in self.read_until_accepted())

    def read_until_accepted(self) -> Iterator[Event]:
        while True:
            self.ws.receive_data(self.sock.recv(65536))
            events = list(self.ws.events())
            yield from events
            if any(isinstance(e, AcceptConnection) for e in events):
                return

    def events_until_closed(self, timeout: float) -> list[Event]:
        """Read (answering nothing) until the portal's close frame or `timeout`."""
        seen: list[Event] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.sock.recv(65536)
            if not data:
                break
            self.ws.receive_data(data)
            seen.extend(self.ws.events())
            if any(isinstance(e, CloseConnection) for e in seen):
                break
        return seen

    def close(self) -> None:
        self.sock.close()


def _url(live_server: Any) -> str:
    return f"ws://127.0.0.1:{live_server.port}/Ocpp/websocket/000003586"


def _registry(live_server: Any) -> Any:
    return live_server.app.extensions["ocpp_websocket"].registry


def test_a_station_that_answers_no_ping_is_closed_with_1008(
    live_server, station_record
):
    raw = RawStation(live_server.port, "000003586")
    try:
        events = raw.events_until_closed(timeout=5)
    finally:
        raw.close()
    assert any(isinstance(e, Ping) for e in events)
    closing = [e for e in events if isinstance(e, CloseConnection)]
    assert [(c.code, c.reason) for c in closing] == [(1008, "Ping/Pong timeout")]
    eventually(lambda: "000003586" not in _registry(live_server))


def test_a_station_that_answers_pings_stays_connected(live_server, station_record):
    async def scenario() -> str:
        async with websockets.connect(
            _url(live_server), subprotocols=["ocpp1.6"]
        ) as ws:
            await asyncio.sleep(1.0)  # five ping intervals, each answered by the client
            await ws.send('[2,"hb","Heartbeat",{}]')
            return str(await ws.recv())

    reply = json.loads(run_async(scenario()))
    assert reply[:2] == [3, "hb"]


def test_a_frame_over_the_size_limit_closes_with_1009(live_server, station_record):
    frame = json.dumps([2, "big", "DataTransfer", {"vendorId": "x" * LIMIT}])

    async def scenario() -> int | None:
        async with websockets.connect(
            _url(live_server), subprotocols=["ocpp1.6"]
        ) as ws:
            await ws.send(frame)
            with pytest.raises(ConnectionClosedError) as closed:
                await ws.recv()
            return closed.value.rcvd.code if closed.value.rcvd else None

    assert run_async(scenario()) == 1009


def test_a_fragmented_message_is_put_together(live_server, station_record):
    async def scenario() -> str:
        async with websockets.connect(
            _url(live_server), subprotocols=["ocpp1.6"]
        ) as ws:
            await ws.send(['[2,"frag",', '"Heartbeat",', "{}]"])
            return str(await ws.recv())

    assert json.loads(run_async(scenario()))[:2] == [3, "frag"]


def test_the_size_limit_counts_the_whole_message_not_each_fragment(
    live_server, station_record
):
    part = " " * (LIMIT // 2)

    async def scenario() -> tuple[int | None, float]:
        async with websockets.connect(
            _url(live_server), subprotocols=["ocpp1.6"]
        ) as ws:
            started = time.monotonic()
            await ws.send(['[2,"frag",', part, part, '"Heartbeat",{}]'])
            with pytest.raises(ConnectionClosedError) as closed:
                await ws.recv()  # returns once TCP is closed
            code = closed.value.rcvd.code if closed.value.rcvd else None
            return code, time.monotonic() - started

    code, closing = run_async(scenario())
    assert code == 1009
    assert closing < 1.0  # the portal ends TCP on the closing handshake, not 2 s later


def test_a_station_that_stops_reading_is_dropped_after_the_send_timeout(
    live_server, station_record, caplog
):
    state = live_server.app.extensions["ocpp_websocket"]
    state.options = dataclasses.replace(state.options, send_timeout=0.5)
    config = live_server.app.config  # pings would close the silent station first
    config["SOCK_SERVER_OPTIONS"] = {
        **config["SOCK_SERVER_OPTIONS"],
        "ping_interval": 60,
    }
    raw = RawStation(live_server.port, "000003586", receive_buffer=4096)
    try:
        eventually(lambda: "000003586" in _registry(live_server))
        started = time.monotonic()
        with caplog.at_level(
            logging.WARNING, logger="ocpp_server.websocket.connection"
        ):
            outcome = _registry(live_server).call(
                "000003586",
                call.DataTransfer(vendor_id="com.example", data="x" * 16_000_000),
                timeout=20,
            )
        elapsed = time.monotonic() - started
    finally:
        raw.close()
    assert outcome.status is CallStatus.OFFLINE
    assert elapsed < 10
    assert "send blocked" in caplog.text
    eventually(lambda: "000003586" not in _registry(live_server))


def test_a_station_on_a_tls_socket_is_refused_with_1011(app, station_record, tmp_path):
    """TLS ends at the proxy: a TLS socket cannot be handed to the event loop."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, ssl_context=(str(cert), str(key))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client_tls = ssl.create_default_context()
    client_tls.check_hostname = False
    client_tls.verify_mode = ssl.CERT_NONE

    async def scenario() -> int | None:
        async with websockets.connect(
            f"wss://127.0.0.1:{server.server_port}/Ocpp/websocket/000003586",
            subprotocols=["ocpp1.6"],
            ssl=client_tls,
        ) as ws:
            with pytest.raises(ConnectionClosedError) as closed:
                await ws.recv()
            return closed.value.rcvd.code if closed.value.rcvd else None

    try:
        assert run_async(scenario()) == 1011
    finally:
        server.shutdown()
        thread.join(5)


def test_a_ping_after_the_portals_close_frame_is_not_answered_and_the_close_completes(
    live_server, station_record, caplog
):
    raw = RawStation(live_server.port, "000003586")
    try:
        too_big = TextMessage(
            data=json.dumps([2, "big", "Heartbeat", {"x": "y" * LIMIT}])
        )
        raw.sock.sendall(raw.ws.send(too_big))
        closing = [
            e for e in raw.events_until_closed(5) if isinstance(e, CloseConnection)
        ]
        assert [c.code for c in closing] == [1009]
        # A ping crosses the portal's close frame, then the station answers the close.
        ping = bytes([0x89, 0x80 | 4]) + bytes(4) + b"late"  # masked with zeros
        raw.sock.sendall(ping + raw.ws.send(closing[0].response()))
        after = b""
        while chunk := raw.sock.recv(65536):  # until the portal ends TCP
            after += chunk  # (the dev server may still write its HTTP 200)
        assert b"\x8a" not in after  # no pong frame
    finally:
        raw.close()
    assert "Fatal error" not in caplog.text
