"""Portal -> station: the 15 OCPP 1.5 ChargePointService operations through zeep.

The official WSDL is parsed once per process (`load_wsdl`); each call builds a
throw-away `zeep.Client` around the cached document with its own `requests`
session and timeouts (cheap, thread-safe, no stale keep-alive connections to
embedded stations). zeep adds the WS-Addressing headers itself because the WSDL
declares `wsaw:Action`s - passing `WsAddressingPlugin` too would send each twice.

`send` is the gateway's sender for OCPP 1.5 (ocpp_server/gateway.py): command ->
operation (translate.py) -> call -> CommandResult, with the exchange written to
the message log when a `MessageLog` is given.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

import requests
import urllib3.exceptions
import zeep
import zeep.exceptions
from flask import Flask
from lxml import etree
from zeep.helpers import serialize_object
from zeep.plugins import Plugin
from zeep.transports import Transport
from zeep.wsdl import Document

from app.extensions import db
from app.models import Direction
from app.services.commands import Command, CommandResult, CommandStatus, StationAddress
from app.services.message_log import record_message
from ocpp_server.v15 import translate
from ocpp_server.v15.wsdl import CP_NS, CP_WSDL_PATH, WSA_NS

log = logging.getLogger(__name__)

BINDING: Final = f"{{{CP_NS}}}ChargePointServiceSoap"

OPERATIONS: Final[tuple[str, ...]] = (
    "CancelReservation",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "DataTransfer",
    "GetConfiguration",
    "GetDiagnostics",
    "GetLocalListVersion",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "UnlockConnector",
    "UpdateFirmware",
)

DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_CONNECT_TIMEOUT: Final = 10.0


class CallStatus(enum.StrEnum):
    """How a call ended.

    OFFLINE: no TCP connection (refused, DNS, unreachable, connect timeout) - the
    request certainly did not arrive. TIMEOUT: connected, no answer in time - the
    station may or may not have acted. FAULT: a SOAP Fault. ERROR: anything else
    (HTTP error without SOAP body, not XML, connection dropped mid-request).
    """

    OK = "ok"
    OFFLINE = "offline"
    TIMEOUT = "timeout"
    FAULT = "fault"
    ERROR = "error"


@dataclass(frozen=True)
class CallResult:
    """A call's outcome; `response` holds the answer keyed by WSDL element names."""

    operation: str
    endpoint: str
    status: CallStatus
    elapsed: float
    response: dict[str, Any] | None = None
    error: str | None = None
    fault_code: str | None = None
    fault_subcodes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.status is CallStatus.OK


class Exchange(Plugin):  # type: ignore[misc]
    """Keeps the envelopes of one call as sent and as received."""

    def __init__(self) -> None:
        self.sent: str | None = None
        self.received: str | None = None
        self.message_id: str = ""

    def egress(
        self, envelope: Any, http_headers: Any, operation: Any, binding_options: Any
    ) -> tuple[Any, Any]:
        self.sent = _xml_text(envelope)
        self.message_id = envelope.findtext(f".//{{{WSA_NS}}}MessageID") or ""
        return envelope, http_headers

    def ingress(
        self, envelope: Any, http_headers: Any, operation: Any
    ) -> tuple[Any, Any]:
        self.received = _xml_text(envelope)
        return envelope, http_headers


def _xml_text(element: Any) -> str:
    return bytes(etree.tostring(element, encoding="utf-8")).decode("utf-8")


@lru_cache(maxsize=1)
def load_wsdl() -> Document:
    """Parse the official ChargePointService WSDL once per process."""
    return Document(str(CP_WSDL_PATH), Transport())  # type: ignore[no-untyped-call,arg-type]


def call_charge_point(  # noqa: PLR0911 - one return per way a call ends
    endpoint: str,
    chargebox_id: str,
    operation: str,
    payload: Mapping[str, Any] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
    plugins: Iterable[Plugin] = (),
) -> CallResult:
    """Call `operation` on the station at `endpoint` (its wsa:From address).

    `payload` uses the WSDL element names (`{"type": "Soft"}` for Reset).
    `timeout` bounds the wait for the answer, `connect_timeout` the TCP connect
    (None: same as `timeout`).

    Raises:
        ValueError: not a ChargePointService operation.
        TypeError: the payload does not fit the operation.
    """
    if operation not in OPERATIONS:
        raise ValueError(f"Unknown ChargePointService operation {operation!r}")
    connect = timeout if connect_timeout is None else min(connect_timeout, timeout)
    session = requests.Session()
    transport = Transport(  # type: ignore[no-untyped-call]
        session=session, operation_timeout=(connect, timeout)
    )
    client = zeep.Client(  # type: ignore[no-untyped-call]
        load_wsdl(), transport=transport, plugins=list(plugins)
    )
    service = client.create_service(BINDING, endpoint)  # type: ignore[no-untyped-call]
    started = time.perf_counter()

    def result(status: CallStatus, **kwargs: Any) -> CallResult:
        elapsed = time.perf_counter() - started
        return CallResult(operation, endpoint, status, elapsed, **kwargs)

    try:
        raw = service[operation](
            **dict(payload or {}), _soapheaders={"ChargeBoxIdentity": chargebox_id}
        )
        return result(CallStatus.OK, response=_as_dict(client, operation, raw))
    except zeep.exceptions.Fault as exc:
        return result(
            CallStatus.FAULT,
            error=exc.message or "SOAP Fault without reason",
            fault_code=exc.code,
            fault_subcodes=tuple(
                str(getattr(s, "localname", s)) for s in exc.subcodes or ()
            ),
        )
    except requests.exceptions.ConnectionError as exc:  # includes ConnectTimeout
        if isinstance(exc, requests.exceptions.ConnectTimeout) or _is_connect_failure(
            exc
        ):
            return result(CallStatus.OFFLINE, error=_describe(exc))
        return result(CallStatus.ERROR, error=_describe(exc))
    except requests.exceptions.Timeout:  # ReadTimeout
        return result(CallStatus.TIMEOUT, error=f"no answer within {timeout:g} s")
    except (zeep.exceptions.TransportError, zeep.exceptions.XMLSyntaxError) as exc:
        return result(CallStatus.ERROR, error=str(exc)[:500])
    except requests.exceptions.RequestException as exc:
        return result(CallStatus.ERROR, error=_describe(exc))
    finally:
        session.close()


def _as_dict(client: zeep.Client, operation: str, raw: Any) -> dict[str, Any]:
    """Re-wrap zeep's answer as a dict: zeep unwraps one-element responses
    (ResetResponse -> "Accepted") and returns None for empty ones."""
    binding = client.wsdl.bindings[BINDING]
    element = binding.get(operation).output.body  # type: ignore[no-untyped-call]
    children = [name for name, _ in element.type.elements]
    if raw is None:
        return dict.fromkeys(children)
    if len(children) == 1 and not element.type.attributes:
        raw = {children[0]: raw}
    value = serialize_object(raw, target_cls=dict)  # type: ignore[no-untyped-call]
    if not isinstance(value, dict):
        raise TypeError(f"{operation}: unexpected answer {type(value).__name__}")
    return value


_CONNECT_ERRORS = (
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    ConnectionRefusedError,
)


def _is_connect_failure(exc: BaseException) -> bool:
    """Tell whether the failure happened while establishing the TCP connection."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, _CONNECT_ERRORS):
            return True
        if isinstance(item, BaseException):
            stack.extend(
                [
                    *item.args,
                    getattr(item, "reason", None),
                    item.__cause__,
                    item.__context__,
                ]
            )
    return False


def _describe(exc: BaseException) -> str:
    reason = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)
    return f"{type(exc).__name__}: {reason}"[:500]


# ---------------------------------------------------------------- the gateway's sender

MessageLog = Callable[[str, str, Exchange], None]


def message_log(app: Flask) -> MessageLog:
    """Return a writer of exchanges to `app`'s message log, usable from any thread."""

    def write(chargebox_id: str, operation: str, exchange: Exchange) -> None:
        try:
            with app.app_context():
                for direction, text in (
                    (Direction.OUT, exchange.sent),
                    (Direction.IN, exchange.received),
                ):
                    if text is not None:
                        record_message(
                            chargebox_id,
                            direction,
                            text,
                            action=operation,
                            unique_id=exchange.message_id,
                        )
                db.session.commit()
        except Exception:  # the log must never fail the command
            log.exception(
                "%s: %s not written to the message log", chargebox_id, operation
            )

    return write


_CALL_STATUS: Final[Mapping[CallStatus, CommandStatus]] = {
    CallStatus.OFFLINE: CommandStatus.OFFLINE,
    CallStatus.TIMEOUT: CommandStatus.TIMED_OUT,
    CallStatus.FAULT: CommandStatus.ERROR,
    CallStatus.ERROR: CommandStatus.ERROR,
}


def send(
    station: StationAddress,
    command: Command,
    timeout: float,
    *,
    messages: MessageLog | None = None,
) -> CommandResult:
    """Carry a command to a 1.5 station and say how it ended."""
    try:
        call = translate.call_for(command)
    except translate.NotSupported as exc:
        return CommandResult(CommandStatus.REJECTED, str(exc))
    if not station.endpoint:
        return CommandResult(CommandStatus.OFFLINE, "no endpoint known")
    exchange = Exchange()
    outcome = call_charge_point(
        station.endpoint,
        station.chargebox_id,
        call.operation,
        call.payload,
        timeout=timeout,
        plugins=[exchange],
    )
    log.info(
        "%s: %s %s in %.3f s%s",
        station.chargebox_id,
        call.operation,
        outcome.status.value,
        outcome.elapsed,
        f" ({outcome.error})" if outcome.error else "",
    )
    if messages is not None:
        messages(station.chargebox_id, call.operation, exchange)
    if outcome.response is not None:
        return translate.command_result(call.operation, outcome.response)
    return CommandResult(_CALL_STATUS[outcome.status], outcome.error or "")
