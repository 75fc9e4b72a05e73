"""When the database fails, stations get a protocol error and retry (issue #11).

PostgreSQL is stopped and restarted under a live portal while a simulated OCPP 1.6
station runs a charging session: each message sent during an outage gets a
CALLERROR InternalError on the same, still open connection; the retries after the
restart are stored exactly once and the session ends with the right energy. An
OCPP 1.5 station gets a SOAP Fault (Receiver / InternalError) instead. A SQLite
database locked past its timeout is an InternalError too.

The cluster is a private one (tests/ocpp_server/robust_postgres.py): the shared
PostgreSQL on 5432 is never stopped.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from lxml import etree
from ocpp.exceptions import InternalError
from ocpp.v16 import call, call_result
from sqlalchemy import event, func, select

from app import create_app
from app.config import normalise_database_url
from app.extensions import db
from app.models import (
    ChargingSession,
    MeterValue,
    Protocol,
    RfidTag,
    Role,
    StationConfigKey,
    User,
)
from app.services import topology
from ocpp_server.v15.routes import RULE as SOAP_RULE
from ocpp_server.v15.wsdl import CS_NS
from ocpp_server.v16.handlers import CallContext, StationCall
from ocpp_server.websocket.calls import CallOutcome, CallStatus
from tests.conftest import LiveServer
from tests.ocpp_server.robust_postgres import PrivatePostgres
from tests.ocpp_server.v15.conftest import ENV, envelope, post
from tests.ocpp_server.v16.station import StationRunner, running_station

STATION_16 = "ROBUST-16"
STATION_15 = "ROBUST-15"
TAG = "4242"
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def _config(url: str, instance: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "robust-secret-key-0123456789abcdef",
        "SQLALCHEMY_DATABASE_URI": url,
        # Fail fast while the database is down, reconnect once it is back.
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": True,
            "connect_args": {"connect_timeout": 2},
        },
        "WTF_CSRF_ENABLED": False,
        "INSTANCE_PATH": str(instance),
        "OCPP_FETCH_CONFIG_ON_BOOT": False,
        "OCPP_COMMAND_TIMEOUT": 2.0,
    }


def _portal(config: dict[str, Any]) -> Flask:
    from flask_migrate import upgrade

    app = create_app(config)
    with app.app_context():
        upgrade()
        site = topology.create_site(None, "Solna")
        for chargebox_id, protocol in (
            (STATION_16, Protocol.OCPP16_JSON),
            (STATION_15, Protocol.OCPP15_SOAP),
        ):
            topology.create_station(
                None,
                topology.StationInput(
                    chargebox_id=chargebox_id,
                    outlets=1,
                    protocol=protocol,
                ),
                site=site,
            )
        driver = User(email="driver@example.com", password_hash="!", role=Role.EV_USER)
        driver.tags.append(RfidTag(tag=TAG))
        db.session.add(driver)
        db.session.commit()
    return app


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def portal(postgres: PrivatePostgres, tmp_path: Path) -> Iterator[LiveServer]:
    app = _portal(
        _config(
            normalise_database_url(postgres.create_database()), tmp_path / "instance"
        )
    )
    server = LiveServer(app).start()
    yield server
    server.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _down_then_retried(
    postgres: PrivatePostgres, station: StationRunner, message: Any
) -> Any:
    """Send during an outage (InternalError), restart, retry twice; return the answer."""
    postgres.stop()
    try:
        with pytest.raises(InternalError):
            station._run(station.cp.call(message, suppress=False))
        # The connection is still there: the next message is answered too.
        with pytest.raises(InternalError):
            station._run(station.cp.call(call.Heartbeat(), suppress=False))
    finally:
        postgres.start()
    first = station._run(station.cp.call(message, suppress=False))
    again = station._run(station.cp.call(message, suppress=False))  # answer "lost"
    assert again == first
    return first


def _sample(minute: int, wh: float) -> dict[str, Any]:
    return {
        "timestamp": (T0 + timedelta(minutes=minute)).isoformat(),
        "sampled_value": [
            {
                "value": str(wh),
                "measurand": "Energy.Active.Import.Register",
                "unit": "Wh",
                "context": "Sample.Periodic",
            }
        ],
    }


def test_a_postgresql_restart_mid_session_loses_and_doubles_nothing(
    postgres: PrivatePostgres, portal: LiveServer
) -> None:
    with running_station(portal.url, STATION_16) as station:
        ws = station.ws
        started = _down_then_retried(
            postgres,
            station,
            call.StartTransaction(
                connector_id=1, id_tag=TAG, meter_start=10_000, timestamp=T0.isoformat()
            ),
        )
        assert isinstance(started, call_result.StartTransaction)
        session_id = started.transaction_id
        assert started.id_tag_info["status"] == "Accepted"

        _down_then_retried(
            postgres,
            station,
            call.MeterValues(
                connector_id=1,
                transaction_id=session_id,
                meter_value=[_sample(15, 12_500), _sample(30, 15_000)],
            ),
        )
        _down_then_retried(
            postgres,
            station,
            call.StopTransaction(
                transaction_id=session_id,
                meter_stop=18_250,
                timestamp=(T0 + timedelta(minutes=45)).isoformat(),
                id_tag=TAG,
                reason="EVDisconnected",
            ),
        )
        assert station.ws is ws  # never reconnected: the connection stayed open
        heartbeat = station._run(station.cp.call(call.Heartbeat(), suppress=False))
        assert heartbeat.current_time

    with portal.app.app_context():
        sessions = db.session.scalars(select(ChargingSession)).all()
        assert [(s.id, s.energy_kwh) for s in sessions] == [(session_id, 8.25)]
        samples = db.session.scalar(select(func.count()).select_from(MeterValue))
        assert samples == 2


def _soap_heartbeat() -> str:
    return envelope(f'<cs:heartbeatRequest xmlns:cs="{CS_NS}"/>', identity=STATION_15)


def test_an_ocpp15_call_during_an_outage_is_a_soap_fault(
    postgres: PrivatePostgres, portal: LiveServer
) -> None:
    endpoint = portal.url + SOAP_RULE
    postgres.stop()
    try:
        response = post(endpoint, _soap_heartbeat())
    finally:
        postgres.start()
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("application/soap+xml")
    doc = etree.fromstring(response.content)
    assert doc.find(f".//{ENV}Fault") is not None
    assert doc.findtext(f".//{ENV}Code/{ENV}Value").endswith("Receiver")
    assert doc.findtext(f".//{ENV}Subcode/{ENV}Value").endswith("InternalError")
    assert b"Traceback" not in response.content
    # Once the database is back, the same call is answered.
    again = post(endpoint, _soap_heartbeat())
    assert again.status_code == 200
    assert b"heartbeatResponse" in again.content


# -- SQLite locked past its timeout ---------------------------------------------


@pytest.fixture
def sqlite_portal(tmp_path: Path) -> Iterator[LiveServer]:
    database = tmp_path / "portal.db"
    config = _config(f"sqlite:///{database}", tmp_path / "instance")
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 0.3}}
    app = _portal(config)
    server = LiveServer(app).start()
    yield server
    server.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _lock(database: str) -> sqlite3.Connection:
    """Hold SQLite's write lock from another connection (as a long writer would)."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    return connection


def test_a_sqlite_database_locked_past_its_timeout_is_an_internal_error(
    sqlite_portal: LiveServer,
) -> None:
    database = sqlite_portal.app.config["SQLALCHEMY_DATABASE_URI"].removeprefix(
        "sqlite:///"
    )
    start = call.StartTransaction(
        connector_id=1, id_tag=TAG, meter_start=0, timestamp=T0.isoformat()
    )
    with running_station(sqlite_portal.url, STATION_16) as station:
        lock = _lock(database)
        try:
            began = time.monotonic()
            with pytest.raises(InternalError):
                station._run(station.cp.call(start, suppress=False))
            assert time.monotonic() - began < 5
        finally:
            lock.rollback()
            lock.close()
        answer = station._run(station.cp.call(start, suppress=False))
        assert answer.id_tag_info["status"] == "Accepted"
    with sqlite_portal.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ChargingSession)) == 1


def test_a_batch_that_finds_sqlite_locked_is_refused_at_once_not_one_by_one(
    sqlite_portal: LiveServer,
) -> None:
    app = sqlite_portal.app
    handler = app.extensions["ocpp16"].handler
    calls = [
        StationCall(
            CallContext(STATION_16, f"status-{status}", "StatusNotification"),
            "status_notification",
            {"connector_id": 1, "error_code": "NoError", "status": status},
        )
        for status in ("Preparing", "Charging", "Available")
    ]
    with app.app_context():
        engine = db.engine
    waits: list[Any] = []
    note = waits.append
    event.listen(engine, "handle_error", note)
    lock = _lock(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    try:
        outcomes = handler.run_batch(calls)
    finally:
        lock.rollback()
        lock.close()
        event.remove(engine, "handle_error", note)
    assert [type(error) for _, error in outcomes] == [InternalError] * 3
    assert len(waits) == 1  # one wait for the lock, not one per message
    assert [error for _, error in handler.run_batch(calls)] == [None] * 3


def test_a_first_contact_answer_that_finds_sqlite_locked_is_refused_without_a_trace(
    sqlite_portal: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The first-contact queue tries again later (an InternalError) and the log has
    a warning line, not a traceback; the next try stores the table."""
    app = sqlite_portal.app
    handler = app.extensions["ocpp16"].handler
    answer = call_result.GetConfiguration(
        configuration_key=[
            {"key": "HeartbeatInterval", "readonly": False, "value": "60"}
        ]
    )
    outcome = CallOutcome(CallStatus.ACCEPTED, "GetConfiguration", response=answer)
    stored = StationCall(
        CallContext(STATION_16, "", "configuration_received"),
        "configuration_received",
        {"outcome": outcome},
    )
    lock = _lock(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    try:
        [(_, error)] = handler.run_batch([stored])
    finally:
        lock.rollback()
        lock.close()
    assert isinstance(error, InternalError)
    assert not [r for r in caplog.records if r.exc_info]
    assert handler.run_batch([stored]) == [(None, None)]
    with app.app_context():
        keys = db.session.scalars(select(StationConfigKey.key)).all()
    assert keys == ["HeartbeatInterval"]


def test_a_locked_sqlite_database_is_a_soap_fault_for_ocpp15(
    sqlite_portal: LiveServer,
) -> None:
    database = sqlite_portal.app.config["SQLALCHEMY_DATABASE_URI"].removeprefix(
        "sqlite:///"
    )
    lock = _lock(database)
    try:
        response = post(sqlite_portal.url + SOAP_RULE, _soap_heartbeat())
    finally:
        lock.rollback()
        lock.close()
    assert response.status_code == 500
    doc = etree.fromstring(response.content)
    assert doc.findtext(f".//{ENV}Subcode/{ENV}Value").endswith("InternalError")
