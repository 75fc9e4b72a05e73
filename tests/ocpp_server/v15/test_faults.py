"""Bad input, failures, header leniency and the WSDL, over raw HTTP: every error is a
SOAP 1.2 Fault with a clear reason, nothing is written, the server keeps serving."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import zeep
from lxml import etree
from sqlalchemy import select

from app.extensions import db
from app.models import Direction, OcppMessage, Station
from app.services import stations
from app.services.errors import InvalidInput
from ocpp_server.v15 import translate
from ocpp_server.v15.wsdl import (
    CS_NS,
    CS_WSDL_PATH,
    SOAP11_ENV_NS,
    SOAP12_ENV_NS,
    WSA_NS,
)
from tests.ocpp_server.v15.conftest import (
    CS_BINDING,
    ENV,
    STATION_ID,
    envelope,
    fresh,
    post,
    row_counts,
    wsa_headers,
)

BOOT = (
    f'<cs:bootNotificationRequest xmlns:cs="{CS_NS}">'
    "<cs:chargePointVendor>ACME</cs:chargePointVendor>"
    "<cs:chargePointModel>M1</cs:chargePointModel>"
    "</cs:bootNotificationRequest>"
)
HEARTBEAT = f'<cs:heartbeatRequest xmlns:cs="{CS_NS}"/>'


@dataclass
class SoapFault:
    status: int
    code: str
    subcode: str | None
    reason: str
    doc: etree._Element


def expect_fault(response: requests.Response) -> SoapFault:
    """Check the answer is a well-formed SOAP 1.2 Fault, not HTML, and read it."""
    assert response.headers["Content-Type"].startswith("application/soap+xml"), (
        response.text[:300]
    )
    assert "<html" not in response.text.lower()
    doc = etree.fromstring(response.content)
    fault = doc.find(f"{ENV}Body/{ENV}Fault")
    assert fault is not None, response.text
    code = fault.findtext(f"{ENV}Code/{ENV}Value")
    subcode = fault.findtext(f"{ENV}Code/{ENV}Subcode/{ENV}Value")
    text = fault.find(f"{ENV}Reason/{ENV}Text")
    assert text is not None
    assert text.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    prefix, _, local = (code or "").partition(":")
    assert fault.nsmap.get(prefix) == SOAP12_ENV_NS  # the QName's prefix is bound
    return SoapFault(response.status_code, local, subcode, text.text or "", doc)


def still_serving(endpoint: str) -> None:
    response = post(endpoint, envelope(HEARTBEAT))
    assert response.status_code == 200, response.text
    doc = etree.fromstring(response.content)
    assert doc.find(f"{ENV}Body/{{{CS_NS}}}heartbeatResponse") is not None


@pytest.fixture
def unchanged(station: Station, endpoint: str) -> Iterator[None]:
    """Assert the test wrote nothing at all (every table's row count), then that
    the server still answers a valid call."""
    before = row_counts()
    yield
    assert row_counts() == before
    still_serving(endpoint)


# ------------------------------------------------------------------ bad input


def test_malformed_xml(endpoint: str, unchanged: None) -> None:
    fault = expect_fault(post(endpoint, envelope(BOOT)[:-30]))

    assert (fault.status, fault.code, fault.subcode) == (500, "Sender", "ProtocolError")
    assert fault.reason.startswith("Malformed XML:")


def test_not_xml_at_all(endpoint: str, unchanged: None) -> None:
    fault = expect_fault(post(endpoint, "hello"))

    assert fault.code == "Sender" and "Malformed XML" in fault.reason


def test_wrong_body_namespace(endpoint: str, unchanged: None) -> None:
    body = BOOT.replace(CS_NS, "urn://Ocpp/Cs/2010/08/")  # OCPP 1.2's namespace

    fault = expect_fault(post(endpoint, envelope(body)))

    assert (fault.code, fault.subcode) == ("Sender", "ProtocolError")
    assert (
        "namespace 'urn://Ocpp/Cs/2010/08/'" in fault.reason and CS_NS in fault.reason
    )


def test_vendor_longer_than_the_wsdl_allows(endpoint: str, unchanged: None) -> None:
    fault = expect_fault(post(endpoint, envelope(BOOT.replace("ACME", "V" * 21))))

    assert (fault.status, fault.code, fault.subcode) == (500, "Sender", "ProtocolError")
    assert fault.reason == (
        "Schema validation failed: Element 'chargePointVendor': [facet 'maxLength'] "
        "The value has a length of '21'; this exceeds the allowed maximum length of "
        "'20'."
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            BOOT.replace("<cs:chargePointModel>M1</cs:chargePointModel>", ""),
            "Missing child element",
        ),
        (
            f'<cs:statusNotificationRequest xmlns:cs="{CS_NS}">'
            "<cs:connectorId>1</cs:connectorId><cs:status>Charging</cs:status>"
            "<cs:errorCode>NoError</cs:errorCode></cs:statusNotificationRequest>",
            "[facet 'enumeration'] The value 'Charging' is not an element of the set",
        ),
        (
            f'<cs:meterValuesRequest xmlns:cs="{CS_NS}">'
            "<cs:connectorId>one</cs:connectorId></cs:meterValuesRequest>",
            "'one' is not a valid value of the atomic type 'xs:int'",
        ),
        (
            f'<cs:meterValuesRequest xmlns:cs="{CS_NS}"><cs:connectorId>1</cs:connectorId>'
            "<cs:values><cs:timestamp>2024-01-01T00:00:00Z</cs:timestamp>"
            '<cs:value unit="kWhh">1</cs:value></cs:values></cs:meterValuesRequest>',
            "attribute 'unit'",
        ),
        (
            BOOT.replace(
                "<cs:chargePointModel>",
                "<cs:firmwareVersion>1</cs:firmwareVersion><cs:chargePointModel>",
            ),
            "This element is not expected",
        ),
        (
            f'<cs:bootNotificationRequest xmlns:cs="{CS_NS}">'
            "<chargePointVendor>A</chargePointVendor><chargePointModel>M</chargePointModel>"
            "</cs:bootNotificationRequest>",
            "chargePointVendor",
        ),
    ],
    ids=[
        "missing-element",
        "bad-enum",
        "bad-int",
        "bad-attribute-enum",
        "wrong-order",
        "unqualified",
    ],
)
def test_schema_violations(
    endpoint: str, unchanged: None, body: str, expected: str
) -> None:
    fault = expect_fault(post(endpoint, envelope(body)))

    assert fault.code == "Sender"
    assert fault.reason.startswith("Schema validation failed: ")
    assert expected in fault.reason


def test_unknown_operation(endpoint: str, unchanged: None) -> None:
    fault = expect_fault(
        post(endpoint, envelope(f'<cs:resetRequest xmlns:cs="{CS_NS}"/>'))
    )

    assert (fault.code, fault.subcode) == ("Sender", "ProtocolError")
    assert fault.reason.startswith("Unknown operation: 'resetRequest'")
    assert "bootNotificationRequest" in fault.reason


@pytest.mark.parametrize(
    "document",
    [
        f'<s:Envelope xmlns:s="{SOAP12_ENV_NS}"><s:Header/><s:Body/></s:Envelope>',
        f'<s:Envelope xmlns:s="{SOAP12_ENV_NS}"><s:Header/></s:Envelope>',
        f'<s:Envelope xmlns:s="{SOAP12_ENV_NS}"><s:Body>{HEARTBEAT}{HEARTBEAT}</s:Body></s:Envelope>',
        f'<s:Envelope xmlns:s="{SOAP12_ENV_NS}"><s:Body><s:Fault/></s:Body></s:Envelope>',
        f"<bootNotificationRequest>{BOOT}</bootNotificationRequest>",
    ],
    ids=["empty-body", "no-body", "two-bodies", "fault-as-request", "no-envelope"],
)
def test_broken_envelopes(endpoint: str, unchanged: None, document: str) -> None:
    fault = expect_fault(post(endpoint, document))

    assert fault.code == "Sender" and fault.reason


def test_soap11_envelope_is_a_version_mismatch(endpoint: str, unchanged: None) -> None:
    doc = f'<s:Envelope xmlns:s="{SOAP11_ENV_NS}"><s:Body>{BOOT}</s:Body></s:Envelope>'

    fault = expect_fault(post(endpoint, doc, content_type="text/xml; charset=utf-8"))

    assert (fault.code, fault.subcode) == ("VersionMismatch", None)
    assert "SOAP 1.1" in fault.reason


def test_missing_identity_header(endpoint: str, unchanged: None) -> None:
    fault = expect_fault(post(endpoint, envelope(BOOT, identity=None)))

    assert (fault.code, fault.subcode) == ("Sender", "SecurityError")
    assert "chargeBoxIdentity" in fault.reason


def test_the_server_keeps_serving_after_bad_input(
    endpoint: str, station: Station
) -> None:
    for document in (
        "hello",
        envelope(BOOT)[:-30],
        envelope(BOOT.replace("ACME", "V" * 30)),
    ):
        expect_fault(post(endpoint, document))

    still_serving(endpoint)
    fresh()
    assert station.online


def test_zeep_sees_a_schema_fault_as_a_fault(endpoint: str, station: Station) -> None:
    service = zeep.Client(str(CS_WSDL_PATH)).create_service(CS_BINDING, endpoint)

    with pytest.raises(zeep.exceptions.Fault) as info:
        service.BootNotification(
            chargePointVendor="V" * 21,
            chargePointModel="M",
            _soapheaders={"ChargeBoxIdentity": STATION_ID},
        )

    assert "maximum length of '20'" in info.value.message
    assert [q.localname for q in info.value.subcodes] == ["ProtocolError"]


# ------------------------------------------------------------------ failures


def test_a_failing_service_is_a_receiver_fault_and_rolled_back(
    endpoint: str, unchanged: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_down(_station: Station) -> None:
        raise ConnectionError("database is down: password=hunter2")

    monkeypatch.setattr(stations, "record_heartbeat", database_down)
    response = post(endpoint, envelope(HEARTBEAT, wsa=wsa_headers(message_id="m-down")))

    fault = expect_fault(response)
    assert (fault.status, fault.code, fault.subcode) == (
        500,
        "Receiver",
        "InternalError",
    )
    assert (
        fault.reason == "Internal error while processing Heartbeat; please retry later"
    )
    assert "hunter2" not in response.text  # no internals reach the station
    header = fault.doc.find(f"{ENV}Header")
    assert header is not None
    assert (
        header.findtext(f"{{{WSA_NS}}}Action")
        == "http://www.w3.org/2005/08/addressing/soap/fault"
    )
    assert header.findtext(f"{{{WSA_NS}}}RelatesTo") == "m-down"


def test_a_domain_error_is_a_sender_fault_with_its_message(
    endpoint: str, unchanged: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(_station: Station) -> None:
        raise InvalidInput("That heartbeat makes no sense.")

    monkeypatch.setattr(stations, "record_heartbeat", refuse)

    fault = expect_fault(post(endpoint, envelope(HEARTBEAT)))

    assert (fault.code, fault.subcode) == ("Sender", "ProtocolError")
    assert fault.reason == "That heartbeat makes no sense."


def test_an_answer_outside_the_schema_never_reaches_the_station(
    endpoint: str, unchanged: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(translate, "id_tag_info", lambda _auth: {"status": "Maybe"})
    body = f'<cs:authorizeRequest xmlns:cs="{CS_NS}"><cs:idTag>1</cs:idTag></cs:authorizeRequest>'

    response = post(endpoint, envelope(body))

    fault = expect_fault(response)
    assert (fault.status, fault.code, fault.subcode) == (
        500,
        "Receiver",
        "InternalError",
    )
    assert "Maybe" not in response.text


# ------------------------------------------------------------------ headers


@pytest.mark.parametrize(
    ("wsa", "address"),
    [
        (wsa_headers(from_="http://cp:8080/cp"), "http://cp:8080/cp"),
        (wsa_headers(reply_to="http://cp:8080/rt"), "http://cp:8080/rt"),
        (
            wsa_headers(
                from_="http://www.w3.org/2005/08/addressing/anonymous",
                reply_to="http://cp/rt",
            ),
            "http://cp/rt",
        ),
        (wsa_headers(), "http://127.0.0.1"),
        ("", "http://127.0.0.1"),
    ],
    ids=["from", "reply-to", "anonymous-from", "no-address", "no-wsa"],
)
def test_the_callback_address_is_stored(
    endpoint: str, station: Station, wsa: str, address: str
) -> None:
    response = post(endpoint, envelope(BOOT, wsa=wsa))

    assert response.status_code == 200, response.text
    fresh()
    assert station.endpoint_address == address


def test_reply_uses_the_request_wsa_namespace(endpoint: str, station: Station) -> None:
    wsa_2004 = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
    headers = wsa_headers(message_id="m-2004").replace(WSA_NS, wsa_2004)

    response = post(endpoint, envelope(BOOT, wsa=headers))

    header = etree.fromstring(response.content).find(f"{ENV}Header")
    assert header is not None
    assert header.findtext(f"{{{wsa_2004}}}Action") == "/BootNotificationResponse"
    assert header.findtext(f"{{{wsa_2004}}}RelatesTo") == "m-2004"


def test_identity_header_leniency(endpoint: str, station: Station) -> None:
    must = f'xmlns:s="{SOAP12_ENV_NS}" s:mustUnderstand="true"'

    padded = post(
        endpoint, envelope(BOOT, identity=f" {STATION_ID} ", identity_attrs=must)
    )
    other_ns = post(endpoint, envelope(BOOT, identity=STATION_ID, identity_ns="urn:x"))

    for response in (padded, other_ns):
        assert response.status_code == 200, response.text
        doc = etree.fromstring(response.content)
        status = doc.findtext(
            f"{ENV}Body/{{{CS_NS}}}bootNotificationResponse/{{{CS_NS}}}status"
        )
        assert status == "Accepted"


def test_concurrent_calls(endpoint: str, station: Station) -> None:
    good = [envelope(HEARTBEAT)] * 10
    bad = [envelope(BOOT.replace("ACME", "V" * 30))] * 10

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda doc: post(endpoint, doc), good + bad))

    assert [r.status_code for r in responses] == [200] * 10 + [500] * 10
    assert all("maximum length of '20'" in r.text for r in responses[10:])
    fresh()
    logged = db.session.scalars(
        select(OcppMessage.direction).where(OcppMessage.action == "Heartbeat")
    ).all()
    assert sorted(logged) == sorted([Direction.IN, Direction.OUT] * 10)


class TestWithCsrfProtection:
    """The portal's forms need CSRF tokens; stations cannot send one."""

    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        app_config["WTF_CSRF_ENABLED"] = True
        return app_config

    def test_soap_calls_need_no_csrf_token(
        self, endpoint: str, station: Station
    ) -> None:
        response = post(endpoint, envelope(HEARTBEAT))

        assert response.status_code == 200, response.text


# ------------------------------------------------------------------ WSDL


def test_wsdl_is_the_official_one_with_this_address(
    endpoint: str, station: Station
) -> None:
    response = requests.get(endpoint + "?wsdl", timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    served = etree.fromstring(response.content)
    (address,) = served.iter("{http://schemas.xmlsoap.org/wsdl/soap12/}address")
    assert address.get("location") == endpoint
    official = etree.parse(str(CS_WSDL_PATH)).getroot()
    for element in official.iter("{http://schemas.xmlsoap.org/wsdl/soap12/}address"):
        element.set("location", endpoint)
    assert etree.tostring(served, method="c14n") == etree.tostring(
        official, method="c14n"
    )
    # a client built from the served WSDL talks to this server by default
    client = zeep.Client(endpoint + "?WSDL")
    assert client.service.Heartbeat(_soapheaders={"ChargeBoxIdentity": STATION_ID})


def test_get_without_wsdl_is_405(endpoint: str) -> None:
    response = requests.get(endpoint, timeout=10)

    assert response.status_code == 405 and response.headers["Allow"] == "POST"
