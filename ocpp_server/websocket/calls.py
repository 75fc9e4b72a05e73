"""The types both ends of an OCPP-J connection share: its transport and its calls.

The connection (:mod:`.connection`), the charge point on it (:mod:`.central_system`),
the registry (:mod:`.registry`) and each version's station handler speak these, so
none of them needs to import another for its types.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

Payload = dict[str, Any]


class TransportClosed(Exception):
    """The WebSocket of a station is closed (raised by transport recv/send)."""


class Transport(Protocol):
    """What a charge point (:mod:`.central_system`) needs from a connection."""

    @property
    def closed(self) -> bool: ...
    async def recv(self) -> str: ...
    async def send(self, message: str) -> None: ...
    async def wait_closed(self) -> None: ...


class CallStatus(enum.StrEnum):
    """How a call ended. ACCEPTED means a CALLRESULT came back (it may say Rejected);
    OFFLINE: not connected or dropped before the answer; TIMEOUT: no answer in time;
    ERROR: the station answered a CALLERROR, or the exchange was invalid."""

    ACCEPTED = "accepted"
    OFFLINE = "offline"
    TIMEOUT = "timeout"
    ERROR = "error"


@dataclass(frozen=True)
class CallOutcome:
    """The outcome of a central-system -> station CALL."""

    status: CallStatus
    action: str
    #: the version's ``call_result`` dataclass (``ocpp.v16.call_result``) if ACCEPTED
    response: Any = None
    error_code: str | None = None
    error_description: str | None = None
    error_details: Any = None
    #: "station" = CALLERROR received; "local" = request or response failed validation
    error_origin: str | None = None
    unique_id: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is CallStatus.ACCEPTED


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who sent the CALL being handled."""

    chargebox_id: str
    unique_id: str
    action: str  #: the version's ``Action`` (a ``str`` enum)


@dataclass(frozen=True, slots=True)
class StationCall:
    """A CALL to hand to the handler: its method of that name, with ctx and payload."""

    ctx: CallContext
    method: str
    payload: Payload
