"""Property-based robustness of the OCPP parsers (issue #11).

Hypothesis throws thousands of generated frames at a live portal: random JSON,
OCPP-shaped calls with wrong types, huge strings, deep nesting, unicode (lone
surrogates too) and binary frames at the 1.6 WebSocket endpoint over ONE real
connection, and generated XML / SOAP documents at the 1.5 endpoint. Every frame
gets a protocol error reply (1.6 CALLERROR / 1.5 SOAP Fault), a plain answer for a
call that happens to be valid, or is ignored; the server keeps serving (a valid
Heartbeat after every batch is answered) and nothing is written (row counts of
every table but the message log are unchanged). Each suite reports its count.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import func, select
from websockets.sync.client import connect

from app.extensions import db
from app.models import Base, EventKind, EventLogEntry, OcppMessage, Protocol
from ocpp_server.v15.central_system import OPERATIONS as OPERATIONS_15
from ocpp_server.v15.routes import RULE as SOAP_RULE
from ocpp_server.v15.wsdl import CS_NS, SOAP11_ENV_NS, SOAP12_ENV_NS, WSA_NS

MIN_FRAMES = 2_000  # issue #11: at least this many generated frames per protocol
# Frames per Hypothesis example; each batch is followed by one Heartbeat probe.
BATCH_16, BATCH_15 = 8, 16
CALLERROR_CODES = {
    "NotImplemented",
    "NotSupported",
    "InternalError",
    "ProtocolError",
    "SecurityError",
    "FormationViolation",
    "PropertyConstraintViolation",
    "OccurenceConstraintViolation",
    "OccurrenceConstraintViolation",
    "TypeConstraintViolation",
    "GenericError",
}
ACTIONS_16 = (
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
    "GetConfiguration",
    "Reset",
)
FIELDS_16 = (
    "connectorId",
    "idTag",
    "meterStart",
    "meterStop",
    "timestamp",
    "transactionId",
    "meterValue",
    "sampledValue",
    "status",
    "errorCode",
    "chargePointVendor",
    "chargePointModel",
    "vendorId",
    "data",
    "reason",
)
SETTINGS = settings(
    deadline=None,
    database=None,  # no example files in the worktree; CI runs start fresh
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


# A frame over SOCK_SERVER_OPTIONS max_message_size (256 KB) closes the connection
# with 1009 by design; the generated frames stay below it.
MAX_FRAME_BYTES = 250_000
MAX_JSON_DEPTH = 3000  # beyond Python's recursion limit (1000)


def _row_counts() -> dict[str, int]:
    """Rows per table, except the message log (which records every frame) and the
    station's connection coming and going in the event log."""
    db.session.rollback()
    counts = {
        table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
        if table.name not in (OcppMessage.__tablename__, EventLogEntry.__tablename__)
    }
    counts["event_log"] = db.session.scalar(
        select(func.count(EventLogEntry.id)).where(
            EventLogEntry.kind.not_in((EventKind.CONNECTED, EventKind.DISCONNECTED))
        )
    )
    return counts


def _logged(unique_id: str, timeout: float = 30.0) -> bool:
    """Wait until the message log holds a frame with this unique id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        found = db.session.scalar(
            select(func.count(OcppMessage.id)).where(OcppMessage.unique_id == unique_id)
        )
        if found:
            return True
        time.sleep(0.1)
    return False


# -- generators -----------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
# Values of a type no OCPP 1.6 field has: a call built from them is never valid.
_wrong_typed = st.one_of(
    st.none(),
    st.booleans(),
    st.lists(_json, min_size=1, max_size=3).filter(
        lambda items: not all(isinstance(item, dict) for item in items)
    ),
    st.dictionaries(st.text(max_size=8), _json, max_size=3),
)
_huge_text = st.builds(
    lambda piece, count: piece * count,
    st.text(min_size=1, max_size=4),
    st.integers(min_value=1_000, max_value=5_000),
)
# Every code point a UTF-8 text frame can carry: lone surrogates (Cs) cannot be encoded,
# so no client can send them (the test's own client would fail and drop the connection).
_unicode = st.text(
    alphabet=st.characters(codec=None, exclude_categories=("Cs",)),
    min_size=1,
    max_size=40,
)


def _deep(depth: int, opener: str, closer: str) -> str:
    return opener * depth + closer * depth


_unique_id = st.one_of(st.text(max_size=36), _unicode, _huge_text, _json)
_ocpp_shaped = st.builds(
    lambda kind, uid, action, payload: json.dumps([kind, uid, action, payload]),
    st.sampled_from([2, 3, 4, 2, 2, 0, -1, 5, "2"]),
    _unique_id,
    st.one_of(st.sampled_from(ACTIONS_16), st.text(max_size=20), _json),
    st.one_of(
        st.dictionaries(st.sampled_from(FIELDS_16), _wrong_typed, min_size=1),
        _json,
    ),
)
_frames_16: st.SearchStrategy[str | bytes] = st.one_of(
    _json.map(json.dumps),  # random JSON (NaN/Infinity included: not strict JSON)
    _ocpp_shaped,
    st.builds(
        lambda uid, text: json.dumps([2, uid, "DataTransfer", {"vendorId": text}]),
        st.text(max_size=10),
        _huge_text,
    ),
    st.integers(min_value=1, max_value=MAX_JSON_DEPTH).map(
        lambda d: _deep(d, "[", "]")
    ),
    st.integers(min_value=1, max_value=MAX_JSON_DEPTH).map(
        lambda d: '[2,"deep","Heartbeat",' + '{"a":' * d + "1" + "}" * d + "]"
    ),
    _unicode,
    _unicode.map(lambda text: json.dumps([2, text, text, {text: text}])),
    st.text(max_size=200),
    st.binary(max_size=200),
)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # The portal sends no GetConfiguration of its own on the fuzzed connection.
    return {**app_config, "OCPP_FETCH_CONFIG_ON_BOOT": False}


def _fits(frame: str | bytes) -> bool:
    size = (
        len(frame)
        if isinstance(frame, bytes)
        else len(frame.encode("utf-8", "surrogatepass"))
    )
    return size <= MAX_FRAME_BYTES


# -- OCPP 1.6 -----------------------------------------------------------------------


def _check_reply(reply: Any) -> None:
    """A reply to a generated frame is a CALLERROR (or a CALLRESULT to a valid call)."""
    assert isinstance(reply, list), reply
    if reply[0] == 3:
        assert len(reply) == 3 and isinstance(reply[2], dict), reply
        return
    assert reply[0] == 4 and len(reply) == 5, reply
    assert reply[2] in CALLERROR_CODES, reply
    assert isinstance(reply[3], str) and isinstance(reply[4], dict), reply


def test_ocpp16_endpoint_survives_generated_frames(
    live_server, create_site, create_station
):
    create_station(create_site("Solna"), "FUZZ-16")
    before = _row_counts()
    url = f"ws://127.0.0.1:{live_server.port}/Ocpp/websocket/FUZZ-16"
    counts = {"frames": 0, "replies": 0, "crashes": 0}
    began = time.monotonic()
    with connect(url, subprotocols=["ocpp1.6"], max_size=2**22) as ws:  # type: ignore[list-item]

        @settings(SETTINGS, max_examples=MIN_FRAMES // BATCH_16 + 10)
        @given(st.lists(_frames_16.filter(_fits), min_size=BATCH_16, max_size=BATCH_16))
        def batch(frames: list[str | bytes]) -> None:
            for frame in frames:
                ws.send(frame)
            probe = f"probe-{counts['frames']}"
            ws.send(json.dumps([2, probe, "Heartbeat", {}]))
            counts["frames"] += len(frames)
            while True:
                reply = json.loads(ws.recv(timeout=15))
                if reply[:2] == [3, probe]:
                    assert "currentTime" in reply[2]
                    return
                counts["replies"] += 1
                _check_reply(reply)

        try:
            batch()
        except Exception:
            counts["crashes"] += 1
            raise
        finally:
            print(  # noqa: T201 - the suite's report (pytest -s shows it)
                f"\nOCPP 1.6: {counts['frames']} generated frames, "
                f"{counts['replies']} protocol replies, {counts['crashes']} crashes, "
                f"{time.monotonic() - began:.1f} s"
            )
        ws.send(json.dumps([2, "final", "Heartbeat", {}]))
        assert json.loads(ws.recv(timeout=10))[:2] == [3, "final"]
        assert _logged("final")  # the message log still records frames
    assert counts["frames"] >= MIN_FRAMES
    assert _row_counts() == before


# -- OCPP 1.5 -----------------------------------------------------------------------

IDENTITY = "FUZZ-15"
_xml_text = st.one_of(
    st.text(max_size=40),
    st.integers().map(str),
    st.sampled_from(["", "-1", "1e309", "NaN", "2026-13-45T25:61:61Z", "true"]),
)
_xml_name = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_",
    min_size=1,
    max_size=12,
)


def _element(tag: str, children: list[etree._Element], text: str | None) -> Any:
    element = etree.Element(tag)
    element.extend(children)
    if text is not None:
        element.text = "".join(ch for ch in text if _xml_char(ch))
    return element


def _xml_char(ch: str) -> bool:
    code = ord(ch)
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD


_tags = st.one_of(
    st.sampled_from(
        [f"{{{CS_NS}}}{op[0].lower()}{op[1:]}Request" for op in OPERATIONS_15]
        + [f"{{{CS_NS}}}connectorId", f"{{{CS_NS}}}idTag", f"{{{CS_NS}}}meterStart"]
    ),
    _xml_name,
    _xml_name.map(lambda name: f"{{urn:x-{name}}}{name}"),
)
_body = st.recursive(
    st.builds(_element, _tags, st.just([]), _xml_text | st.none()),
    lambda children: st.builds(
        _element, _tags, st.lists(children, max_size=4), _xml_text | st.none()
    ),
    max_leaves=8,
)


def _soap(body: Any, identity: str | None, version: str, wsa: bool) -> bytes:
    env = etree.Element(f"{{{version}}}Envelope")
    header = etree.SubElement(env, f"{{{version}}}Header")
    if identity is not None:
        etree.SubElement(header, f"{{{CS_NS}}}chargeBoxIdentity").text = identity
    if wsa:
        etree.SubElement(header, f"{{{WSA_NS}}}Action").text = "/Heartbeat"
        etree.SubElement(header, f"{{{WSA_NS}}}MessageID").text = "urn:uuid:fuzz"
    etree.SubElement(env, f"{{{version}}}Body").append(body)
    return bytes(etree.tostring(env, xml_declaration=True, encoding="UTF-8"))


def _entity_expansion(depth: int) -> bytes:
    """An entity-expansion document ("billion laughs"), `depth` levels of ten."""
    entities = "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">'
        for i in range(1, depth + 1)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY l0 "lol">{entities}]>'
        f'<s:Envelope xmlns:s="{SOAP12_ENV_NS}"><s:Header>'
        f'<i:chargeBoxIdentity xmlns:i="{CS_NS}">{IDENTITY}</i:chargeBoxIdentity>'
        f'</s:Header><s:Body><cs:heartbeatRequest xmlns:cs="{CS_NS}">&l{depth};'
        "</cs:heartbeatRequest></s:Body></s:Envelope>"
    ).encode()


_documents: st.SearchStrategy[bytes] = st.one_of(
    st.builds(
        _soap,
        _body,
        st.sampled_from([IDENTITY, None, ""]),
        st.sampled_from([SOAP12_ENV_NS, SOAP12_ENV_NS, SOAP11_ENV_NS]),
        st.booleans(),
    ),
    st.builds(  # one huge field in an otherwise well-formed call
        lambda op, text: _soap(
            _element(f"{{{CS_NS}}}{op[0].lower()}{op[1:]}Request", [], text),
            IDENTITY,
            SOAP12_ENV_NS,
            True,
        ),
        st.sampled_from(OPERATIONS_15),
        _huge_text,
    ),
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.integers(min_value=1, max_value=3_000).map(
        lambda d: (
            f'<s:Envelope xmlns:s="{SOAP12_ENV_NS}"><s:Body>'
            + _deep(d, "<a>", "")
            + "".join("</a>" for _ in range(d))
            + "</s:Body></s:Envelope>"
        ).encode()
    ),
    st.integers(min_value=1, max_value=6).map(_entity_expansion),
)


def _check_soap_answer(response: requests.Response) -> bool:
    """Return True for a SOAP Fault; a 200 answer is a well-formed SOAP response."""
    assert response.headers["Content-Type"].startswith("application/soap+xml"), (
        response.status_code,
        response.text[:200],
    )
    doc = etree.fromstring(response.content)
    assert doc.tag == f"{{{SOAP12_ENV_NS}}}Envelope"
    assert b"Traceback" not in response.content
    fault = doc.find(f".//{{{SOAP12_ENV_NS}}}Fault")
    if response.status_code == 200:
        assert fault is None
        return False
    assert fault is not None and response.status_code in (400, 413, 415, 500)
    return True


def test_ocpp15_endpoint_survives_generated_documents(
    live_server, create_site, create_station
):
    create_station(create_site("Solna"), IDENTITY, protocol=Protocol.OCPP15_SOAP)
    before = _row_counts()
    endpoint = live_server.url + SOAP_RULE
    counts: dict[str, float] = {
        "documents": 0,
        "faults": 0,
        "crashes": 0,
        "waiting": 0.0,
    }
    began = time.monotonic()
    heartbeat = (
        f'<s:Envelope xmlns:s="{SOAP12_ENV_NS}"><s:Header>'
        f'<i:chargeBoxIdentity xmlns:i="{CS_NS}">{IDENTITY}</i:chargeBoxIdentity>'
        f'</s:Header><s:Body><cs:heartbeatRequest xmlns:cs="{CS_NS}"/></s:Body>'
        "</s:Envelope>"
    ).encode()
    headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
    post: Callable[[bytes], requests.Response]
    with requests.Session() as http:

        def post(data: bytes) -> requests.Response:
            sent = time.monotonic()
            try:
                return http.post(endpoint, data=data, headers=headers, timeout=15)
            finally:
                counts["waiting"] += time.monotonic() - sent

        @settings(SETTINGS, max_examples=MIN_FRAMES // BATCH_15 + 10)
        @given(st.lists(_documents, min_size=BATCH_15, max_size=BATCH_15))
        def batch(documents: list[bytes]) -> None:
            for document in documents:
                counts["faults"] += _check_soap_answer(post(document))
                counts["documents"] += 1
            alive = post(heartbeat)
            assert alive.status_code == 200 and b"heartbeatResponse" in alive.content

        try:
            batch()
        except Exception:
            counts["crashes"] += 1
            raise
        finally:
            print(  # noqa: T201 - the suite's report (pytest -s shows it)
                f"\nOCPP 1.5: {counts['documents']} generated documents, "
                f"{counts['faults']} SOAP faults, {counts['crashes']} crashes, "
                f"{time.monotonic() - began:.1f} s ({counts['waiting']:.1f} s waiting "
                "for answers)"
            )
        assert post(heartbeat).status_code == 200
    assert counts["documents"] >= MIN_FRAMES
    assert _row_counts() == before
