"""The CentralSystemService endpoint: spyne mounted inside a Flask route.

Running spyne's WSGI app from within a Flask view (not beside Flask with
DispatcherMiddleware) gives the handler an app context (design.md "OCPP 1.5 over
SOAP"). The view owns the unit of work (style.md §5): one SOAP call, one commit
together with its message log rows; a failed call is rolled back and answered
with a SOAP 1.2 Fault, never an HTML page.

* `POST /Ocpp/CentralSystemService15` - SOAP 1.2
* `GET  /Ocpp/CentralSystemService15?wsdl` - the official WSDL, address rewritten
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, request
from spyne import const as spyne_const
from spyne.server.wsgi import WsgiApplication
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.models import Direction
from app.services.message_log import record_message
from ocpp_server.v15 import central_system
from ocpp_server.v15.faults import FaultSubcode, build_fault_envelope
from ocpp_server.v15.headers import CallOutcome, CallRecord
from ocpp_server.v15.operations import PortalCentralSystem
from ocpp_server.v15.wsdl import (
    CALL_RECORD_KEY,
    CS_WSDL_PATH,
    SOAP12_CONTENT_TYPE,
    wsdl_with_address,
)

log = logging.getLogger(__name__)

RULE = "/Ocpp/CentralSystemService15"

bp = Blueprint("ocpp15", __name__)


@lru_cache(maxsize=1)
def soap_application() -> WsgiApplication:
    """Build the spyne WSGI app once per process (it compiles the schema).

    spyne runs a full ``gc.collect()`` when a call ends, at most once a second
    (``const.MIN_GC_INTERVAL``): in a process that also holds thousands of
    WebSocket stations that is a stop of every thread for as long as the heap takes
    to walk, on every SOAP call. Python's own collector is enough; it is turned off.
    """
    spyne_const.MIN_GC_INTERVAL = math.inf
    return WsgiApplication(central_system.create_application(PortalCentralSystem()))


@bp.route(RULE, methods=["GET", "POST"])
def central_system_service() -> Response:
    """Answer a SOAP call, or serve the WSDL."""
    if request.method == "GET":
        if any(key.lower() == "wsdl" for key in request.args):
            return _wsdl()
        return Response(
            "OCPP 1.5 CentralSystemService (SOAP 1.2): POST SOAP requests here, "
            "or GET ?wsdl for the service description.\n",
            status=405,
            headers={"Allow": "POST", "Content-Type": "text/plain; charset=utf-8"},
        )
    return _answer_call()


def _wsdl() -> Response:
    location = request.url_root.rstrip("/") + request.path
    return Response(
        wsdl_with_address(CS_WSDL_PATH, location),
        content_type="text/xml; charset=utf-8",
    )


def _answer_call() -> Response:
    try:
        body = request.get_data(cache=False)
    except HTTPException as exc:  # e.g. MAX_CONTENT_LENGTH exceeded
        return _fault(str(exc.description), sender=True, status=exc.code or 400)
    if b"<!DOCTYPE" in body:
        # No OCPP message has a DTD; one only brings entity expansion ("billion
        # laughs") and external entities (file reads): refused before parsing.
        return _fault(
            "A document type declaration (DTD) is not allowed", sender=True, status=400
        )
    environ = dict(request.environ)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    try:
        status, headers, payload = _run_spyne(environ)
    except Exception:
        # spyne turns errors into faults itself; this only catches bugs in its
        # error path, which would otherwise end in Flask's HTML 500 page.
        db.session.rollback()
        log.exception("OCPP 1.5 SOAP request crashed outside spyne's error handling")
        return _fault("Internal server error", sender=False, status=500)

    record = environ.get(CALL_RECORD_KEY)
    if not isinstance(record, CallRecord) or not _keep(record, status):
        db.session.rollback()  # a fault: nothing the call did is kept
        return Response(payload, status=status, headers=headers)
    call = record.context
    try:
        for direction, text in ((Direction.IN, body), (Direction.OUT, payload)):
            record_message(
                call.charge_box_identity,
                direction,
                text.decode("utf-8", "replace"),
                action=call.operation,
                unique_id=call.message_id or "",
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("%s: %s not committed", call.charge_box_identity, call.operation)
        return _fault(
            f"Internal error while processing {call.operation}; please retry later",
            sender=False,
            status=500,
            relates_to=call.message_id,
        )
    response = Response(payload, status=status, headers=headers)
    for work in call.after_response:
        response.call_on_close(work)  # once the station has its answer
    return response


def _keep(record: CallRecord, status: str) -> bool:
    """Commit an answered call (unless its answer failed) or a deliberate refusal."""
    if record.outcome is CallOutcome.REFUSED:
        return True
    return record.outcome is CallOutcome.ANSWERED and status.startswith("200")


def _run_spyne(environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    captured: dict[str, Any] = {}

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        captured["status"], captured["headers"] = status, headers
        return lambda _data: None

    chunks: Iterable[bytes | str] = soap_application()(environ, start_response)
    try:
        payload = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return str(captured["status"]), list(captured["headers"]), payload


def _fault(
    reason: str, *, sender: bool, status: int, relates_to: str | None = None
) -> Response:
    body = build_fault_envelope(
        reason,
        sender=sender,
        subcode=FaultSubcode.PROTOCOL_ERROR if sender else FaultSubcode.INTERNAL_ERROR,
        relates_to=relates_to,
    )
    return Response(body, status=status, content_type=SOAP12_CONTENT_TYPE)
