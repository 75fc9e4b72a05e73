"""A request's SOAP headers (chargeBoxIdentity, WS-Addressing) and the call made of them.

`CallContext` is what every handler method gets with the payload; `CallRecord` what
dispatch leaves for the route that owns the unit of work.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from werkzeug.datastructures import Authorization

from .wsdl import WSA_2004_NS, WSA_NO_CALLBACK, WSA_NS


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
        if address and address not in WSA_NO_CALLBACK:
            return address, source
    if info.remote_addr:
        host = f"[{info.remote_addr}]" if ":" in info.remote_addr else info.remote_addr
        return f"http://{host}", CallbackSource.REMOTE_ADDR
    return None, CallbackSource.UNKNOWN


def basic_password(environ: Mapping[str, Any]) -> str | None:
    header = environ.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    auth = Authorization.from_header(header)
    if auth is None or auth.type != "basic":
        return None
    return auth.password
