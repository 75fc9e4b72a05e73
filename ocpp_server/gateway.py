"""The StationGateway of app.services.commands: picks the station's protocol adapter."""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.models import Protocol
from app.services.commands import Command, CommandResult, CommandStatus, StationAddress

log = logging.getLogger(__name__)

Sender = Callable[[StationAddress, Command, float], CommandResult]


class ProtocolGateway:
    """Sends each command through the adapter of the station's protocol."""

    def __init__(self, senders: dict[Protocol, Sender]) -> None:
        self._senders = senders

    def send(
        self, station: StationAddress, command: Command, timeout: float
    ) -> CommandResult:
        sender = self._senders.get(Protocol(station.protocol))
        if sender is None:
            return CommandResult(
                CommandStatus.ERROR, f"no adapter for {station.protocol}"
            )
        try:
            return sender(station, command, timeout)
        except Exception as exc:  # an adapter bug must not take the caller down
            log.exception("%s: %s failed", station.chargebox_id, type(command).__name__)
            return CommandResult(CommandStatus.ERROR, type(exc).__name__)
