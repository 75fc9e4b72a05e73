"""OCPP 1.5 documents with a DTD are refused before parsing (issue #11): no
external entity is read, no entity is expanded, the station gets a Sender fault."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from app.models import Protocol
from ocpp_server.v15.routes import RULE
from ocpp_server.v15.wsdl import CS_NS, SOAP12_ENV_NS
from tests.ocpp_server.test_robust_frames import _entity_expansion
from tests.ocpp_server.v15.conftest import ENV, post

IDENTITY = "FUZZ-15"  # the identity _entity_expansion() uses


@pytest.fixture
def endpoint(live_server, create_site, create_station) -> str:
    create_station(create_site("Solna"), IDENTITY, protocol=Protocol.OCPP15_SOAP)
    return live_server.url + RULE


def _external_entity(path: Path) -> str:
    return (
        f'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file://{path}">]>'
        f'<s:Envelope xmlns:s="{SOAP12_ENV_NS}"><s:Header>'
        f'<i:chargeBoxIdentity xmlns:i="{CS_NS}">{IDENTITY}</i:chargeBoxIdentity>'
        f'</s:Header><s:Body><cs:authorizeRequest xmlns:cs="{CS_NS}">'
        "<cs:idTag>&x;</cs:idTag></cs:authorizeRequest></s:Body></s:Envelope>"
    )


def _sender_fault(response) -> str:
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/soap+xml")
    doc = etree.fromstring(response.content)
    assert doc.findtext(f".//{ENV}Code/{ENV}Value").endswith("Sender")
    assert doc.findtext(f".//{ENV}Subcode/{ENV}Value").endswith("ProtocolError")
    return doc.findtext(f".//{ENV}Reason/{ENV}Text")


def test_an_external_entity_is_never_read(endpoint, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-XXE")
    response = post(endpoint, _external_entity(secret))
    assert "DTD" in _sender_fault(response)
    assert b"TOPSECRET" not in response.content


def test_entity_expansion_is_refused(endpoint):
    response = post(endpoint, _entity_expansion(6))
    assert "DTD" in _sender_fault(response)
