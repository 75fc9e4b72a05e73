"""The central-system end of one OCPP-J connection, for any OCPP version.

``CentralSystemBase`` is an ``ocpp.charge_point.ChargePoint`` subclass; a version
(v16/central_system.py) derives from it and its own ``ocpp`` ChargePoint. Compared
to the stock library (ocpp 2.1.0) it changes how frames are routed:

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
  library's per-message costs: payload keys converted through a cache, the
  answer validated once.
* Outgoing error codes are put in the version's spelling (``ERROR_SPELLINGS``:
  OCPP 1.6 spells two codes differently from the library's 2.0.1 names).

The station->central-system actions of the version's ``HANDLERS`` table are
routed to its synchronous station handler in the process's handler threads
(:class:`~.loop.BatchExecutor`), which run the messages waiting together as one
batch (``run_batch``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, ClassVar, Protocol

from ocpp import messages
from ocpp.charge_point import (
    ChargePoint,
    _raise_key_error,
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import (
    FormatViolationError,
    InternalError,
    OCPPError,
    SecurityError,
)
from ocpp.messages import Call, CallError, CallResult, MessageType, unpack
from ocpp.routing import after, on

from . import first_contact
from .calls import (
    CallContext,
    CallOutcome,
    CallStatus,
    Payload,
    StationCall,
    Transport,
    TransportClosed,
)
from .loop import Outcome, get_handlers

log = logging.getLogger(__name__)

# Validate payloads inline: the schemas are small and cached, and the default
# (run_in_executor per message) costs two thread hops per frame.
assert hasattr(messages, "ASYNC_VALIDATION"), (
    "ocpp.messages.ASYNC_VALIDATION is gone; re-check the ocpp version"
)
messages.ASYNC_VALIDATION = False

MAX_CAUSE_LENGTH = 200


class BatchHandler(Protocol):
    """What the charge point needs of a version's station handler."""

    def run_batch(self, calls: Sequence[StationCall]) -> list[Outcome]:
        """Run the calls (of different stations) in order; one (result, None) or
        (None, exception) per call. Must not raise."""
        ...

    # Run through ``run_batch`` like a station message (a StationCall method):
    def configuration_received(self, ctx: CallContext, payload: Payload) -> None:
        """Take the answer to the first-contact call (``payload["outcome"]``);
        raising InternalError when it could not be stored now (the first-contact
        queue tries again)."""
        ...


# --------------------------------------------------------------------------
# Error helpers
# --------------------------------------------------------------------------

_CALL_HEAD = re.compile(r'^\s*\[\s*(-?\d+)\s*,\s*("(?:[^"\\]|\\.)*")')


def compact_error(
    error: OCPPError, spellings: Mapping[type[OCPPError], type[OCPPError]]
) -> OCPPError:
    """Return ``error`` spelled as ``spellings`` says, with compact details."""
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
    cls = spellings.get(type(error), type(error))
    return cls(description=error.description, details=details)


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
# The charge point of one connection, for any OCPP-J version
# --------------------------------------------------------------------------


class CentralSystemBase(ChargePoint):  # type: ignore[misc]
    """Central-system endpoint for one connected station, whatever its OCPP-J version.

    A version's class derives from this and from that version's
    ``ocpp.<version>.ChargePoint`` (which names the version's schemas), in that
    order, and says what is particular to it: :attr:`ERROR_SPELLINGS`,
    :attr:`HANDLERS` (action -> station handler method) and any ``@on``/``@after``
    method of its own.

    After the BootNotification answer was sent (``@after``, so it never delays
    it), a status in :attr:`FIRST_CONTACT_AFTER` makes the portal send the
    version's :meth:`first_contact_call` once per connection (1.6:
    GetConfiguration, 2.0.1: GetBaseReport) and hand the outcome to the
    handler's ``configuration_received``, through the process's first-contact
    queue (:mod:`.first_contact`), a few stations at a time.
    """

    _connection: Transport
    _ocpp_version: str  #: set by the version's ``ocpp`` ChargePoint ("1.6")

    #: error classes the library raises -> the version's spelling of them
    ERROR_SPELLINGS: ClassVar[Mapping[type[OCPPError], type[OCPPError]]] = {}
    #: action -> the station handler's method that answers it (in a handler thread,
    #: batched: :meth:`delegate`); an ``@on`` method of the class takes precedence
    HANDLERS: ClassVar[Mapping[str, str]] = {}
    #: BootNotification statuses after which the first-contact call is sent
    FIRST_CONTACT_AFTER: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        chargebox_id: str,
        connection: Transport,
        handler: BatchHandler,
        *,
        response_timeout: float = 300.0,
        first_contact_on_boot: bool = False,
        first_contact_timeout: float = 30.0,
    ) -> None:
        # response_timeout is only a backstop: call_outcome() enforces the
        # per-call timeout itself.
        super().__init__(chargebox_id, connection, response_timeout=response_timeout)
        self.handler = handler
        for action, method in self.HANDLERS.items():
            if "_on_action" not in self.route_map.get(action, {}):
                self.route_map.setdefault(action, {}).update(
                    _on_action=self._delegating(action, method),
                    _skip_schema_validation=False,
                )
        self._incoming: asyncio.Queue[Call | CallError] = asyncio.Queue()
        #: frames of the station that are owed an answer (queued or being handled)
        self.owed = 0
        self._background: set[asyncio.Task[Any]] = set()
        # unique ids of call_outcome() calls in flight -> CALLERROR received
        self._tracked: dict[str, CallError | None] = {}
        #: the status the portal answered the last BootNotification with
        self.boot_status: str | None = None
        self._first_contact_on_boot = first_contact_on_boot
        self._first_contact_timeout = first_contact_timeout
        self._first_contact_requested = False

    def to_wire_error(self, error: OCPPError) -> OCPPError:
        """Return ``error`` in the version's spelling, with compact details."""
        return compact_error(error, self.ERROR_SPELLINGS)

    def make_call_error(self, unique_id: str, error: OCPPError) -> CallError:
        error = self.to_wire_error(error)
        return CallError(unique_id, error.code, error.description, error.details)

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
                bad_action = FormatViolationError(
                    details={"cause": "Action must be a string"}
                )
                self._owe(self.make_call_error(msg.unique_id, bad_action))
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
                self._response_queue.put_nowait(self.make_call_error(unique_id, error))
            return
        if type_id != MessageType.Call:
            # An unknown MessageTypeId breaks the frame's structure (OCPP-J §4.1.3);
            # the library calls it PropertyConstraintViolation (1.6: FormationViolation).
            error = FormatViolationError(description="Unknown MessageTypeId")
        self._owe(self.make_call_error(unique_id, error))

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
            await self._send(self.make_call_error(item.unique_id, error).to_json())
        except TransportClosed:
            raise
        except Exception:
            log.exception("%s: error while handling %r", self.id, item)
            await self._send(
                self.make_call_error(item.unique_id, InternalError()).to_json()
            )

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
            _raise_key_error(msg.action, self._ocpp_version)
        validate = not handlers.get("_skip_schema_validation", False)
        if validate:
            messages._validate_payload(msg, self._ocpp_version)
        payload = _snake_case(msg.payload)
        result = handlers["_on_action"](**payload, call_unique_id=msg.unique_id)
        if inspect.isawaitable(result):
            result = await result
        response = msg.create_call_result(
            _camel_case(remove_nones(serialize_as_dict(result)))
        )
        if validate:
            try:
                messages._validate_payload(response, self._ocpp_version)
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
            error = self.to_wire_error(exc)
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

    @on("BootNotification")
    async def on_boot_notification(self, call_unique_id: str, **payload: Any) -> Any:
        result = await self.delegate(
            "BootNotification", "boot_notification", call_unique_id, payload
        )
        self.boot_status = result.status
        return result

    @after("BootNotification")
    def after_boot_notification(self, **payload: Any) -> None:
        if (
            self._first_contact_on_boot
            and not self._first_contact_requested
            and self.boot_status in self.FIRST_CONTACT_AFTER
        ):
            self._first_contact_requested = True
            first_contact.get_queue().submit(self.id, self._first_contact)

    def first_contact_call(self) -> Any:
        """Return the call the portal sends once after a boot (version's own)."""
        raise NotImplementedError

    async def _first_contact(self) -> bool:
        """Send the first-contact call and store its answer, in the process's
        first-contact queue (:mod:`.first_contact`: a few stations at a time);
        False when it may work later (no answer in time, the database busy)."""
        if self._connection.closed:
            return True  # the next boot asks again
        outcome = await self.call_outcome(
            self.first_contact_call(), self._first_contact_timeout
        )
        if outcome.status is CallStatus.TIMEOUT:
            return False
        ctx = CallContext(self.id, "", "configuration_received")
        try:
            await get_handlers().run(
                self.handler.run_batch,
                StationCall(ctx, "configuration_received", {"outcome": outcome}),
            )
        except SecurityError:
            return True  # removed meanwhile: nothing to store
        except InternalError as exc:
            log.warning("%s: first-contact answer not stored yet: %s", self.id, exc)
            return False
        return True

    def _delegating(
        self, action: str, method_name: str
    ) -> Callable[..., Coroutine[Any, Any, Any]]:
        async def on_action(call_unique_id: str, **payload: Any) -> Any:
            return await self.delegate(action, method_name, call_unique_id, payload)

        return on_action

    async def delegate(
        self, action: str, method_name: str, unique_id: str, payload: dict[str, Any]
    ) -> Any:
        """Have the station handler's ``method_name`` answer the CALL, in a handler
        thread, batched with the CALLs waiting next to it (:mod:`.loop`)."""
        ctx = CallContext(self.id, unique_id, action)
        try:
            return await get_handlers().run(
                self.handler.run_batch, StationCall(ctx, method_name, payload)
            )
        except OCPPError as error:
            raise self.to_wire_error(error) from error
