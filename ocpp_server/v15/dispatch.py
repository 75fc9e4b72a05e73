"""From a spyne method to the handler and back: the call context, the plain dicts.

`dispatch` turns the spyne request model into a plain dict, calls the handler,
turns its plain-dict answer back into the response model, and leaves a
`CallRecord` in the WSGI environ for the caller of the WSGI app (the Flask route
that owns the unit of work). `OcppApplication` is a spyne `Application` carrying
the handler object.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from spyne import Application, ComplexModelBase, Fault

from .faults import FaultSubcode, OcppFaultError
from .headers import (
    CallContext,
    CallOutcome,
    CallRecord,
    SoapRequestInfo,
    resolve_callback,
)
from .models import dict_to_model, model_to_dict
from .soap import OcppSoap12
from .wsdl import CALL_RECORD_KEY

log = logging.getLogger(__name__)


class OcppApplication(Application):  # type: ignore[misc]
    """A spyne Application that carries the handler object."""

    def __init__(
        self, services: list[type], *, tns: str, name: str, handler: object
    ) -> None:
        super().__init__(
            services,
            tns=tns,
            name=name,
            in_protocol=OcppSoap12(),
            out_protocol=OcppSoap12(),
        )
        self.handler = handler


def bare_style(ns: str, operation: str) -> dict[str, Any]:
    """Return `@rpc` kwargs for bare body style with the WSDL's lower-camel elements.

    spyne routes on the body element's QName, i.e. on `_in_message_name`;
    `_out_message_name` becomes the response element. The decorated method's name
    doubles as the operation name (used for `wsa:Action`).
    """
    element = operation[0].lower() + operation[1:]
    return {
        "_body_style": "bare",
        "_in_message_name": f"{{{ns}}}{element}Request",
        "_out_message_name": f"{{{ns}}}{element}Response",
    }


_CAMEL_RE = re.compile(r"(?<!^)(?=[A-Z])")


def handler_method_name(operation: str) -> str:
    """Return the handler method of an operation: `BootNotification` -> `boot_notification`."""
    return _CAMEL_RE.sub("_", operation).lower()


def dispatch(
    ctx: Any,
    operation: str,
    request_cls: type[ComplexModelBase] | None,
    request: ComplexModelBase | None,
    response_cls: type[ComplexModelBase],
    handler_method: str | None = None,
) -> ComplexModelBase:
    """Run `handler.<method>(CallContext, dict) -> dict` for a spyne method; the
    method is `handler_method`, else the operation's name in snake_case.

    A handler may define `fault_for(exc) -> OcppFaultError | None` to answer its
    own errors (e.g. domain errors) with a specific fault.
    """
    info: SoapRequestInfo = ctx.udc
    if not info.charge_box_identity:
        raise Fault(
            f"Client.{FaultSubcode.SECURITY_ERROR.value}",
            "Missing SOAP header 'chargeBoxIdentity' (element "
            f"{{{ctx.app.tns}}}chargeBoxIdentity is required for {operation})",
        )
    callback, source = resolve_callback(info)
    call = CallContext(
        operation=operation,
        charge_box_identity=info.charge_box_identity,
        callback_address=callback,
        callback_source=source,
        remote_addr=info.remote_addr,
        message_id=info.addressing.message_id,
        action=info.addressing.action,
        password=info.password,
    )
    record = CallRecord(call)
    environ = getattr(ctx.transport, "req_env", None)
    if environ is not None:
        environ[CALL_RECORD_KEY] = record
    payload = model_to_dict(request_cls, request) if request_cls is not None else {}
    method = getattr(ctx.app.handler, handler_method or handler_method_name(operation))
    try:
        answer = dict_to_model(response_cls, method(call, payload))
    except OcppFaultError as exc:
        if exc.keep_changes:
            record.outcome = CallOutcome.REFUSED
        raise exc.to_spyne() from exc
    except Exception as exc:
        fault_for = getattr(ctx.app.handler, "fault_for", None)
        mapped = fault_for(exc) if fault_for is not None else None
        if isinstance(mapped, OcppFaultError):
            log.info(
                "%s: OCPP 1.5 %s refused: %s",
                info.charge_box_identity,
                operation,
                mapped.reason,
            )
            raise mapped.to_spyne() from exc
        log.exception(
            "%s: OCPP 1.5 %s failed in the handler", info.charge_box_identity, operation
        )
        raise Fault(
            f"Server.{FaultSubcode.INTERNAL_ERROR.value}",
            f"Internal error while processing {operation}; please retry later",
        ) from exc
    record.outcome = CallOutcome.ANSWERED
    return answer
