"""A mixed site: one 1.5, one 1.6 and one 2.0.1 station charge the same way and make
three session rows side by side, in statistics and in one export (issue 21)."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from typing import Any

import pytest
from ocpp.v201 import call
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import ChargingSession, Protocol, Role
from tests.conftest import log_in
from tests.ocpp_server.test_both_protocols import (
    END,
    START,
    _charge_over_ocpp15,
    _charge_over_ocpp16,
    _comparable,
)
from tests.ocpp_server.v201.station import running_station201
from tests.ocpp_server.v201.test_station_messages import energy, transaction_event

STATIONS = ["SOAP-15", "JSON-16", "JSON-201"]


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "OCPP_FETCH_CONFIG_ON_BOOT": False}


@pytest.fixture
def mixed_site(create_site, create_station, create_user):
    site = create_site("Solna")
    for chargebox_id, protocol in zip(
        STATIONS,
        (Protocol.OCPP15_SOAP, Protocol.OCPP16_JSON, Protocol.OCPP201_JSON),
        strict=True,
    ):
        create_station(site, chargebox_id, protocol=protocol)
    return create_user(Role.EV_USER, "anna@example.com", tag="4242")


def _charge_over_ocpp201(live_server) -> None:
    registry = live_server.app.extensions["ocpp_websocket"].registry
    token = {"id_token": "4242", "type": "ISO14443"}
    with running_station201(live_server.url, "JSON-201") as station:
        deadline = time.monotonic() + 5
        while "JSON-201" not in registry and time.monotonic() < deadline:
            time.sleep(0.01)
        station.call(
            call.BootNotification(
                charging_station={"model": "W", "vendor_name": "ACME"},
                reason="PowerUp",
            )
        )
        station.call(
            transaction_event(
                "Started",
                0,
                START,
                evse={"id": 1, "connector_id": 1},
                id_token=token,
                meter_value=[energy(START, 50_000, "Transaction.Begin")],
            )
        )
        station.call(
            transaction_event(
                "Ended",
                1,
                END,
                id_token=token,
                trigger_reason="StopAuthorized",
                meter_value=[energy(END, 61_500, "Transaction.End")],
                stopped_reason="Local",
            )
        )


def _charge_everywhere(live_server) -> None:
    _charge_over_ocpp15(live_server)
    _charge_over_ocpp16(live_server)
    _charge_over_ocpp201(live_server)
    db.session.rollback()


def test_three_protocols_make_the_same_session_record(live_server, mixed_site):
    _charge_everywhere(live_server)
    sessions = db.session.scalars(
        select(ChargingSession).order_by(ChargingSession.id)
    ).all()
    assert [s.station.chargebox_id for s in sessions] == STATIONS
    first = _comparable(sessions[0])
    assert [_comparable(s) for s in sessions[1:]] == [first, first]
    assert first["energy"] == pytest.approx(11.5)


def test_the_three_sessions_are_side_by_side_in_statistics_and_one_export(
    app, live_server, mixed_site, create_user
):
    _charge_everywhere(live_server)
    client = log_in(app.test_client(), create_user(Role.ADMIN).email)
    page = client.get("/admin/statistics/").text
    assert all(chargebox_id in page for chargebox_id in STATIONS)
    export = client.get("/admin/statistics/export/xlsx/", query_string={"sort": 8})
    assert export.status_code == 200
    _header, *rows = load_workbook(io.BytesIO(export.data)).active.iter_rows(
        values_only=True
    )
    assert sorted(row[3] for row in rows) == sorted(STATIONS)
    assert {(row[1], row[5], row[11]) for row in rows} == {
        (timedelta(hours=2, minutes=5, seconds=30), 11.5, "anna@example.com")
    }
