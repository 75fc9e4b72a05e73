"""A 1.5 station and a 1.6 station end up as the same records, side by side (issue 3)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import zeep
from ocpp.v16 import call
from sqlalchemy import select
from zeep.plugins import HistoryPlugin
from zeep.wsdl import Document

from app.extensions import db
from app.models import ChargingSession, Protocol, Role
from ocpp_server.v15.routes import RULE
from ocpp_server.v15.wsdl import CS_WSDL_PATH
from tests.conftest import log_in
from tests.ocpp_server.v15.conftest import CS_BINDING, StationClient, WsaFromPlugin
from tests.ocpp_server.v16.station import running_station

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
END = START + timedelta(hours=2, minutes=5, seconds=30)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "OCPP_FETCH_CONFIG_ON_BOOT": False}


@pytest.fixture
def two_stations(create_site, create_station, create_user):
    site = create_site("Solna")
    create_station(site, "SOAP-15", protocol=Protocol.OCPP15_SOAP)
    create_station(site, "JSON-16", protocol=Protocol.OCPP16_JSON)
    return create_user(Role.EV_USER, "anna@example.com", tag="4242")


def _charge_over_ocpp15(live_server) -> None:
    client = zeep.Client(
        Document(str(CS_WSDL_PATH), zeep.Transport()),
        plugins=[WsaFromPlugin("http://10.0.0.15/cp"), HistoryPlugin()],
    )
    station = StationClient(
        "SOAP-15",
        "http://10.0.0.15/cp",
        client.create_service(CS_BINDING, live_server.url + RULE),
        HistoryPlugin(),
    )
    station.boot()
    started = station.call(
        "StartTransaction",
        connectorId=1,
        idTag="4242",
        timestamp=START,
        meterStart=50_000,
    )
    station.call(
        "StopTransaction",
        transactionId=started.transactionId,
        idTag="4242",
        timestamp=END,
        meterStop=61_500,
    )


def _charge_over_ocpp16(live_server) -> None:
    registry = live_server.app.extensions["ocpp_websocket"].registry
    with running_station(live_server.url, "JSON-16") as station:
        deadline = time.monotonic() + 5
        while "JSON-16" not in registry and time.monotonic() < deadline:
            time.sleep(0.01)
        station.call(
            call.BootNotification(charge_point_vendor="ACME", charge_point_model="W")
        )
        started = station.call(
            call.StartTransaction(
                connector_id=1,
                id_tag="4242",
                meter_start=50_000,
                timestamp=START.isoformat(),
            )
        )
        station.call(
            call.StopTransaction(
                transaction_id=started.transaction_id,
                id_tag="4242",
                meter_stop=61_500,
                timestamp=END.isoformat(),
                reason="Local",
            )
        )


def _comparable(session: ChargingSession) -> dict[str, Any]:
    return {
        "site": session.site.name,
        "outlet": session.outlet_number,
        "start": session.started_at,
        "end": session.ended_at,
        "duration": session.duration_seconds,
        "energy": session.energy_kwh,
        "meter": session.meter_kwh,
        "authentication": session.authentication,
        "email": session.user.email,
        "tag": session.tag,
    }


def test_the_same_charging_over_either_protocol_makes_the_same_record(
    live_server, two_stations
):
    _charge_over_ocpp15(live_server)
    _charge_over_ocpp16(live_server)
    db.session.rollback()
    sessions = db.session.scalars(
        select(ChargingSession).order_by(ChargingSession.id)
    ).all()
    assert [s.station.chargebox_id for s in sessions] == ["SOAP-15", "JSON-16"]
    assert _comparable(sessions[0]) == _comparable(sessions[1])
    assert sessions[0].energy_kwh == pytest.approx(11.5)


def test_both_stations_show_in_the_same_station_list(
    app, live_server, two_stations, create_user
):
    _charge_over_ocpp15(live_server)
    _charge_over_ocpp16(live_server)
    client = log_in(app.test_client(), create_user(Role.ADMIN).email)
    page = client.get("/admin/stations/").text
    assert "SOAP-15" in page and "JSON-16" in page
    assert "OCPP15_SOAP" in page and "OCPP16_JSON" in page
    driver = log_in(app.test_client(), "anna@example.com")
    own = driver.get("/admin/my_charging/").text
    assert own.count("2hrs 5min 30sec") == 2
