"""Station messages that queue up while a handler thread is busy are handled as one
batch (issue 10 §7): committed once, answered only after that commit, and a message
that fails still fails alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from ocpp.exceptions import InternalError, SecurityError
from ocpp.v16 import call, call_result
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import (
    AccessRule,
    Alarm,
    AlarmKind,
    AlarmState,
    ChargingSession,
    EventKind,
    EventLogEntry,
    MeterValue,
    Station,
)
from app.services import alarms, charging
from ocpp_server.v16.handlers import CallContext, StationCall
from ocpp_server.websocket.loop import BatchExecutor, Mailbox
from tests.ocpp_server.v16.conftest import eventually

IDS = ("CB-1", "CB-2", "CB-3")


@pytest.fixture
def handler(app):
    return app.extensions["ocpp16"].handler


@pytest.fixture
def registered(create_site, create_station):
    site = create_site()
    return [create_station(site, cb, access=AccessRule.OPEN) for cb in IDS]


def _status(chargebox_id: str, status: str = "Charging") -> StationCall:
    return StationCall(
        CallContext(chargebox_id, f"{chargebox_id}-1", "StatusNotification"),
        "status_notification",
        {"connector_id": 1, "error_code": "NoError", "status": status},
    )


def _statuses() -> list[str]:
    """The chargebox id of each stored status report."""
    db.session.rollback()
    return list(
        db.session.scalars(
            select(Station.chargebox_id)
            .join(EventLogEntry, EventLogEntry.station_id == Station.id)
            .where(EventLogEntry.kind == EventKind.STATUS)
            .order_by(Station.chargebox_id)
        )
    )


def _engine_events(name: str, run) -> list[Any]:
    """The engine's `name` events raised by this thread (not the app's others)
    while `run` runs."""
    seen: list[Any] = []
    this_thread = threading.get_ident()

    def note(*args: Any) -> None:
        if threading.get_ident() == this_thread:
            seen.append(args)

    event.listen(db.engine, name, note)
    try:
        run()
    finally:
        event.remove(db.engine, name, note)
    return seen


def test_the_messages_of_a_batch_are_committed_once(app, handler, registered):
    outcomes: list[Any] = []
    commits = _engine_events(
        "commit",
        lambda: outcomes.extend(handler.run_batch([_status(cb) for cb in IDS])),
    )
    assert len(commits) == 1
    assert outcomes == [(call_result.StatusNotification(), None)] * 3
    assert _statuses() == list(IDS)


def test_a_batch_writes_its_rows_at_its_commit_not_message_by_message(
    app, handler, registered
):
    handler.run_batch([_status(cb) for cb in IDS])  # online now: no alarm to resolve
    statements = _engine_events(
        "before_cursor_execute",
        lambda: handler.run_batch([_status(cb, "Finishing") for cb in IDS]),
    )
    inserts = [s for s in statements if s[2].startswith("INSERT INTO event_log")]
    executions = {id(context) for *_, context, _executemany in inserts}
    # one execution wrote the three reports' entries (a statement per row on SQLite,
    # which cannot return many new ids in order; one statement on PostgreSQL)
    assert len(executions) == 1
    assert _statuses() == sorted(IDS * 2)


def _start(chargebox_id: str, at: str, unique_id: str = "s") -> StationCall:
    return StationCall(
        CallContext(chargebox_id, f"{chargebox_id}-{unique_id}", "StartTransaction"),
        "start_transaction",
        {"connector_id": 1, "id_tag": "ANY", "meter_start": 1000, "timestamp": at},
    )


def test_a_start_in_a_batch_writes_its_session_alone_before_the_commit(
    app, handler, registered
):
    """The transaction id is needed at once; the batch's other rows still wait for
    its commit (a flush for the id would write them message by message)."""
    handler.run_batch([_status(cb) for cb in IDS])
    at = datetime.now(UTC).isoformat()
    batch = [
        _status("CB-1", "Finishing"),
        _start("CB-2", at),
        _status("CB-3", "Finishing"),
    ]
    outcomes: list[Any] = []
    statements = _engine_events(
        "before_cursor_execute", lambda: outcomes.extend(handler.run_batch(batch))
    )
    inserts = [s for s in statements if s[2].startswith("INSERT INTO event_log")]
    assert len({id(context) for *_, context, _executemany in inserts}) == 1
    started = outcomes[1][0]
    session = db.session.get(ChargingSession, started.transaction_id)
    assert session is not None and session.station.chargebox_id == "CB-2"
    assert session.meter_start_kwh == 1.0 and session.ended_at is None


def test_a_start_repeated_in_the_same_batch_is_the_same_session(
    app, handler, registered
):
    at = datetime.now(UTC).isoformat()
    outcomes = handler.run_batch(
        [_start("CB-1", at, "a"), _status("CB-2"), _start("CB-1", at, "b")]
    )
    first, repeated = outcomes[0][0], outcomes[2][0]
    assert first.transaction_id == repeated.transaction_id
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ChargingSession)) == 1


def test_a_batch_reads_its_stations_together(app, handler, registered):
    statements = _engine_events(
        "before_cursor_execute", lambda: handler.run_batch([_status(cb) for cb in IDS])
    )
    station_reads = [
        s for s in statements if s[2].lstrip().startswith("SELECT station.")
    ]
    assert len(station_reads) == 1


def _lifecycle(chargebox_id: str, method: str, payload: dict[str, Any]) -> StationCall:
    return StationCall(CallContext(chargebox_id, "", method), method, payload)


def _executions(statements: list[Any], prefix: str) -> int:
    return len({id(s[4]) for s in statements if s[2].lstrip().startswith(prefix)})


def test_a_batch_of_reconnects_writes_its_stations_in_one_execution(
    app, handler, registered
):
    """A reconnecting station looks for its "no network" alarm without flushing the
    others: the stations' updates wait for the commit, all in one execution."""
    statements = _engine_events(
        "before_cursor_execute",
        lambda: handler.run_batch(
            [_lifecycle(cb, "station_connected", {}) for cb in IDS]
        ),
    )
    assert _executions(statements, "UPDATE station SET") == 1
    db.session.rollback()
    assert all(db.session.get(Station, s.id).online for s in registered)


def _active_alarms() -> list[tuple[str, AlarmKind]]:
    db.session.rollback()
    rows = db.session.execute(
        select(Station.chargebox_id, Alarm.kind)
        .join(Alarm, Alarm.station_id == Station.id)
        .where(Alarm.state == AlarmState.ACTIVE)
        .order_by(Station.chargebox_id)
    )
    return [tuple(row) for row in rows]


def test_a_batch_of_reconnects_and_reports_reads_the_alarms_once(
    app, handler, registered
):
    calls = [_lifecycle(cb, "station_connected", {}) for cb in IDS]
    calls += [_status(cb, "Available") for cb in IDS]
    statements = _engine_events(
        "before_cursor_execute", lambda: handler.run_batch(calls)
    )
    assert _executions(statements, "SELECT DISTINCT alarm.subject") == 1
    assert _executions(statements, "SELECT alarm.") == 0


def test_a_reconnect_in_a_batch_resolves_its_no_network_alarm(app, handler, registered):
    alarms.raise_alarm(AlarmKind.NO_NETWORK, station=registered[1])
    db.session.commit()
    handler.run_batch([_lifecycle(cb, "station_connected", {}) for cb in IDS])
    assert _active_alarms() == []


def _faulted(chargebox_id: str) -> StationCall:
    return StationCall(
        CallContext(chargebox_id, f"{chargebox_id}-f", "StatusNotification"),
        "status_notification",
        {"connector_id": 1, "error_code": "GroundFailure", "status": "Faulted"},
    )


def test_a_fault_and_its_recovery_in_one_batch_leave_no_active_alarm(
    app, handler, registered
):
    handler.run_batch(
        [_faulted("CB-1"), _faulted("CB-2"), _status("CB-1", "Available")]
    )
    assert _active_alarms() == [("CB-2", AlarmKind.GROUND_FAILURE)]


def test_a_recovery_in_a_later_batch_resolves_the_fault(app, handler, registered):
    handler.run_batch([_faulted("CB-1"), _status("CB-3")])
    assert _active_alarms() == [("CB-1", AlarmKind.GROUND_FAILURE)]
    handler.run_batch([_status("CB-1", "Available"), _status("CB-2")])
    assert _active_alarms() == []


def test_a_batch_of_boots_reads_the_stations_key_tables_together(
    app, handler, registered
):
    boot = {"charge_point_vendor": "ACME", "charge_point_model": "W"}
    statements = _engine_events(
        "before_cursor_execute",
        lambda: handler.run_batch(
            [_lifecycle(cb, "boot_notification", boot) for cb in IDS]
        ),
    )
    assert _executions(statements, "SELECT station_config_key") == 1
    assert _executions(statements, "UPDATE station SET") == 1


def test_a_message_that_fails_in_a_batch_fails_alone(
    app, handler, registered, monkeypatch
):
    started = {
        cb: charging.start_session(station, 1, "ANY", 0, datetime.now(UTC)).session.id
        for cb, station in zip(IDS, registered, strict=True)
    }
    db.session.commit()
    record = charging.record_meter_values

    def failing_at_cb2(station, *args, **kwargs):
        record(station, *args, **kwargs)
        if station.chargebox_id == "CB-2":
            raise RuntimeError("disk full")

    monkeypatch.setattr(charging, "record_meter_values", failing_at_cb2)
    at = datetime.now(UTC).isoformat()
    outcomes = handler.run_batch(
        [
            StationCall(
                CallContext(cb, f"{cb}-m", "MeterValues"),
                "meter_values",
                {
                    "connector_id": 1,
                    "transaction_id": started[cb],
                    "meter_value": [
                        {
                            "timestamp": at,
                            "sampled_value": [{"value": "500", "unit": "Wh"}],
                        }
                    ],
                },
            )
            for cb in IDS
        ]
    )
    assert [type(error) for _, error in outcomes] == [
        type(None),
        InternalError,
        type(None),
    ]
    db.session.rollback()
    stored = db.session.scalars(select(MeterValue.session_id)).all()
    assert sorted(stored) == sorted([started["CB-1"], started["CB-3"]])
    energy = {s.id: s.energy_kwh for s in db.session.scalars(select(ChargingSession))}
    assert (energy[started["CB-1"]], energy[started["CB-2"]]) == (0.5, 0.0)


def test_a_station_removed_while_connected_is_refused_and_the_others_stored(
    app, handler, registered
):
    outcomes = handler.run_batch([_status("CB-1"), _status("GONE"), _status("CB-3")])
    assert [type(error) for _, error in outcomes] == [
        type(None),
        SecurityError,
        type(None),
    ]
    assert _statuses() == ["CB-1", "CB-3"]


def test_messages_from_many_stations_at_once_are_all_stored_and_answered(
    connect, create_site, create_station
):
    site = create_site()
    ids = [f"CB-{n:02}" for n in range(12)]
    for cb in ids:
        create_station(site, cb, access=AccessRule.OPEN)
    answers: list[Any] = []

    def report(cb: str) -> None:
        with connect(cb) as station:
            for status in ("Preparing", "Charging", "Available"):
                answers.append(
                    station.call(
                        call.StatusNotification(
                            connector_id=1, error_code="NoError", status=status
                        )
                    )
                )

    threads = [threading.Thread(target=report, args=(cb,)) for cb in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 36
    assert eventually(lambda: len(_statuses()) == 36)


# The handler threads and the mailbox, on their own.


def test_calls_queued_while_the_handler_thread_is_busy_come_as_one_batch():
    batches: list[list[int]] = []
    busy = threading.Event()
    release = threading.Event()

    def runner(calls: Sequence[int]) -> list[tuple[Any, BaseException | None]]:
        batches.append(list(calls))
        if calls[0] == 0:
            busy.set()
            release.wait(5)
        return [(n * 10, None) for n in calls]

    async def scenario() -> list[int]:
        executor = BatchExecutor(Mailbox(asyncio.get_running_loop()), workers=1)
        try:
            first = asyncio.ensure_future(executor.run(runner, 0))
            await asyncio.to_thread(busy.wait, 5)
            rest = [asyncio.ensure_future(executor.run(runner, n)) for n in (1, 2, 3)]
            await asyncio.sleep(0.05)
            release.set()
            return list(await asyncio.gather(first, *rest))
        finally:
            await asyncio.to_thread(executor.stop, 5)

    assert asyncio.run(scenario()) == [0, 10, 20, 30]
    assert batches == [[0], [1, 2, 3]]


def test_a_runner_that_raises_fails_its_calls_instead_of_hanging():
    def runner(calls: Sequence[int]) -> list[tuple[Any, BaseException | None]]:
        raise RuntimeError("bug")

    async def scenario() -> None:
        executor = BatchExecutor(Mailbox(asyncio.get_running_loop()), workers=1)
        try:
            await asyncio.wait_for(executor.run(runner, 1), 5)
        finally:
            await asyncio.to_thread(executor.stop, 5)

    with pytest.raises(RuntimeError, match="bug"):
        asyncio.run(scenario())


def test_calls_posted_while_the_loop_is_busy_run_in_order_after_one_wake_up():
    async def scenario() -> tuple[list[tuple[int, int]], int, bool]:
        loop = asyncio.get_running_loop()
        mailbox = Mailbox(loop)
        wake_ups = 0
        schedule = loop.call_soon_threadsafe

        def counted(*args: Any) -> Any:
            nonlocal wake_ups
            wake_ups += 1
            return schedule(*args)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        ran: list[tuple[int, int]] = []
        threads_seen: set[int] = set()

        def note(sender: int, n: int) -> None:
            threads_seen.add(threading.get_ident())
            ran.append((sender, n))

        def sender(s: int) -> None:
            for n in range(500):
                mailbox.post(note, s, n)

        threads = [threading.Thread(target=sender, args=(s,)) for s in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:  # the loop is busy (blocked here) meanwhile
            thread.join(10)
        while len(ran) < 2000:
            await asyncio.sleep(0.01)
        return ran, wake_ups, threads_seen == {threading.get_ident()}

    ran, wake_ups, only_on_the_loop = asyncio.run(scenario())
    for s in range(4):
        assert [n for sender, n in ran if sender == s] == list(range(500))
    assert (wake_ups, only_on_the_loop) == (1, True)
