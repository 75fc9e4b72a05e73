"""SOAP 1.2 machinery of OCPP 1.5: strict spyne protocol, faults, headers, dispatch.

Used by the CentralSystemService (central_system.py) and by the test suite's
simulated charge point:

* `OcppSoap12` - spyne's `Soap12`, validating each request body against the schema
  spyne generates from the WSDL-mirroring models, answering *every* error with a
  well-formed SOAP 1.2 Fault (stock spyne answers schema errors with an HTML 500,
  design.md "OCPP 1.5 over SOAP") and adding the WS-Addressing reply headers
  (`wsa:Action`, `wsa:MessageID`, `wsa:RelatesTo`).
* `OcppApplication` - a spyne `Application` carrying the handler object.
* `dispatch` - turns the spyne request model into a plain dict, calls the handler,
  turns its plain-dict answer back into the response model, and leaves a
  `CallRecord` in the WSGI environ for the caller of the WSGI app (the Flask route
  that owns the unit of work).
"""

from __future__ import annotations

import enum
import html
import logging
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, TypeVar, cast

from lxml import etree
from spyne import Application, ComplexModelBase, Fault, XmlAttribute, XmlData
from spyne.const.xml import NS_XSD
from spyne.model import SimpleModel
from spyne.model.primitive import DateTime, Unicode
from spyne.protocol.soap import Soap12
from spyne.protocol.xml import XmlDocument
from werkzeug.datastructures import Authorization

log = logging.getLogger(__name__)

CS_NS: Final = "urn://Ocpp/Cs/2012/06/"
CP_NS: Final = "urn://Ocpp/Cp/2012/06/"
SOAP12_ENV_NS: Final = "http://www.w3.org/2003/05/soap-envelope"
SOAP11_ENV_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL_SOAP12_NS: Final = "http://schemas.xmlsoap.org/wsdl/soap12/"
WSDL_NS: Final = "http://schemas.xmlsoap.org/wsdl/"
WSA_NS: Final = "http://www.w3.org/2005/08/addressing"
WSA_2004_NS: Final = "http://schemas.xmlsoap.org/ws/2004/08/addressing"

WSDL_DIR: Final = Path(__file__).resolve().parent / "wsdl"
CS_WSDL_PATH: Final = WSDL_DIR / "OCPP_CentralSystemService_1.5_final.wsdl"
CP_WSDL_PATH: Final = WSDL_DIR / "OCPP_ChargePointService_1.5_final.wsdl"

SOAP12_CONTENT_TYPE: Final = "application/soap+xml; charset=utf-8"

# Where dispatch leaves its CallRecord in the WSGI environ.
CALL_RECORD_KEY: Final = "ocpp15.call_record"

_WSA_FAULT_ACTION: Final = {
    WSA_NS: "http://www.w3.org/2005/08/addressing/soap/fault",
    WSA_2004_NS: "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault",
}
_WSA_NO_CALLBACK: Final = frozenset(
    {
        "http://www.w3.org/2005/08/addressing/anonymous",
        "http://www.w3.org/2005/08/addressing/none",
        "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous",
    }
)


class FaultSubcode(enum.StrEnum):
    """SOAP fault subcodes conventionally used by OCPP 1.5 SOAP implementations."""

    PROTOCOL_ERROR = "ProtocolError"  # Sender: malformed/invalid/unknown message
    SECURITY_ERROR = "SecurityError"  # Sender: missing/unknown chargeBoxIdentity
    IDENTITY_MISMATCH = "IdentityMismatch"  # Sender
    INTERNAL_ERROR = "InternalError"  # Receiver: our bug, database down, ...
    NOT_SUPPORTED = "NotSupported"  # Receiver


_KNOWN_SUBCODES: Final = frozenset(s.value for s in FaultSubcode)


class OcppFaultError(Exception):
    """Raise from a handler to answer with a specific SOAP Fault.

    Any *other* exception raised by a handler becomes a Receiver / InternalError
    fault with a generic reason (the details are only logged).
    """

    def __init__(
        self,
        reason: str,
        *,
        sender: bool = True,
        subcode: FaultSubcode = FaultSubcode.PROTOCOL_ERROR,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sender = sender
        self.subcode = subcode
        # True when what the handler did before refusing is meant to stay (e.g.
        # the "not registered" alarm of an unknown identity).
        self.keep_changes = keep_changes

    def to_spyne(self) -> Fault:
        """Return the spyne Fault that carries this error."""
        head = "Client." if self.sender else "Server."
        return Fault(head + self.subcode.value, self.reason)


# --------------------------------------------------------------------------- headers


@dataclass(frozen=True)
class AddressingHeaders:
    """WS-Addressing headers of a request (2005/08 or the older 2004/08 namespace)."""

    namespace: str = WSA_NS
    action: str | None = None
    message_id: str | None = None
    to: str | None = None
    from_address: str | None = None
    reply_to_address: str | None = None


class CallbackSource(enum.StrEnum):
    WSA_FROM = "wsa:From"
    WSA_REPLY_TO = "wsa:ReplyTo"
    REMOTE_ADDR = "remote_addr"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SoapRequestInfo:
    """Everything the transport knows about a request besides its body."""

    charge_box_identity: str | None
    addressing: AddressingHeaders
    remote_addr: str | None
    password: str | None = None


@dataclass(frozen=True)
class CallContext:
    """Passed to every handler method together with the request payload.

    `callback_address` is where the portal can reach the station (its
    ChargePointService endpoint): `wsa:From/wsa:Address`, else
    `wsa:ReplyTo/wsa:Address` (anonymous/none addresses are ignored), else the
    HTTP peer as `http://<ip>` - port and path unknown, as `callback_source` says.
    `password` is the HTTP Basic password, if the station sent one.
    `after_response` collects work to run once the answer has been sent (and the
    unit of work committed).
    """

    operation: str
    charge_box_identity: str
    callback_address: str | None
    callback_source: CallbackSource
    remote_addr: str | None
    message_id: str | None
    action: str | None
    password: str | None = None
    after_response: list[Callable[[], None]] = field(default_factory=list)


class CallOutcome(enum.StrEnum):
    ANSWERED = "answered"  # the handler produced an answer
    REFUSED = "refused"  # the handler refused with a fault, keeping its changes
    FAILED = "failed"  # the handler raised: nothing it did may be kept


@dataclass
class CallRecord:
    """What dispatch learned about one call, for the caller of the WSGI app."""

    context: CallContext
    outcome: CallOutcome = CallOutcome.FAILED


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    value = element.text.strip()
    return value or None


def parse_request_headers(
    header_elements: Sequence[etree._Element], identity_ns: str, remote_addr: str | None
) -> SoapRequestInfo:
    """Extract chargeBoxIdentity and WS-Addressing values, leniently.

    `chargeBoxIdentity` is matched by local name (case-insensitive), the service
    namespace preferred: stations that put it in the wrong namespace are still
    understood. `mustUnderstand` is accepted on any header.
    """
    identity: str | None = None
    identity_exact = False
    wsa_ns: str | None = None
    values: dict[str, str | None] = {}
    for element in header_elements:
        if not isinstance(element.tag, str):  # comments, PIs
            continue
        qname = etree.QName(element)
        if qname.localname.lower() == "chargeboxidentity":
            exact = qname.namespace == identity_ns
            if identity is None or (exact and not identity_exact):
                identity, identity_exact = _text(element), exact
        elif qname.namespace in (WSA_NS, WSA_2004_NS):
            wsa_ns = wsa_ns or qname.namespace
            if qname.localname in ("From", "ReplyTo"):
                address = element.find(f"{{{qname.namespace}}}Address")
                values[qname.localname] = _text(address)
            else:
                values[qname.localname] = _text(element)
    addressing = AddressingHeaders(
        namespace=wsa_ns or WSA_NS,
        action=values.get("Action"),
        message_id=values.get("MessageID"),
        to=values.get("To"),
        from_address=values.get("From"),
        reply_to_address=values.get("ReplyTo"),
    )
    return SoapRequestInfo(identity, addressing, remote_addr)


def resolve_callback(info: SoapRequestInfo) -> tuple[str | None, CallbackSource]:
    """Return where the station listens: wsa:From, else wsa:ReplyTo, else its IP."""
    for address, source in (
        (info.addressing.from_address, CallbackSource.WSA_FROM),
        (info.addressing.reply_to_address, CallbackSource.WSA_REPLY_TO),
    ):
        if address and address not in _WSA_NO_CALLBACK:
            return address, source
    if info.remote_addr:
        host = f"[{info.remote_addr}]" if ":" in info.remote_addr else info.remote_addr
        return f"http://{host}", CallbackSource.REMOTE_ADDR
    return None, CallbackSource.UNKNOWN


def _basic_password(environ: Mapping[str, Any]) -> str | None:
    header = environ.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    auth = Authorization.from_header(header)
    if auth is None or auth.type != "basic":
        return None
    return auth.password


# --------------------------------------------------------------------------- faults


def _fault_parts(fault: Fault) -> tuple[str, str | None, str]:
    """Map a spyne fault (`Client.X` / `Server.X`) to (code, subcode, reason)."""
    reason = fault.faultstring
    if isinstance(reason, bytes):  # spyne's SchemaValidationError carries bytes
        reason = html.unescape(reason.decode("ascii", "replace"))
    reason = str(reason or "Unspecified error")
    head, _, tail = str(fault.faultcode or "Server").partition(".")
    if tail == "XMLSyntaxError":
        reason = f"Malformed XML: {reason}"
    if tail == "VersionMismatch":
        return "VersionMismatch", None, reason
    # spyne-internal subcodes (XMLSyntaxError, ResourceNotFound, ...) are
    # reported as the OCPP-conventional ProtocolError / InternalError.
    if head == "Client":
        subcode = tail if tail in _KNOWN_SUBCODES else FaultSubcode.PROTOCOL_ERROR
        return "Sender", subcode, reason
    subcode = tail if tail in _KNOWN_SUBCODES else FaultSubcode.INTERNAL_ERROR
    return "Receiver", subcode, reason


def build_fault_element(
    code: str, subcode: str | None, reason: str, env_prefix: str
) -> etree._Element:
    """Build a SOAP 1.2 `env:Fault` (Code/Value[/Subcode/Value], Reason/Text)."""
    env = f"{{{SOAP12_ENV_NS}}}"
    # The prefix is bound on the Fault itself: Code/Value text is a QName.
    fault = etree.Element(f"{env}Fault", nsmap={env_prefix: SOAP12_ENV_NS})
    code_elt = etree.SubElement(fault, f"{env}Code")
    etree.SubElement(code_elt, f"{env}Value").text = f"{env_prefix}:{code}"
    if subcode:
        sub = etree.SubElement(code_elt, f"{env}Subcode")
        etree.SubElement(sub, f"{env}Value").text = subcode
    reason_elt = etree.SubElement(fault, f"{env}Reason")
    text = etree.SubElement(reason_elt, f"{env}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = reason
    return fault


def build_fault_envelope(
    reason: str,
    *,
    sender: bool,
    subcode: FaultSubcode | None = None,
    relates_to: str | None = None,
    wsa_ns: str = WSA_NS,
) -> bytes:
    """Build a standalone fault document, for errors raised outside spyne."""
    if subcode is None:
        subcode = FaultSubcode.PROTOCOL_ERROR if sender else FaultSubcode.INTERNAL_ERROR
    envelope = etree.Element(
        f"{{{SOAP12_ENV_NS}}}Envelope", nsmap={"soap": SOAP12_ENV_NS}
    )
    header = etree.SubElement(envelope, f"{{{SOAP12_ENV_NS}}}Header")
    _append_addressing(header, wsa_ns, _WSA_FAULT_ACTION[wsa_ns], relates_to)
    body = etree.SubElement(envelope, f"{{{SOAP12_ENV_NS}}}Body")
    code = "Sender" if sender else "Receiver"
    body.append(build_fault_element(code, subcode.value, reason, "soap"))
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def _append_addressing(
    header: etree._Element, wsa_ns: str, action: str, relates_to: str | None
) -> None:
    nsmap = {"wsa": wsa_ns}
    etree.SubElement(header, f"{{{wsa_ns}}}Action", nsmap=nsmap).text = action
    message_id = f"urn:uuid:{uuid.uuid4()}"
    etree.SubElement(header, f"{{{wsa_ns}}}MessageID", nsmap=nsmap).text = message_id
    if relates_to:
        etree.SubElement(
            header, f"{{{wsa_ns}}}RelatesTo", nsmap=nsmap
        ).text = relates_to


# --------------------------------------------------------------------------- protocol


def format_xsd_datetime(value: datetime) -> str:
    """Format as UTC `YYYY-MM-DDTHH:MM:SS[.mmm]Z`, the most widely parsed form."""
    value = as_utc(value)
    millis = f".{value.microsecond // 1000:03d}" if value.microsecond else ""
    return value.strftime("%Y-%m-%dT%H:%M:%S") + millis + "Z"


def as_utc(value: datetime) -> datetime:
    """Return the time in UTC; a naive time is taken to be UTC (OCPP times are)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


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
            _basic_password(environ),
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
            action = _WSA_FAULT_ACTION[wsa_ns]
        else:
            action = f"/{ctx.descriptor.operation_name}Response"
        header = ctx.out_document.find(f"{{{SOAP12_ENV_NS}}}Header")
        if header is None:
            header = etree.Element(f"{{{SOAP12_ENV_NS}}}Header")
            ctx.out_document.insert(0, header)
        relates_to = info.addressing.message_id if info else None
        _append_addressing(header, wsa_ns, action, relates_to)

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
        code, subcode, reason = _fault_parts(inst)
        prefix = next(
            (p for p, u in parent.nsmap.items() if u == SOAP12_ENV_NS and p), "soap"
        )
        parent.append(build_fault_element(code, subcode, reason, prefix))

    schema_validation_error_to_parent = fault_to_parent


_SCHEMA_ERROR_NS = re.compile(r"\{[^}]*\}")


def _clean_schema_error(message: str) -> str:
    """Return libxml2's message minus the namespace noise: "Element 'x': ..."."""
    return _SCHEMA_ERROR_NS.sub("", message).strip()


# --------------------------------------------------------------------------- dispatch


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
) -> ComplexModelBase:
    """Run `handler.<operation>(CallContext, dict) -> dict` for a spyne method.

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
    method = getattr(ctx.app.handler, handler_method_name(operation))
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


# --------------------------------------------------------------------------- conversion


def _member_type(member: Any) -> Any:
    """Unwrap XmlAttribute / XmlData to the underlying simple type."""
    if isinstance(member, type) and issubclass(member, (XmlAttribute, XmlData)):
        return cast(Any, member).type
    return member


def _is_many(member: Any) -> bool:
    return bool(_member_type(member).Attributes.max_occurs > 1)


def model_to_dict(
    cls: type[ComplexModelBase], inst: ComplexModelBase | None
) -> dict[str, Any]:
    """Turn a spyne instance into a plain dict with *every* WSDL element name as key.

    Absent optional elements are None, repeated elements are lists (maybe empty),
    nested complex types are dicts, datetimes are timezone-aware UTC.
    """
    result: dict[str, Any] = {}
    for name, member in cls.get_flat_type_info(cls).items():
        value = getattr(inst, name, None) if inst is not None else None
        mtype = _member_type(member)
        if _is_many(member):
            result[name] = [_to_plain(mtype, v) for v in (value or [])]
        else:
            result[name] = _to_plain(mtype, value)
    return result


def _to_plain(mtype: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(mtype, type) and issubclass(mtype, ComplexModelBase):
        return model_to_dict(mtype, value)
    if isinstance(value, datetime):
        return as_utc(value)
    return value


ModelT = TypeVar("ModelT", bound=ComplexModelBase)


def dict_to_model(cls: type[ModelT], data: Mapping[str, Any] | None) -> ModelT:
    """Turn a plain dict (as a handler returns it) into a spyne instance.

    Unknown keys raise ValueError (typos must not silently disappear); None
    values are omitted; enum members are sent by value. Missing required
    elements are caught by the outgoing schema validation.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise TypeError(
            f"{cls.get_type_name()}: expected a mapping, got {type(data).__name__}"
        )
    type_info = cls.get_flat_type_info(cls)
    unknown = set(data) - set(type_info)
    if unknown:
        raise ValueError(f"{cls.get_type_name()}: unknown field(s) {sorted(unknown)}")
    # customized copies warn if instantiated: build the original class
    inst = (getattr(cls, "__orig__", None) or cls)()
    for name, member in type_info.items():
        value = data.get(name)
        if value is None:
            continue
        mtype = _member_type(member)
        if _is_many(member):
            if isinstance(value, str | bytes | Mapping) or not isinstance(
                value, Sequence
            ):
                raise TypeError(f"{cls.get_type_name()}.{name}: expected a list")
            setattr(inst, name, [_from_plain(mtype, v) for v in value])
        else:
            setattr(inst, name, _from_plain(mtype, value))
    return cast(ModelT, inst)


def _from_plain(mtype: Any, value: Any) -> Any:
    if isinstance(mtype, type) and issubclass(mtype, ComplexModelBase):
        return dict_to_model(mtype, value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


# --------------------------------------------------------------------------- WSDL


@lru_cache(maxsize=32)
def wsdl_with_address(wsdl_path: Path, location: str) -> bytes:
    """Return the official WSDL, unchanged but for its soap12:address location."""
    tree = etree.parse(str(wsdl_path))
    addresses = tree.findall(
        f".//{{{WSDL_NS}}}service/{{{WSDL_NS}}}port/{{{WSDL_SOAP12_NS}}}address"
    )
    if not addresses:
        raise ValueError(f"{wsdl_path.name}: no soap12:address to rewrite")
    for address in addresses:
        address.set("location", location)
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="utf-8"))


# --------------------------------------------------------------------------- models


def simple_string(
    type_name: str,
    ns: str,
    *,
    max_len: int | None = None,
    values: Sequence[str] | None = None,
) -> Any:
    """Declare a named xs:string restriction (maxLength and/or enumeration)."""
    kwargs: dict[str, Any] = {"type_name": type_name, "__namespace__": ns}
    if max_len is not None:
        kwargs["max_len"] = max_len
    if values is not None:
        kwargs["values"] = list(values)
    return Unicode(**kwargs)


def _occurs(t: Any, min_occurs: int, max_occurs: int | str) -> Any:
    kwargs: dict[str, Any] = {
        "min_occurs": min_occurs,
        "max_occurs": max_occurs,
        "nillable": False,
    }
    if issubclass(t, SimpleModel) and t.get_namespace() != NS_XSD:
        # Keep the named simpleType: without this spyne derives an anonymous
        # "<Parent>_<field>Type" copy instead of referencing e.g. tns:IdToken.
        kwargs.update(type_name=t.get_type_name(), __namespace__=t.get_namespace())
    return t.customize(**kwargs)


def required(t: Any) -> Any:
    """Declare minOccurs=1 maxOccurs=1 (the XSD default when both are omitted)."""
    return _occurs(t, 1, 1)


def optional(t: Any) -> Any:
    """Declare minOccurs=0 maxOccurs=1."""
    return _occurs(t, 0, 1)


def repeated(t: Any, *, min_occurs: int = 0) -> Any:
    """Declare maxOccurs=unbounded."""
    return _occurs(t, min_occurs, "unbounded")
