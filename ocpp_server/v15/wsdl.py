"""The OCPP 1.5 WSDLs: their files, their namespaces, the copy served with an address."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Final

from lxml import etree

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

WSA_FAULT_ACTION: Final = {
    WSA_NS: "http://www.w3.org/2005/08/addressing/soap/fault",
    WSA_2004_NS: "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault",
}
WSA_NO_CALLBACK: Final = frozenset(
    {
        "http://www.w3.org/2005/08/addressing/anonymous",
        "http://www.w3.org/2005/08/addressing/none",
        "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous",
    }
)


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
