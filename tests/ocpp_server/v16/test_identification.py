"""OCPP 1.6: tags as real readers and apps send them (issue #19), through a real socket."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from ocpp.v16 import call
from sqlalchemy import select

from app.extensions import db
from app.models import ChargingSession, Role, TagNotation
from tests.ocpp_server.v16.station import run_async
from tests.ocpp_server.v16.test_malformed_input import _exchange

HEX_UID = "04A1B2C3D4E5F6"
DECIMAL_PRINT = str(0x04A1B2C3D4E5F6)


def _status(station, tag: str) -> str:
    return station.call(call.Authorize(id_tag=tag)).id_tag_info["status"]


@pytest.mark.parametrize(
    ("registered", "sent"),
    [
        (HEX_UID, HEX_UID),
        (HEX_UID, HEX_UID.lower()),
        ("APP-7F3K2Q", "APP-7F3K2Q"),
        ("3054198966", "3054198966"),
    ],
)
def test_authorize_accepts_a_tag_as_registered(station, create_user, registered, sent):
    create_user(Role.EV_USER, tag=registered)
    db.session.commit()
    assert _status(station, sent) == "Accepted"


def test_start_transaction_records_the_tag_as_sent_and_its_user(station, create_user):
    user = create_user(Role.EV_USER, tag=HEX_UID)
    db.session.commit()
    started = station.call(
        call.StartTransaction(
            connector_id=1,
            id_tag=HEX_UID.lower(),
            meter_start=0,
            timestamp=datetime.now(UTC).isoformat(),
        )
    )
    assert started.id_tag_info["status"] == "Accepted"
    db.session.rollback()
    session = db.session.scalars(select(ChargingSession)).one()
    assert (session.tag, session.user_id) == (HEX_UID.lower(), user.id)


def test_a_station_whose_readers_send_decimal_accepts_a_hex_registration(
    station, station_record, create_user
):
    create_user(Role.EV_USER, tag=HEX_UID)
    station_record.site.tag_notation = TagNotation.DECIMAL
    db.session.commit()
    assert _status(station, DECIMAL_PRINT) == "Accepted"


def test_a_station_whose_readers_send_hex_accepts_a_decimal_registration(
    station, station_record, create_user
):
    create_user(Role.EV_USER, tag=DECIMAL_PRINT)
    station_record.tag_notation = TagNotation.HEX
    db.session.commit()
    assert _status(station, HEX_UID) == "Accepted"


def test_a_tag_with_a_control_character_is_invalid(station, create_user):
    create_user(Role.EV_USER, tag="APP7F3K2Q")
    db.session.commit()
    assert _status(station, "APP\x077F3K2Q") == "Invalid"


def test_a_21_character_tag_gets_a_callerror_and_the_connection_stays(
    live_server, station_record
):
    url = f"ws://127.0.0.1:{live_server.port}/Ocpp/websocket/000003586"
    frame = json.dumps([2, "long", "Authorize", {"idTag": "A" * 21}])
    error, alive = run_async(_exchange(url, [frame]))
    assert error[:3] == [4, "long", "TypeConstraintViolation"]
    assert alive[0] == 3
