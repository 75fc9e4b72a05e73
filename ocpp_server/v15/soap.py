"""SOAP 1.2 protocol of OCPP 1.5: spyne's Soap12, strict on input, robust on errors.

`OcppSoap12` is spyne's `Soap12`, validating each request body against the schema
spyne generates from the WSDL-mirroring models, answering *every* error with a
well-formed SOAP 1.2 Fault (stock spyne answers schema errors with an HTML 500,
design.md "OCPP 1.5 over SOAP") and adding the WS-Addressing reply headers
(`wsa:Action`, `wsa:MessageID`, `wsa:RelatesTo`). Used by the CentralSystemService
(central_system.py) and by the test suite's simulated charge point, through
dispatch.py (`OcppApplication`, `dispatch`). Its neighbours: wsdl.py (namespaces,
the WSDL files), faults.py, headers.py (chargeBoxIdentity, WS-Addressing, the call
context), models.py (spyne models <-> plain dicts).
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import datetime
from typing import Any

from lxml import etree
from spyne import Fault
from spyne.model.primitive import DateTime
from spyne.protocol.soap import Soap12
from spyne.protocol.xml import XmlDocument

from .faults import append_addressing, build_fault_element, fault_parts
from .headers import SoapRequestInfo, basic_password, parse_request_headers
from .models import as_utc
from .wsdl import SOAP11_ENV_NS, SOAP12_ENV_NS, WSA_FAULT_ACTION, WSA_NS

log = logging.getLogger(__name__)


def format_xsd_datetime(value: datetime) -> str:
    """Format as UTC `YYYY-MM-DDTHH:MM:SS[.mmm]Z`, the most widely parsed form."""
    value = as_utc(value)
    millis = f".{value.microsecond // 1000:03d}" if value.microsecond else ""
    return value.strftime("%Y-%m-%dT%H:%M:%S") + millis + "Z"


class OutgoingValidationError(Exception):
    """The handler's answer does not satisfy the WSDL schema."""


class OcppSoap12(Soap12):  # type: ignore[misc]
    """spyne's Soap12 made strict on input and robust on errors.

    * request bodies are validated with lxml against the schema spyne generates
      from the WSDL-mirroring models; responses are validated too, so a handler
      bug never reaches a station as invalid XML;
    * unknown body elements, empty bodies, SOAP 1.1 envelopes etc. become SOAP 1.2
      Faults with a clear reason;
    * every response (faults included) carries `wsa:Action`, `wsa:MessageID` and
      `wsa:RelatesTo`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("validator", "lxml")
        super().__init__(*args, **kwargs)
        self._to_unicode_handlers[DateTime] = lambda _cls, value: format_xsd_datetime(
            value
        )
        self._schema_lock = threading.Lock()  # lxml validators keep per-run error logs

    # -- input ------------------------------------------------------------------

    def decompose_incoming_envelope(
        self, ctx: Any, message: Any = XmlDocument.REQUEST
    ) -> None:
        envelope, _xmlids = ctx.in_document
        ctx.in_document = envelope
        if envelope.tag == f"{{{SOAP11_ENV_NS}}}Envelope":
            raise Fault(
                "Client.VersionMismatch",
                "SOAP 1.1 envelope received; this endpoint speaks SOAP 1.2 "
                f"({SOAP12_ENV_NS}) as declared in the OCPP 1.5 WSDL",
            )
        if envelope.tag != f"{{{SOAP12_ENV_NS}}}Envelope":
            raise Fault(
                "Client.ProtocolError",
                f"Root element must be {{{SOAP12_ENV_NS}}}Envelope, got {envelope.tag}",
            )
        header = envelope.find(f"{{{SOAP12_ENV_NS}}}Header")
        body = envelope.find(f"{{{SOAP12_ENV_NS}}}Body")
        ctx.in_header_doc = list(header) if header is not None else []
        environ = getattr(ctx.transport, "req_env", None) or {}
        info = parse_request_headers(
            ctx.in_header_doc, self.app.tns, environ.get("REMOTE_ADDR")
        )
        ctx.udc = SoapRequestInfo(
            info.charge_box_identity,
            info.addressing,
            info.remote_addr,
            basic_password(environ),
        )

        payload = (
            [e for e in body if isinstance(e.tag, str)] if body is not None else []
        )
        if not payload:
            raise Fault("Client.ProtocolError", "SOAP Body is missing or empty")
        if len(payload) > 1:
            raise Fault(
                "Client.ProtocolError", "SOAP Body must contain exactly one element"
            )
        ctx.in_body_doc = payload[0]
        ctx.method_request_string = tag = payload[0].tag
        if tag not in self.app.interface.service_method_map:
            raise Fault("Client.ProtocolError", self._unknown_operation_reason(tag))
        self.validate_body(ctx, message)

    def _unknown_operation_reason(self, tag: str) -> str:
        qname = etree.QName(tag)
        expected = sorted(
            etree.QName(k).localname
            for k in self.app.interface.service_method_map
            if etree.QName(k).namespace == self.app.tns
        )
        if qname.namespace != self.app.tns:
            return (
                f"Unknown operation: element '{qname.localname}' is in namespace "
                f"'{qname.namespace or ''}', expected '{self.app.tns}'"
            )
        return (
            f"Unknown operation: '{qname.localname}' is not a request element of "
            f"this service (expected one of: {', '.join(expected)})"
        )

    def validate_body(self, ctx: Any, message: Any) -> None:
        if self.validation_schema is None:
            return
        with self._schema_lock:
            if self.validation_schema.validate(ctx.in_body_doc):
                return
            errors = list(self.validation_schema.error_log)
        reason = "; ".join(_clean_schema_error(e.message) for e in errors[:3])
        raise Fault("Client.ProtocolError", f"Schema validation failed: {reason}")

    # -- output -----------------------------------------------------------------

    def serialize(self, ctx: Any, message: Any) -> None:
        super().serialize(ctx, message)
        if message is not self.RESPONSE:
            return
        if ctx.out_error is None and self.validation_schema is not None:
            self._validate_outgoing(ctx)
        info = ctx.udc if isinstance(ctx.udc, SoapRequestInfo) else None
        wsa_ns = info.addressing.namespace if info else WSA_NS
        if ctx.out_error is not None:
            action = WSA_FAULT_ACTION[wsa_ns]
        else:
            action = f"/{ctx.descriptor.operation_name}Response"
        header = ctx.out_document.find(f"{{{SOAP12_ENV_NS}}}Header")
        if header is None:
            header = etree.Element(f"{{{SOAP12_ENV_NS}}}Header")
            ctx.out_document.insert(0, header)
        relates_to = info.addressing.message_id if info else None
        append_addressing(header, wsa_ns, action, relates_to)

    def _validate_outgoing(self, ctx: Any) -> None:
        payload = ctx.out_body_doc[0] if len(ctx.out_body_doc) else None
        if payload is None:
            return
        with self._schema_lock:
            ok = self.validation_schema.validate(payload)
            errors = [] if ok else list(self.validation_schema.error_log)
        if errors:
            detail = "; ".join(_clean_schema_error(e.message) for e in errors[:3])
            log.error("Handler response violates the WSDL schema: %s", detail)
            # Make spyne re-serialize from scratch as a fault with HTTP 500.
            ctx.out_document = ctx.out_body_doc = None
            ctx.transport.resp_code = None
            raise OutgoingValidationError(detail)

    def fault_to_parent(
        self,
        ctx: Any,
        cls: Any,
        inst: Fault,
        parent: etree._Element,
        ns: str,
        *args: Any,
        **kw: Any,
    ) -> None:
        code, subcode, reason = fault_parts(inst)
        prefix = next(
            (p for p, u in parent.nsmap.items() if u == SOAP12_ENV_NS and p), "soap"
        )
        parent.append(build_fault_element(code, subcode, reason, prefix))

    schema_validation_error_to_parent = fault_to_parent


_SCHEMA_ERROR_NS = re.compile(r"\{[^}]*\}")


def _clean_schema_error(message: str) -> str:
    """Return libxml2's message minus the namespace noise: "Element 'x': ..."."""
    return _SCHEMA_ERROR_NS.sub("", message).strip()
