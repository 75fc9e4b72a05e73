"""The per-message path of OCPP 1.6 kept cheap (issue 10 §7): what may be coalesced,
what never is, and that a failed write is still answered so the station retries."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from ocpp.exceptions import InternalError
from ocpp.v16 import call
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import AccessRule, EventKind, EventLogEntry, MeterValue
from app.services import charging
from ocpp_server.websocket import handler_threads
from tests.ocpp_server.v16.conftest import eventually


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def open_station(connect, create_site, create_station):
    record = create_station(create_site(), "CB-OPEN", access=AccessRule.OPEN)
    with connect(record.chargebox_id) as runner:
        yield runner


def _statements_during(live_server, run) -> list[str]:
    """SQL the portal's handler threads ran for station messages while `run` ran
    (not the message log, nor background work a signal started, e.g. on connect)."""
    with live_server.app.app_context():
        engine = db.engine
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if threading.current_thread().name.startswith("ocpp-handler"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen


def test_a_heartbeat_right_after_a_write_touches_no_database(
    live_server, station, station_record
):
    station.call(call.Heartbeat())  # after connecting: seen moments ago
    statements = _statements_during(live_server, lambda: station.call(call.Heartbeat()))
    assert statements == []


def test_a_coalesced_heartbeat_still_answers_the_current_time(station):
    station.call(call.Heartbeat())
    answer = station.call(call.Heartbeat())
    assert abs(
        datetime.fromisoformat(answer.current_time) - datetime.now(UTC)
    ) < timedelta(seconds=5)


def test_meter_values_sent_back_to_back_are_all_stored(open_station):
    start = open_station.call(
        call.StartTransaction(
            connector_id=1, id_tag="ANY", meter_start=0, timestamp=_iso(datetime.now(UTC))
        )
    )  # fmt: skip
    for wh in (100, 200, 300):
        open_station.call(
            call.MeterValues(
                connector_id=1,
                transaction_id=start.transaction_id,
                meter_value=[
                    {
                        "timestamp": _iso(datetime.now(UTC)),
                        "sampled_value": [{"value": str(wh), "unit": "Wh"}],
                    }
                ],
            )
        )
    assert db.session.scalar(select(func.count()).select_from(MeterValue)) == 3


def test_every_status_report_is_stored_before_its_answer(station):
    for status in ("Preparing", "Charging", "Available"):
        station.call(
            call.StatusNotification(connector_id=1, error_code="NoError", status=status)
        )
    db.session.rollback()
    statuses = db.session.scalars(
        select(EventLogEntry.message).where(EventLogEntry.kind == EventKind.STATUS)
    ).all()
    assert len(statuses) == 3


def test_a_failed_write_answers_internal_error_and_the_retry_is_stored(
    open_station, monkeypatch
):
    start = open_station.call(
        call.StartTransaction(
            connector_id=1, id_tag="ANY", meter_start=0, timestamp=_iso(datetime.now(UTC))
        )
    )  # fmt: skip
    record = charging.record_meter_values
    failures = iter([True])

    def failing_once(*args, **kwargs):
        record(*args, **kwargs)
        if next(failures, False):
            raise RuntimeError("disk full")

    monkeypatch.setattr(charging, "record_meter_values", failing_once)
    values = call.MeterValues(
        connector_id=1,
        transaction_id=start.transaction_id,
        meter_value=[
            {
                "timestamp": _iso(datetime.now(UTC)),
                "sampled_value": [{"value": "500", "unit": "Wh"}],
            }
        ],
    )
    with pytest.raises(InternalError):
        open_station._run(open_station.cp.call(values, suppress=False))
    assert db.session.scalar(select(func.count()).select_from(MeterValue)) == 0
    open_station.call(values)  # the station sends it again
    assert eventually(
        lambda: db.session.scalar(select(func.count()).select_from(MeterValue)) == 1
    )


def test_one_handler_thread_runs_the_messages_unless_configured(app):
    app.config["OCPP_HANDLER_THREADS"] = 0
    default = handler_threads(app)
    app.config["OCPP_HANDLER_THREADS"] = 3
    assert (default, handler_threads(app)) == (1, 3)
