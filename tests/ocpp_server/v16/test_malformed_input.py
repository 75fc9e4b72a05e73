"""Malformed frames get the protocol's CALLERROR, the connection stays up, nothing is written."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
import websockets
from ocpp.v16 import call_result
from sqlalchemy import func, select

from app.extensions import db
from app.models import ChargingSession, EventKind, EventLogEntry
from tests.ocpp_server.v16.station import run_async

T = TypeVar("T")

# (case, frame, unique id answered, CALLERROR code)
CASES = [
    ("invalid JSON", '[2,"j1","Heartbeat",{', "j1", "FormationViolation"),
    ("wrong message type id", '[7,"t1","Heartbeat",{}]', "t1", "FormationViolation"),
    (
        "message type id as text",
        '["2","t2","Heartbeat",{}]',
        "t2",
        "FormationViolation",
    ),
    ("missing payload", '[2,"m1","Heartbeat"]', "m1", "ProtocolError"),
    ("too many elements", '[2,"m2","Heartbeat",{},{}]', "m2", "ProtocolError"),
    ("action not a string", '[2,"a1",["Heartbeat"],{}]', "a1", "FormationViolation"),
    ("unknown action", '[2,"u1","FooBar",{}]', "u1", "NotSupported"),
    ("a portal-only action", '[2,"u2","GetConfiguration",{}]', "u2", "NotImplemented"),
    ("additional property", '[2,"s1","Heartbeat",{"x":1}]', "s1", "FormationViolation"),
    (
        "payload not an object",
        '[2,"s2","Heartbeat",[]]',
        "s2",
        "TypeConstraintViolation",
    ),
    (
        "missing required field",
        '[2,"s3","StartTransaction",{"connectorId":1,"idTag":"x","timestamp":"2026-01-01T00:00:00Z"}]',
        "s3",
        "ProtocolError",
    ),
    (
        "wrong field type",
        '[2,"s4","StartTransaction",{"connectorId":"one","idTag":"x","meterStart":0,'
        '"timestamp":"2026-01-01T00:00:00Z"}]',
        "s4",
        "TypeConstraintViolation",
    ),
    (
        "string too long",
        '[2,"s5","StartTransaction",{"connectorId":1,"idTag":"'
        + "x" * 21
        + '","meterStart":0,"timestamp":"2026-01-01T00:00:00Z"}]',
        "s5",
        "TypeConstraintViolation",
    ),
    (
        "bad enum value",
        '[2,"s6","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Bogus"}]',
        "s6",
        "FormationViolation",
    ),
]


async def _exchange(url: str, frames: list[str | bytes]) -> list[Any]:
    async with websockets.connect(url, subprotocols=["ocpp1.6"]) as ws:
        replies = []
        for frame in frames:
            await ws.send(frame)
        await ws.send(json.dumps([2, "alive", "Heartbeat", {}]))
        while True:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            replies.append(reply)
            if reply[1] == "alive":
                return replies


def _rows() -> tuple[int, int]:
    """Sessions and event-log entries other than the connection coming and going."""
    db.session.rollback()
    connection = (EventKind.CONNECTED, EventKind.DISCONNECTED)
    return (
        db.session.scalar(select(func.count(ChargingSession.id))),
        db.session.scalar(
            select(func.count(EventLogEntry.id)).where(
                EventLogEntry.kind.not_in(connection)
            )
        ),
    )


@pytest.mark.parametrize(
    ("case", "frame", "unique_id", "code"), CASES, ids=[c[0] for c in CASES]
)
def test_a_malformed_call_gets_its_callerror_and_the_connection_stays_open(
    live_server, station_record, case, frame, unique_id, code
):
    url = f"ws://127.0.0.1:{live_server.port}/Ocpp/websocket/000003586"
    before = _rows()
    replies = run_async(_exchange(url, [frame]))
    error, alive = replies
    assert error[:3] == [4, unique_id, code], error
    assert isinstance(error[3], str) and isinstance(error[4], dict)
    assert alive[0] == 3 and "currentTime" in alive[2]
    assert _rows() == before == (0, 0)


@pytest.mark.parametrize(
    "frame",
    [
        "hello",
        "{]",
        '{"a":1}',
        "[]",
        "[2]",
        "42",
        '[3,"nobody-waits",{}]',
        '[4,"nobody-waits","X","y",{}]',
        b"\xff\xfe",
    ],
    ids=[
        "text",
        "broken",
        "object",
        "empty",
        "type-only",
        "number",
        "stray-result",
        "stray-error",
        "binary",
    ],
)
def test_a_frame_without_an_id_to_answer_is_dropped_and_the_connection_survives(
    live_server, station_record, frame
):
    url = f"ws://127.0.0.1:{live_server.port}/Ocpp/websocket/000003586"
    replies = run_async(_exchange(url, [frame]))
    assert [r[1] for r in replies] == ["alive"]


@pytest.mark.parametrize(
    "frame",
    ["³", "٢ not a call", "[2]", "[2, 5]", '[2, "cut'],
    ids=[
        "superscript-digit",
        "arabic-indic-digit",
        "call-type-only",
        "call-with-a-number-for-id",
        "call-cut-before-its-id-ends",
    ],
)
def test_a_frame_dropped_unanswered_leaves_nothing_waiting_for_an_answer(
    live_server, station_record, frame, caplog
):
    """A frame without an id to answer to is dropped, even when it opens like a
    CALL; the connection counts nothing in flight for it (a graceful close would
    wait for it until its time runs out)."""
    url = f"ws://127.0.0.1:{live_server.port}/Ocpp/websocket/000003586"
    registry = live_server.app.extensions["ocpp_websocket"].registry

    async def exchange() -> tuple[list[Any], bool]:
        async with websockets.connect(url, subprotocols=["ocpp1.6"]) as ws:
            await ws.send(frame)
            await ws.send(json.dumps([2, "alive", "Heartbeat", {}]))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            connection = registry.get("000003586")
            return reply, await _on_loop(connection.loop, lambda: connection.idle)

    reply, idle = run_async(exchange())
    assert reply[:2] == [3, "alive"]
    assert idle
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def _on_loop(loop: asyncio.AbstractEventLoop, read: Callable[[], T]) -> T:
    """Read connection state on the portal's event loop, where it changes."""

    async def on_loop() -> T:
        return read()

    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(on_loop(), loop))


def test_an_invalid_answer_of_the_portal_goes_out_as_internal_error(
    live_server, station_record
):
    """Our own bug must not reach the wire: an answer that fails the OCPP 1.6 schema
    is replaced by CALLERROR InternalError, and the connection stays open."""
    state = live_server.app.extensions["ocpp16"]

    class Broken(type(state.handler)):  # type: ignore[misc]
        def data_transfer(self, ctx: Any, payload: Any) -> Any:
            return call_result.DataTransfer(status="Perhaps")  # not in the enum

    state.handler = Broken(live_server.app)
    url = f"ws://127.0.0.1:{live_server.port}/Ocpp/websocket/000003586"
    replies = run_async(
        _exchange(url, ['[2,"d1","DataTransfer",{"vendorId":"com.example"}]'])
    )
    broken, alive = replies
    assert broken[:3] == [4, "d1", "InternalError"], broken
    assert alive[0] == 3 and "currentTime" in alive[2]
