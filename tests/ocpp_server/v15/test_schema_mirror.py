"""The spyne models (the service's and the simulator's) mirror the official WSDLs.

For every global element of the official schema, the element of the same name
in spyne's generated schema must have a structurally identical type: element
names and order, minOccurs/maxOccurs, simple-type bases and facets
(maxLength, enumeration - in order), attributes.  Named types must keep their
WSDL names, except the documented deviations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from lxml import etree

from ocpp_server.v15 import central_system
from ocpp_server.v15.wsdl import CP_WSDL_PATH, CS_WSDL_PATH
from tests.ocpp_server.v15 import simulator

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"

# type names spyne cannot reproduce (wire format unaffected)
UNNAMED_IN_SPYNE = {
    "HeartbeatRequest",
    "ClearCacheRequest",
    "GetLocalListVersionRequest",
}
HEADER_ELEMENTS = {"chargeBoxIdentity"}  # parsed by hand from the SOAP header


def official_schema(path: Path) -> etree._Element:
    schema = etree.parse(str(path)).find(f"{{{WSDL}}}types/{{{XS}}}schema")
    assert schema is not None
    return schema


def spyne_schema(app: Any) -> etree._Element:
    schema = app.interface.docs.xml_schema.schema_dict["tns"]
    assert schema.get("targetNamespace") == app.tns
    return schema


def _resolve(
    schema: etree._Element, node: etree._Element, attr: str = "type"
) -> etree._Element | str:
    qname = etree.QName(node.get(attr) and _expand(node, node.get(attr)))
    if qname.namespace == XS:
        return f"xs:{qname.localname}"
    for kind in ("complexType", "simpleType"):
        found = schema.find(f"{{{XS}}}{kind}[@name='{qname.localname}']")
        if found is not None:
            return found
    raise AssertionError(f"type {qname} not found")


def _expand(node: etree._Element, value: str) -> str:
    prefix, _, local = value.rpartition(":")
    return f"{{{node.nsmap[prefix or None]}}}{local}"


def describe(schema: etree._Element, type_node: etree._Element | str) -> Any:
    """A comparable, name-free description of a type."""
    if isinstance(type_node, str):
        return type_node
    tag = etree.QName(type_node).localname
    if tag == "simpleType":
        restriction = type_node.find(f"{{{XS}}}restriction")
        assert restriction is not None
        facets = tuple(
            (etree.QName(f).localname, f.get("value"))
            for f in restriction
            if isinstance(f.tag, str) and etree.QName(f).localname != "annotation"
        )
        return (
            "simple",
            describe(schema, _resolve(schema, restriction, "base")),
            facets,
        )
    content = type_node.find(f"{{{XS}}}simpleContent/{{{XS}}}extension")
    if content is not None:
        attributes = tuple(
            (
                a.get("name"),
                a.get("use", "optional"),
                describe(schema, _resolve(schema, a)),
            )
            for a in content.findall(f"{{{XS}}}attribute")
        )
        return (
            "simpleContent",
            describe(schema, _resolve(schema, content, "base")),
            attributes,
        )
    elements = []
    for el in type_node.findall(f"{{{XS}}}sequence/{{{XS}}}element"):
        inline = el.find(f"{{{XS}}}complexType")
        element_type = inline if inline is not None else _resolve(schema, el)
        elements.append(
            (
                el.get("name"),
                el.get("minOccurs", "1"),
                el.get("maxOccurs", "1"),
                describe(schema, element_type),
            )
        )
    return ("complex", tuple(elements))


def global_elements(schema: etree._Element) -> dict[str, etree._Element]:
    return {e.get("name"): e for e in schema.findall(f"{{{XS}}}element")}


def named_types(schema: etree._Element) -> set[str]:
    return {
        t.get("name")
        for t in schema
        if isinstance(t.tag, str)
        and etree.QName(t).localname in ("complexType", "simpleType")
    }


CASES = [
    pytest.param(
        CS_WSDL_PATH,
        lambda: central_system.create_application(cast(Any, None)),
        id="CentralSystemService",
    ),
    pytest.param(
        CP_WSDL_PATH,
        lambda: simulator.create_application(cast(Any, None)),
        id="ChargePointService",
    ),
]


@pytest.mark.parametrize(("wsdl", "make_app"), CASES)
def test_every_element_has_an_identical_type(wsdl: Path, make_app: Any) -> None:
    official, generated = official_schema(wsdl), spyne_schema(make_app())
    theirs, ours = global_elements(official), global_elements(generated)
    for name, element in theirs.items():
        if name in HEADER_ELEMENTS:
            continue
        assert name in ours, f"element {name} missing"
        expected = describe(official, _resolve(official, element))
        assert describe(generated, _resolve(generated, ours[name])) == expected, name


@pytest.mark.parametrize(("wsdl", "make_app"), CASES)
def test_named_types_keep_their_names(wsdl: Path, make_app: Any) -> None:
    official, generated = official_schema(wsdl), spyne_schema(make_app())
    missing = named_types(official) - named_types(generated) - UNNAMED_IN_SPYNE
    assert missing == set()
    for name in named_types(official) - UNNAMED_IN_SPYNE:
        ours = generated.find(f"{{{XS}}}*[@name='{name}']")
        theirs = official.find(f"{{{XS}}}*[@name='{name}']")
        assert ours is not None and theirs is not None
        assert describe(generated, ours) == describe(official, theirs), name


@pytest.mark.parametrize(("wsdl", "make_app"), CASES)
def test_every_wsdl_operation_is_served(wsdl: Path, make_app: Any) -> None:
    app = make_app()
    tree = etree.parse(str(wsdl))
    ops = {
        o.get("name") for o in tree.findall(f"{{{WSDL}}}portType/{{{WSDL}}}operation")
    }
    served = {
        m.operation_name for ms in app.interface.service_method_map.values() for m in ms
    }
    assert served == ops
    # and each request element routes to the operation that the WSDL binds it to
    for op in tree.findall(f"{{{WSDL}}}portType/{{{WSDL}}}operation"):
        message_name = op.find(f"{{{WSDL}}}input").get("message").split(":")[1]
        part = tree.find(f"{{{WSDL}}}message[@name='{message_name}']/{{{WSDL}}}part")
        element = _expand(part, part.get("element"))
        (method,) = app.interface.service_method_map[element]
        assert method.operation_name == op.get("name")
