"""The 15 portal -> station commands, sent through services.commands to a simulated
1.5 charge point: what the station receives, what the portal records."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Direction, EventKind, EventLogEntry, OcppMessage, Station
from app.services import commands as cmd
from app.services.commands import CommandResult, CommandStatus, StationAddress
from ocpp_server.v15 import client
from tests.ocpp_server.v15.conftest import STATION_ID, BlackHoleServer, fresh
from tests.ocpp_server.v15.simulator import SimulatorServer

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

# command -> (operation, what the station receives, result status, detail, data)
CASES: dict[str, tuple[cmd.Command, str, dict[str, Any], str, dict[str, Any]]] = {
    "Reset": (cmd.Reset(hard=True), "Reset", {"type": "Hard"}, "", {}),
    "ChangeAvailability": (
        cmd.ChangeAvailability(outlet=1, operative=False),
        "ChangeAvailability",
        {"connectorId": 1, "type": "Inoperative"},
        "",
        {},
    ),
    "ChangeConfiguration": (
        cmd.ChangeConfiguration("HeartbeatInterval", "600"),
        "ChangeConfiguration",
        {"key": "HeartbeatInterval", "value": "600"},
        "",
        {},
    ),
    "GetConfiguration": (
        cmd.GetConfiguration(("HeartbeatInterval", "Nope")),
        "GetConfiguration",
        {"key": ["HeartbeatInterval", "Nope"]},
        "",
        {
            "keys": [{"key": "HeartbeatInterval", "value": "300", "readonly": False}],
            "unknown_keys": ["Nope"],
        },
    ),
    "ClearCache": (cmd.ClearCache(), "ClearCache", {}, "", {}),
    "UnlockOutlet": (
        cmd.UnlockOutlet(2),
        "UnlockConnector",
        {"connectorId": 2},
        "",
        {},
    ),
    "RemoteStart": (
        cmd.RemoteStart(tag="1001", outlet=1),
        "RemoteStartTransaction",
        {"idTag": "1001", "connectorId": 1},
        "",
        {},
    ),
    "RemoteStop": (
        cmd.RemoteStop(session_id=42),
        "RemoteStopTransaction",
        {"transactionId": 42},
        "",
        {},
    ),
    "UpdateFirmware": (
        cmd.UpdateFirmware("http://fw.example/fw.bin", T0, retries=3),
        "UpdateFirmware",
        {
            "retrieveDate": T0,
            "location": "http://fw.example/fw.bin",
            "retries": 3,
            "retryInterval": None,
        },
        "",
        {},
    ),
    "GetDiagnostics": (
        cmd.GetDiagnostics("ftp://diag.example/upload/", start=T0),
        "GetDiagnostics",
        {
            "location": "ftp://diag.example/upload/",
            "startTime": T0,
            "stopTime": None,
            "retries": None,
            "retryInterval": None,
        },
        "diagnostics.zip",
        {"file_name": "diagnostics.zip"},
    ),
    "SendLocalList": (
        cmd.SendLocalList(
            version=5,
            full=True,
            entries=(
                cmd.LocalListEntry("1001", "accepted", expires_at=T0),
                cmd.LocalListEntry("1002", "blocked", parent_tag="1001"),
                cmd.LocalListEntry("1003"),
            ),
        ),
        "SendLocalList",
        {
            "updateType": "Full",
            "listVersion": 5,
            "localAuthorisationList": [
                {
                    "idTag": "1001",
                    "idTagInfo": {
                        "status": "Accepted",
                        "expiryDate": T0,
                        "parentIdTag": None,
                    },
                },
                {
                    "idTag": "1002",
                    "idTagInfo": {
                        "status": "Blocked",
                        "expiryDate": None,
                        "parentIdTag": "1001",
                    },
                },
                {"idTag": "1003", "idTagInfo": None},
            ],
            "hash": None,
        },
        "",
        {},
    ),
    "GetLocalListVersion": (
        cmd.GetLocalListVersion(),
        "GetLocalListVersion",
        {},
        "version 0",
        {"version": 0},
    ),
    "ReserveNow": (
        cmd.ReserveNow(outlet=1, expires_at=T0, tag="1001", reservation_id=9),
        "ReserveNow",
        {
            "connectorId": 1,
            "expiryDate": T0,
            "idTag": "1001",
            "parentIdTag": None,
            "reservationId": 9,
        },
        "",
        {},
    ),
    "CancelReservation": (
        cmd.CancelReservation(9),
        "CancelReservation",
        {"reservationId": 9},
        "",
        {},
    ),
    "DataTransfer": (
        cmd.DataTransfer("ACME", "ping", "x"),
        "DataTransfer",
        {"vendorId": "ACME", "messageId": "ping", "data": "x"},
        "",
        {"data": "pong"},
    ),
}


def _events(station: Station) -> list[tuple[EventKind, str]]:
    fresh()
    rows = db.session.scalars(
        select(EventLogEntry)
        .where(EventLogEntry.station_id == station.id)
        .order_by(EventLogEntry.id)
    )
    return [(row.kind, row.message) for row in rows]


def _message_log() -> list[tuple[Direction, str, str]]:
    fresh()
    rows = db.session.scalars(select(OcppMessage).order_by(OcppMessage.id))
    return [(row.direction, row.action, row.chargebox_id) for row in rows]


@pytest.fixture
def reachable(station: Station, simulator: SimulatorServer) -> Station:
    """The station, its endpoint pointing at the simulator."""
    station.endpoint_address = simulator.url
    db.session.commit()
    return station


def test_the_cases_cover_all_15_operations() -> None:
    assert sorted(case[1] for case in CASES.values()) == sorted(client.OPERATIONS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_command_reaches_the_station_and_is_recorded(
    reachable: Station, simulator: SimulatorServer, name: str
) -> None:
    command, operation, received, detail, data = CASES[name]

    result = cmd.send_command(None, reachable, command)

    assert result == CommandResult(CommandStatus.ACCEPTED, detail, data)
    call = simulator.simulator.last(operation)
    assert call.payload == received
    assert call.ctx.charge_box_identity == STATION_ID
    assert call.ctx.action == f"/{operation}"
    command_name = type(command).__name__
    assert _events(reachable)[-2:] == [
        (EventKind.COMMAND_SENT, f"{command_name} sent"),
        (
            EventKind.COMMAND_RESULT,
            f"{command_name}: accepted" + (f" ({detail})" if detail else ""),
        ),
    ]
    assert _message_log() == [
        (Direction.OUT, operation, STATION_ID),
        (Direction.IN, operation, STATION_ID),
    ]
    message = db.session.scalars(select(OcppMessage)).first()
    assert message is not None and message.unique_id == call.ctx.message_id


def test_get_configuration_stores_the_key_table(reachable: Station) -> None:
    cmd.fetch_configuration(None, reachable)

    fresh()
    assert [(k.key, k.value, k.readonly) for k in reachable.config_keys] == [
        ("ChargePointId", "CB", True),
        ("HeartbeatInterval", "300", False),
    ]


@pytest.mark.parametrize(
    ("operation", "answer", "command", "expected"),
    [
        (
            "ReserveNow",
            {"status": "Occupied"},
            cmd.ReserveNow(1, T0, "1001", 9),
            CommandResult(CommandStatus.REJECTED, "Occupied"),
        ),
        (
            "Reset",
            {"status": "Rejected"},
            cmd.Reset(),
            CommandResult(CommandStatus.REJECTED),
        ),
        (
            "ChangeConfiguration",
            {"status": "NotSupported"},
            cmd.ChangeConfiguration("Foo", "1"),
            CommandResult(CommandStatus.REJECTED, "NotSupported"),
        ),
        (
            "ChangeAvailability",
            {"status": "Scheduled"},
            cmd.ChangeAvailability(0, operative=True),
            CommandResult(CommandStatus.ACCEPTED, "scheduled"),
        ),
        (
            "DataTransfer",
            {"status": "UnknownVendorId"},
            cmd.DataTransfer("Other"),
            CommandResult(CommandStatus.REJECTED, "UnknownVendorId"),
        ),
    ],
    ids=["occupied", "rejected", "not-supported", "scheduled", "unknown-vendor"],
)
def test_what_the_station_answers_decides_the_result(
    reachable: Station,
    simulator: SimulatorServer,
    operation: str,
    answer: dict[str, Any],
    command: cmd.Command,
    expected: CommandResult,
) -> None:
    simulator.simulator.responses[operation] = answer

    assert cmd.send_command(None, reachable, command) == expected


def test_a_station_fault_is_an_error(reachable: Station) -> None:
    reachable.chargebox_id = "CB-SOMEONE-ELSE"  # the simulator refuses the identity
    db.session.commit()

    result = cmd.send_command(None, reachable, cmd.ClearCache())

    assert result.status is CommandStatus.ERROR
    assert result.detail == "This is charge point 'CB-15-0001', not 'CB-SOMEONE-ELSE'"
    assert _events(reachable)[-1] == (
        EventKind.COMMAND_RESULT,
        f"ClearCache: error ({result.detail})",
    )


@pytest.mark.parametrize(
    "command",
    [
        cmd.TriggerMessage("Heartbeat"),
        cmd.SetChargingProfile(1, {"chargingProfileId": 1}),
        cmd.ClearChargingProfile(),
        cmd.GetCompositeSchedule(1, 3600),
    ],
    ids=lambda command: type(command).__name__,
)
def test_a_16_only_command_is_rejected_unsent(
    reachable: Station, simulator: SimulatorServer, command: cmd.Command
) -> None:
    result = cmd.send_command(None, reachable, command)

    assert result == CommandResult(CommandStatus.REJECTED, "not supported by OCPP 1.5")
    assert simulator.simulator.calls == []
    assert _message_log() == []


def test_remote_start_with_a_charging_profile_is_rejected_unsent(
    reachable: Station, simulator: SimulatorServer
) -> None:
    command = cmd.RemoteStart(tag="1001", outlet=1, charging_profile={"id": 1})

    result = cmd.send_command(None, reachable, command)

    assert result.status is CommandStatus.REJECTED
    assert simulator.simulator.calls == []


def test_no_endpoint_known_is_offline(station: Station) -> None:
    result = cmd.send_command(None, station, cmd.Reset())

    assert result == CommandResult(CommandStatus.OFFLINE, "no endpoint known")


def test_an_endpoint_that_is_down_is_offline(station: Station, free_port: int) -> None:
    station.endpoint_address = f"http://127.0.0.1:{free_port}/Ocpp/ChargePointService/"
    db.session.commit()
    started = time.perf_counter()

    result = cmd.send_command(None, station, cmd.Reset())

    assert result.status is CommandStatus.OFFLINE
    assert time.perf_counter() - started < 2
    assert _events(station)[-1][1].startswith("Reset: offline (")
    assert _message_log() == [(Direction.OUT, "Reset", STATION_ID)]


def test_an_endpoint_that_hangs_times_out_within_the_timeout(
    app: Flask, station: Station, black_hole: BlackHoleServer
) -> None:
    app.config["OCPP_COMMAND_TIMEOUT"] = 0.5
    station.endpoint_address = black_hole.url
    db.session.commit()
    started = time.perf_counter()

    result = cmd.send_command(None, station, cmd.Reset())

    elapsed = time.perf_counter() - started
    assert result == CommandResult(CommandStatus.TIMED_OUT, "no answer within 0.5 s")
    assert 0.5 <= elapsed < 1.5, elapsed
    assert _events(station)[-1] == (
        EventKind.COMMAND_RESULT,
        "Reset: timed out (no answer within 0.5 s)",
    )


def test_the_gateway_sends_from_a_thread_without_app_context(
    app: Flask, reachable: Station, simulator: SimulatorServer
) -> None:
    address = StationAddress(STATION_ID, reachable.protocol.value, simulator.url)
    results: list[CommandResult] = []
    gateway = app.extensions["station_gateway"]
    worker = threading.Thread(
        target=lambda: results.append(gateway.send(address, cmd.ClearCache(), 5.0))
    )

    worker.start()
    worker.join(timeout=10)

    assert results == [CommandResult(CommandStatus.ACCEPTED)]
    assert _message_log() == [
        (Direction.OUT, "ClearCache", STATION_ID),
        (Direction.IN, "ClearCache", STATION_ID),
    ]


def test_a_failing_message_log_does_not_fail_the_command(
    reachable: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("log table is gone")

    monkeypatch.setattr(client, "record_message", broken)

    result = cmd.send_command(None, reachable, cmd.ClearCache())

    assert result.status is CommandStatus.ACCEPTED
    assert _message_log() == []
