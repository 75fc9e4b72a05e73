"""OCPP 1.6 JSON over WebSocket at /Ocpp/websocket/<chargebox id> (spec §9).

flask-sock gives each connection a thread; the `ocpp` library runs on one asyncio
loop per process (loop.py); connection.py bridges the two (design.md "OCPP 1.6 over
flask-sock"). handler.py turns each message into a service call; translate.py maps
the words; this module wires admission, the message log and the command sender.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Flask

from app.extensions import db
from app.models import Direction, Protocol
from app.services import message_log, stations
from app.services.commands import Command, CommandResult, CommandStatus, StationAddress
from ocpp_server.gateway import Sender
from ocpp_server.v16 import loop, translate
from ocpp_server.v16.connection import ConnectionOptions
from ocpp_server.v16.frames import Frame
from ocpp_server.v16.handler import PortalStationHandler
from ocpp_server.v16.routes import init_ocpp16

log = logging.getLogger(__name__)

_REFUSALS = {
    stations.Admission.UNKNOWN: 404,
    stations.Admission.BAD_PASSWORD: 401,
}


#: handler threads per process: one. A thread takes every station message queued
#: behind the one it runs as one batch, so one thread keeps the batches large; more
#: threads only split them and fight over the GIL (measured with batches, 1,000
#: stations closed loop on PostgreSQL: 1 thread ~505 msg/s, 2 388, 3 342, 15 317;
#: docs/ocpp-performance.md). Several cores are used with several worker processes.
DEFAULT_HANDLER_THREADS = 1


def handler_threads(app: Flask) -> int:
    """How many threads run station messages: OCPP_HANDLER_THREADS, else one."""
    configured = int(app.config.get("OCPP_HANDLER_THREADS") or 0)
    return configured if configured > 0 else DEFAULT_HANDLER_THREADS


def init_app(app: Flask) -> Sender:
    """Register the endpoint; return the sender that carries commands to 1.6 stations."""

    def admit(
        chargebox_id: str, password: str | None, address: str | None
    ) -> int | None:
        result = stations.admit_station(
            chargebox_id, password, protocol=Protocol.OCPP16_JSON, address=address
        )
        db.session.commit()
        return _REFUSALS.get(result.admission)

    station_ids = message_log.StationIds()  # one lookup per identity, not per frame

    def log_frames(frames: list[Frame]) -> None:
        with app.app_context():
            message_log.record_messages(
                [
                    message_log.LoggedMessage(
                        frame.chargebox_id,
                        Direction(frame.direction),
                        frame.raw,
                        frame.action or "",
                        frame.unique_id or "",
                        datetime.fromtimestamp(frame.timestamp, UTC),
                    )
                    for frame in frames
                ],
                station_ids,
            )
            db.session.commit()

    loop.configure(handler_workers=handler_threads(app))
    state = init_ocpp16(
        app,
        handler=PortalStationHandler(app),
        admit=admit,
        frame_hook=log_frames if app.config["OCPP_MESSAGE_LOG"] else None,
        options=ConnectionOptions(
            fetch_configuration_on_boot=app.config["OCPP_FETCH_CONFIG_ON_BOOT"],
            configuration_timeout=app.config["OCPP_COMMAND_TIMEOUT"],
        ),
    )

    def send(
        station: StationAddress, command: Command, timeout: float
    ) -> CommandResult:
        try:
            payload = translate.to_call(command)
        except TypeError:
            return CommandResult(CommandStatus.REJECTED, "not supported by OCPP 1.6")
        return translate.to_result(
            state.registry.call(station.chargebox_id, payload, timeout)
        )

    return send
