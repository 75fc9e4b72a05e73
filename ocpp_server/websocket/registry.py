"""Live station connections of this process (chargebox id -> connection).

The registry is per process and holds the stations of every OCPP-J version: a
station is connected to exactly one worker. With
several workers, ocpp_server/routing.py listens to register/unregister here (the
``listeners``) to tell Redis which worker holds which station, and forwards a
command for a station held elsewhere to that worker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from app.services.commands import Command, CommandResult, CommandStatus, StationAddress

from .calls import CallOutcome, CallStatus
from .connection import StationConnection
from .loop import is_loop_thread


class ConnectionRegistry:
    """The stations connected to this process, by chargebox id."""

    def __init__(self, *, result_grace: float = 2.0) -> None:
        self._lock = threading.Lock()
        self._connections: dict[str, StationConnection] = {}
        self._result_grace = result_grace
        #: called (chargebox id, connection, registered?) after each change, outside
        #: the lock; a listener must not raise and should not block for long
        self.listeners: list[Callable[[str, StationConnection, bool], None]] = []

    # --------------------------------------------------------------- bookkeeping

    def register(self, connection: StationConnection) -> StationConnection | None:
        """Make ``connection`` current; return the one it replaces (caller closes it)."""
        with self._lock:
            previous = self._connections.get(connection.chargebox_id)
            self._connections[connection.chargebox_id] = connection
        self._announce(connection, registered=True)
        return previous if previous is not connection else None

    def unregister(self, connection: StationConnection) -> bool:
        """Remove ``connection`` if it is still current; return whether it was."""
        with self._lock:
            if self._connections.get(connection.chargebox_id) is not connection:
                return False
            del self._connections[connection.chargebox_id]
        self._announce(connection, registered=False)
        return True

    def _announce(self, connection: StationConnection, *, registered: bool) -> None:
        for listener in list(self.listeners):
            listener(connection.chargebox_id, connection, registered)

    def get(self, chargebox_id: str) -> StationConnection | None:
        with self._lock:
            return self._connections.get(chargebox_id)

    def chargebox_ids(self) -> list[str]:
        with self._lock:
            return list(self._connections)

    def connections(self) -> list[StationConnection]:
        with self._lock:
            return list(self._connections.values())

    def __contains__(self, chargebox_id: object) -> bool:
        with self._lock:
            return chargebox_id in self._connections

    def __len__(self) -> int:
        with self._lock:
            return len(self._connections)

    # ------------------------------------------------------------------- calls

    def call(
        self, chargebox_id: str, payload: Any, timeout: float = 30.0
    ) -> CallOutcome:
        """Send ``payload`` (a ``call`` dataclass of the station's OCPP version, such
        as ``ocpp.v16.call``) and wait for the answer.

        For synchronous callers (views, jobs); blocks at most about
        ``timeout`` seconds.  Never raises for station/transport problems.
        """
        if is_loop_thread():
            raise RuntimeError(
                "ConnectionRegistry.call() blocks; on the event loop await "
                "connection.charge_point.call_outcome() instead"
            )
        action = type(payload).__name__
        connection = self.get(chargebox_id)
        if connection is None or connection.closed or connection.charge_point is None:
            return CallOutcome(CallStatus.OFFLINE, action)
        try:
            future = asyncio.run_coroutine_threadsafe(
                connection.tracked_call(payload, timeout), connection.loop
            )
        except RuntimeError:  # loop closed
            return CallOutcome(CallStatus.OFFLINE, action)
        try:
            return future.result(timeout + self._result_grace)
        except (
            concurrent.futures.TimeoutError
        ):  # loop stalled; call_outcome has its own timeout
            future.cancel()
            return CallOutcome(CallStatus.TIMEOUT, action)
        except concurrent.futures.CancelledError:
            return CallOutcome(CallStatus.OFFLINE, action)


def command_sender(
    registry: ConnectionRegistry,
    to_call: Callable[[Command], Any],
    to_result: Callable[[CallOutcome], CommandResult],
    version: str,
) -> Callable[[StationAddress, Command, float], CommandResult]:
    """The gateway's sender for one OCPP-J version: the command in the version's
    words (``to_call`` raises TypeError for one it cannot say), the outcome back."""

    def send(
        station: StationAddress, command: Command, timeout: float
    ) -> CommandResult:
        try:
            payload = to_call(command)
        except TypeError:
            return CommandResult(CommandStatus.REJECTED, f"not supported by {version}")
        return to_result(registry.call(station.chargebox_id, payload, timeout))

    return send
