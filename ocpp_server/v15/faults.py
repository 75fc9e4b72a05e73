"""SOAP 1.2 Faults of OCPP 1.5: the error a handler raises, and the Fault on the wire."""

from __future__ import annotations

import enum
import html
import uuid
from typing import Final

from lxml import etree
from spyne import Fault

from .wsdl import SOAP12_ENV_NS, WSA_FAULT_ACTION, WSA_NS


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


def fault_parts(fault: Fault) -> tuple[str, str | None, str]:
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
    append_addressing(header, wsa_ns, WSA_FAULT_ACTION[wsa_ns], relates_to)
    body = etree.SubElement(envelope, f"{{{SOAP12_ENV_NS}}}Body")
    code = "Sender" if sender else "Receiver"
    body.append(build_fault_element(code, subcode.value, reason, "soap"))
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def append_addressing(
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
