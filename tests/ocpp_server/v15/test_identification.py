"""OCPP 1.5 SOAP: tags as real readers send them (issue #19), by a zeep station built
from the official WSDL against the live portal."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import zeep

from app.extensions import db
from app.models import Role, Station, TagNotation, User
from tests.ocpp_server.v15.conftest import StationClient

HEX_UID = "04A1B2C3D4E5F6"
DECIMAL_PRINT = str(0x04A1B2C3D4E5F6)


@pytest.mark.parametrize(
    ("registered", "sent"),
    [
        (HEX_UID, HEX_UID),
        (HEX_UID, HEX_UID.lower()),
        ("APP-7F3K2Q", "APP-7F3K2Q"),
        ("3054198966", "3054198966"),
    ],
)
def test_authorize_accepts_a_tag_as_registered(
    cp: StationClient, create_user: Callable[..., User], registered: str, sent: str
) -> None:
    create_user(Role.EV_USER, tag=registered)
    db.session.commit()
    assert cp.call("Authorize", idTag=sent).status == "Accepted"


def test_start_transaction_accepts_a_lower_case_hex_uid(
    cp: StationClient, create_user: Callable[..., User]
) -> None:
    create_user(Role.EV_USER, tag=HEX_UID)
    db.session.commit()
    started = cp.call(
        "StartTransaction",
        connectorId=1,
        idTag=HEX_UID.lower(),
        timestamp="2026-12-01T10:00:00Z",
        meterStart=0,
    )
    assert started.idTagInfo.status == "Accepted"


def test_a_site_whose_readers_send_decimal_accepts_a_hex_registration(
    cp: StationClient, station: Station, create_user: Callable[..., User]
) -> None:
    create_user(Role.EV_USER, tag=HEX_UID)
    station.site.tag_notation = TagNotation.DECIMAL
    db.session.commit()
    assert cp.call("Authorize", idTag=DECIMAL_PRINT).status == "Accepted"


def test_a_station_whose_readers_send_hex_accepts_a_decimal_registration(
    cp: StationClient, station: Station, create_user: Callable[..., User]
) -> None:
    create_user(Role.EV_USER, tag=DECIMAL_PRINT)
    station.tag_notation = TagNotation.HEX
    db.session.commit()
    assert cp.call("Authorize", idTag=HEX_UID).status == "Accepted"


def test_a_21_character_tag_is_refused_with_a_soap_fault(cp: StationClient) -> None:
    with pytest.raises(zeep.exceptions.Fault):
        cp.call("Authorize", idTag="A" * 21)
    assert cp.call("Heartbeat") is not None
