"""OCPP 1.6 central-system side of one station connection.

``CentralSystem`` is an ``ocpp.v16.ChargePoint`` subclass.  Compared to the
stock library (ocpp 2.1.0) it changes how frames are routed:

* ``ocpp.charge_point.ChargePoint.route_message`` only logs and drops frames
  that ``unpack()`` rejects (invalid JSON, not an array, missing elements,
  unknown MessageTypeId), and lets a ``TypeError`` escape for a CALL whose
  action is not hashable (e.g. a list), which ends ``start()`` and therefore
  the connection.  Here every such frame gets the CALLERROR the library's
  exception describes whenever a unique id can be salvaged, and nothing ever
  escapes the receive loop.
* CALLs are handled by a per-connection worker task, one at a time and in
  order, while CALLRESULT/CALLERROR frames are routed to the waiting ``call()``
  immediately.  So a handler that is busy (in a thread) never delays the
  response to a central-system CALL.
* A CALL is handled (``_handle_call``) in the library's steps without the
  library's per-message costs: schemas compiled at start-up (:mod:`.schemas`),
  payload keys converted through a cache, the answer validated once.
* OCPP 1.6 spells two error codes differently from 2.0.1; the library emits
  the 2.0.1 spelling ``FormatViolation``.  Outgoing codes are normalised to
  the 1.6 enum (``FormationViolation``, ``OccurenceConstraintViolation``).

Every station->central-system message of OCPP 1.6 core/firmware is routed to
the pluggable synchronous :class:`~.handlers.StationHandler` in the
process's handler threads (:class:`~.loop.BatchExecutor`), which run the
messages waiting together as one batch (``StationHandler.run_batch``).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import inspect
import json
import logging
import re
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from ocpp import messages
from ocpp.charge_point import (
    _raise_key_error,
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import (
    FormationViolationError,
    FormatViolationError,
    InternalError,
    OccurenceConstraintViolationError,
    OccurrenceConstraintViolationError,
    OCPPError,
)
from ocpp.messages import Call, CallError, CallResult, MessageType, unpack
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, RegistrationStatus

from . import schemas
from .handlers import CallContext, StationCall, StationHandler
from .loop import get_handlers

log = logging.getLogger(__name__)

# Validate payloads inline: the schemas are small and cached, and the default
# (run_in_executor per message) costs two thread hops per frame.
assert hasattr(messages, "ASYNC_VALIDATION"), (
    "ocpp.messages.ASYNC_VALIDATION is gone; re-check the ocpp version"
)
messages.ASYNC_VALIDATION = False
schemas.install()  # every 1.6 schema compiled now, not opened on first use

OCPP_VERSION = "1.6"
MAX_CAUSE_LENGTH = 200


class TransportClosed(Exception):
    """The WebSocket of a station is closed (raised by transport recv/send)."""


class Transport(Protocol):
    """What :class:`CentralSystem` needs from a connection."""

    @property
    def closed(self) -> bool: ...
    async def recv(self) -> str: ...
    async def send(self, message: str) -> None: ...
    async def wait_closed(self) -> None: ...


# --------------------------------------------------------------------------
# Outcome of a central-system -> station CALL
# --------------------------------------------------------------------------


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
    status: CallStatus
    action: str
    response: Any = None  #: ``ocpp.v16.call_result`` dataclass when ACCEPTED
    error_code: str | None = None
    error_description: str | None = None
    error_details: Any = None
    #: "station" = CALLERROR received; "local" = request or response failed validation
    error_origin: str | None = None
    unique_id: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is CallStatus.ACCEPTED


# --------------------------------------------------------------------------
# Error helpers
# --------------------------------------------------------------------------

#: 2.0.1 spelling emitted by the library -> OCPP 1.6 spelling
_V16_ERROR_CLASSES: dict[type[OCPPError], type[OCPPError]] = {
    FormatViolationError: FormationViolationError,
    OccurrenceConstraintViolationError: OccurenceConstraintViolationError,
}

_CALL_HEAD = re.compile(r'^\s*\[\s*(-?\d+)\s*,\s*("(?:[^"\\]|\\.)*")')


def to_v16_error(error: OCPPError) -> OCPPError:
    """Return ``error`` with a 1.6 error code and compact details."""
    details = dict(error.details) if isinstance(error.details, dict) else {}
    details.pop("ocpp_message", None)  # the library echoes the whole frame back
    cause = details.get("cause")
    if isinstance(cause, str):
        cause = cause.split("\n", 1)[0]
        details["cause"] = (
            cause
            if len(cause) <= MAX_CAUSE_LENGTH
            else cause[: MAX_CAUSE_LENGTH - 3] + "..."
        )
    cls = _V16_ERROR_CLASSES.get(type(error), type(error))
    return cls(description=error.description, details=details)


def make_call_error(unique_id: str, error: OCPPError) -> CallError:
    error = to_v16_error(error)
    return CallError(unique_id, error.code, error.description, error.details)


def salvage_head(raw: str) -> tuple[int | None, str | None]:
    """Best effort (MessageTypeId, UniqueId) of a frame ``unpack()`` rejected."""
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError):
        match = _CALL_HEAD.match(raw)
        if match is None:
            return None, None
        return int(match.group(1)), json.loads(match.group(2))
    if isinstance(msg, list) and len(msg) >= 2 and isinstance(msg[1], str):
        type_id = (
            msg[0] if isinstance(msg[0], int) and not isinstance(msg[0], bool) else None
        )
        return type_id, msg[1]
    return None, None


@functools.lru_cache(maxsize=1024)
def _snake_key(key: str) -> str:
    """The library's camelCase -> snake_case of one key (its regular expressions
    run once per key, not per message)."""
    return str(next(iter(camel_to_snake_case({key: None}))))


@functools.lru_cache(maxsize=1024)
def _camel_key(key: str) -> str:
    return str(next(iter(snake_to_camel_case({key: None}))))


def _snake_case(data: Any) -> Any:
    """``ocpp.charge_point.camel_to_snake_case`` with the keys cached."""
    if isinstance(data, dict):
        return {_snake_key(k): _snake_case(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_snake_case(v) for v in data]
    return data


def _camel_case(data: Any) -> Any:
    """``ocpp.charge_point.snake_to_camel_case`` with the keys cached."""
    if isinstance(data, dict):
        return {_camel_key(k): _camel_case(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_camel_case(v) for v in data]
    return data


# --------------------------------------------------------------------------
# The ChargePoint subclass
# --------------------------------------------------------------------------


class CentralSystem(ChargePoint):  # type: ignore[misc]
    """Central-system endpoint for one connected OCPP 1.6 station."""

    _connection: Transport

    def __init__(
        self,
        chargebox_id: str,
        connection: Transport,
        handler: StationHandler,
        *,
        response_timeout: float = 300.0,
        fetch_configuration_on_boot: bool = True,
        configuration_timeout: float = 30.0,
    ) -> None:
        # response_timeout is only a backstop: call_outcome() enforces the
        # per-call timeout itself.
        super().__init__(chargebox_id, connection, response_timeout=response_timeout)
        self.handler = handler
        self.boot_status: RegistrationStatus | None = None
        self._fetch_configuration_on_boot = fetch_configuration_on_boot
        self._configuration_timeout = configuration_timeout
        self._configuration_requested = False
        self._incoming: asyncio.Queue[Call | CallError] = asyncio.Queue()
        #: frames of the station that are owed an answer (queued or being handled)
        self.owed = 0
        self._background: set[asyncio.Task[Any]] = set()
        # unique ids of call_outcome() calls in flight -> CALLERROR received
        self._tracked: dict[str, CallError | None] = {}

    # ------------------------------------------------------------------ loop

    async def start(self) -> None:
        """Receive frames until the transport closes."""
        worker = asyncio.create_task(self._call_worker(), name=f"ocpp-calls-{self.id}")
        try:
            while True:
                raw = await self._connection.recv()
                try:
                    await self.route_message(raw)
                except Exception:  # never let one frame kill the connection
                    log.exception("%s: failed to route frame %.200r", self.id, raw)
        finally:
            worker.cancel()
            for task in list(self._background):
                task.cancel()

    async def route_message(self, raw_msg: str) -> None:
        try:
            msg = unpack(raw_msg)
        except OCPPError as error:
            self._on_unparseable(raw_msg, error)
            return

        if msg.message_type_id == MessageType.Call:
            if not isinstance(msg.action, str):
                bad_action = FormationViolationError(
                    details={"cause": "Action must be a string"}
                )
                self._owe(make_call_error(msg.unique_id, bad_action))
            else:
                self._owe(msg)
        elif self._call_lock.locked():  # CallResult / CallError -> the waiting call()
            self._response_queue.put_nowait(msg)
        else:  # nobody waits (e.g. a late answer after a timeout): drop it
            log.info("%s: dropping unsolicited %r", self.id, msg)

    def _on_unparseable(self, raw_msg: str, error: OCPPError) -> None:
        type_id, unique_id = salvage_head(raw_msg)
        log.warning("%s: invalid frame %.200r: %s", self.id, raw_msg, error)
        if unique_id is None:
            return  # nothing to answer to
        if type_id in (MessageType.CallResult, MessageType.CallError):
            # Never answer a response.  If a call() waits for this id, fail it
            # now instead of letting it run into its timeout.
            if unique_id in self._tracked:
                self._response_queue.put_nowait(make_call_error(unique_id, error))
            return
        if type_id != MessageType.Call:
            # An unknown MessageTypeId breaks the frame's structure (OCPP-J §4.1.3);
            # the library calls it PropertyConstraintViolation, 1.6 FormationViolation.
            error = FormationViolationError(description="Unknown MessageTypeId")
        self._owe(make_call_error(unique_id, error))

    def _owe(self, item: Call | CallError) -> None:
        """Queue a CALL to handle, or the CALLERROR a frame gets, for the worker."""
        self.owed += 1
        self._incoming.put_nowait(item)

    async def _call_worker(self) -> None:
        """Handle incoming CALLs one at a time, in arrival order."""
        while True:
            item = await self._incoming.get()
            try:
                await self._answer(item)
            except TransportClosed:
                return
            finally:
                self.owed -= 1

    async def _answer(self, item: Call | CallError) -> None:
        if isinstance(item, CallError):
            await self._send(item.to_json())
            return
        try:
            await self._handle_call(item)
        except OCPPError as error:  # raised by request validation / routing
            await self._send(make_call_error(item.unique_id, error).to_json())
        except TransportClosed:
            raise
        except Exception:
            log.exception("%s: error while handling %r", self.id, item)
            await self._send(make_call_error(item.unique_id, InternalError()).to_json())

    async def _handle_call(self, msg: Call) -> None:
        """The library's ``_handle_call``, without its per-message overheads.

        The same steps: route (NotImplemented / NotSupported), validate the request,
        keys to snake_case, the ``@on`` handler, keys back to camelCase, validate
        the answer, send it, then the ``@after`` hook. But the key conversions are
        cached per key (the library runs two regular expressions per key and
        message), the handler is called without ``inspect.signature`` (every
        ``@on`` handler here takes ``call_unique_id``), and the answer is validated
        once. An answer that fails the schema is the portal's bug: InternalError,
        not the FormatViolation the library would send. Errors raised here are
        answered by ``_call_worker``."""
        handlers = self.route_map.get(msg.action)
        if handlers is None or "_on_action" not in handlers:
            _raise_key_error(msg.action, OCPP_VERSION)
        validate = not handlers.get("_skip_schema_validation", False)
        if validate:
            messages._validate_payload(msg, OCPP_VERSION)
        payload = _snake_case(msg.payload)
        result = handlers["_on_action"](**payload, call_unique_id=msg.unique_id)
        if inspect.isawaitable(result):
            result = await result
        response = msg.create_call_result(
            _camel_case(remove_nones(serialize_as_dict(result)))
        )
        if validate:
            try:
                messages._validate_payload(response, OCPP_VERSION)
            except OCPPError as error:
                log.error(
                    "Handler returned an invalid %s response %r: %s",
                    msg.action,
                    result,
                    error,
                )
                raise InternalError(
                    details={
                        "cause": f"invalid {msg.action} response from central system"
                    }
                ) from error
        await self._send(response.to_json())
        after = handlers.get("_after_action")
        if after is not None:
            if "call_unique_id" in inspect.signature(after).parameters:
                done = after(**payload, call_unique_id=msg.unique_id)
            else:
                done = after(**payload)
            if inspect.iscoroutine(done):
                self.spawn(done)

    async def _get_specific_response(
        self, unique_id: str, timeout: float
    ) -> CallResult | CallError:
        response = await super()._get_specific_response(unique_id, timeout)
        if isinstance(response, CallError) and response.unique_id in self._tracked:
            self._tracked[response.unique_id] = response
        return response

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a background coroutine tied to this connection's lifetime."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # ---------------------------------------------- central system -> station

    async def call_outcome(self, payload: Any, timeout: float) -> CallOutcome:  # noqa: PLR0911
        """``call()`` with a normalised outcome; never raises, never hangs.

        Must run on the event loop (use ``ConnectionRegistry.call`` from
        synchronous code).
        """
        action = type(payload).__name__
        if self._connection.closed:
            return CallOutcome(CallStatus.OFFLINE, action)
        unique_id = str(self._unique_id_generator())
        self._tracked[unique_id] = None
        call_task = asyncio.ensure_future(
            self.call(payload, suppress=False, unique_id=unique_id)
        )
        closed_task = asyncio.ensure_future(self._connection.wait_closed())
        try:
            done, _ = await asyncio.wait(
                {call_task, closed_task},
                timeout=timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            closed_task.cancel()
            if not call_task.done():
                call_task.cancel()
            station_error = self._tracked.pop(unique_id, None)

        if call_task not in done:
            status = CallStatus.OFFLINE if closed_task in done else CallStatus.TIMEOUT
            return CallOutcome(status, action, unique_id=unique_id)
        exc = call_task.exception()
        if exc is None:
            return CallOutcome(
                CallStatus.ACCEPTED,
                action,
                response=call_task.result(),
                unique_id=unique_id,
            )
        if station_error is not None:
            return CallOutcome(
                CallStatus.ERROR,
                action,
                error_code=station_error.error_code,
                error_description=station_error.error_description,
                error_details=station_error.error_details,
                error_origin="station",
                unique_id=unique_id,
            )
        if isinstance(exc, TransportClosed):
            return CallOutcome(CallStatus.OFFLINE, action, unique_id=unique_id)
        if isinstance(exc, asyncio.TimeoutError):
            return CallOutcome(CallStatus.TIMEOUT, action, unique_id=unique_id)
        if isinstance(
            exc, OCPPError
        ):  # our request or the station's response failed validation
            error = to_v16_error(exc)
            return CallOutcome(
                CallStatus.ERROR,
                action,
                error_code=error.code,
                error_description=error.description,
                error_details=error.details,
                error_origin="local",
                unique_id=unique_id,
            )
        log.error("%s: %s failed", self.id, action, exc_info=exc)
        return CallOutcome(
            CallStatus.ERROR,
            action,
            error_code="InternalError",
            error_description=repr(exc),
            error_origin="local",
            unique_id=unique_id,
        )

    # ---------------------------------------------- station -> central system

    async def _delegate(
        self, action: Action, method_name: str, unique_id: str, payload: dict[str, Any]
    ) -> Any:
        ctx = CallContext(self.id, unique_id, action)
        try:
            return await get_handlers().run(
                self.handler.run_batch, StationCall(ctx, method_name, payload)
            )
        except OCPPError as error:
            raise to_v16_error(error) from error

    @on(Action.boot_notification)
    async def on_boot_notification(
        self, call_unique_id: str, **payload: Any
    ) -> call_result.BootNotification:
        result: call_result.BootNotification = await self._delegate(
            Action.boot_notification, "boot_notification", call_unique_id, payload
        )
        self.boot_status = RegistrationStatus(result.status)
        return result

    @after(Action.boot_notification)
    def after_boot_notification(self, **payload: Any) -> None:
        # Runs after the BootNotification CALLRESULT was sent; spawns the
        # GetConfiguration so the reply is never delayed by it.
        if (
            self._fetch_configuration_on_boot
            and not self._configuration_requested
            and self.boot_status != RegistrationStatus.rejected
        ):
            self._configuration_requested = True
            self.spawn(self._fetch_configuration())

    async def _fetch_configuration(self) -> None:
        outcome = await self.call_outcome(
            call.GetConfiguration(), self._configuration_timeout
        )
        try:
            await asyncio.to_thread(
                self.handler.configuration_received, self.id, outcome
            )
        except Exception:
            log.exception("%s: configuration_received handler failed", self.id)

    @on(Action.heartbeat)
    async def on_heartbeat(
        self, call_unique_id: str, **payload: Any
    ) -> call_result.Heartbeat:
        return await self._delegate(
            Action.heartbeat, "heartbeat", call_unique_id, payload
        )

    @on(Action.status_notification)
    async def on_status_notification(
        self, call_unique_id: str, **payload: Any
    ) -> call_result.StatusNotification:
        return await self._delegate(
            Action.status_notification, "status_notification", call_unique_id, payload
        )

    @on(Action.authorize)
    async def on_authorize(
        self, call_unique_id: str, **payload: Any
    ) -> call_result.Authorize:
        return await self._delegate(
            Action.authorize, "authorize", call_unique_id, payload
        )

    @on(Action.start_transaction)
    async def on_start_transaction(
        self, call_unique_id: str, **payload: Any
    ) -> call_result.StartTransaction:
        return await self._delegate(
            Action.start_transaction, "start_transaction", call_unique_id, payload
        )

    @on(Action.meter_values)
    async def on_meter_values(
        self, call_unique_id: str, **payload: Any
    ) -> call_result.MeterValues:
        return await self._delegate(
            Action.meter_values, "meter_values", call_unique_id, payload
        )

    @on(Action.stop_transaction)
    async def on_stop_transaction(
        self, call_unique_id: str, **payload: Any
    ) -> call_result.StopTransaction:
        return await self._delegate(
            Action.stop_transaction, "stop_transaction", call_unique_id, payload
        )

    @on(Action.data_transfer)
    async def on_data_transfer(
        self, call_unique_id: str, **payload: Any
    ) -> call_result.DataTransfer:
        return await self._delegate(
            Action.data_transfer, "data_transfer", call_unique_id, payload
        )

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status_notification(
        self, call_unique_id: str, **payload: Any
    ) -> call_result.DiagnosticsStatusNotification:
        return await self._delegate(
            Action.diagnostics_status_notification,
            "diagnostics_status_notification",
            call_unique_id,
            payload,
        )

    @on(Action.firmware_status_notification)
    async def on_firmware_status_notification(
        self, call_unique_id: str, **payload: Any
    ) -> call_result.FirmwareStatusNotification:
        return await self._delegate(
            Action.firmware_status_notification,
            "firmware_status_notification",
            call_unique_id,
            payload,
        )
