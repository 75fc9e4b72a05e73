"""spyne models the WSDL way (named restrictions, occurrences) and plain dicts of them.

The message declarations (messages.py) are built with `simple_string`, `required`,
`optional` and `repeated`; dispatch turns a request model into the handler's plain
dict (`model_to_dict`) and the handler's plain answer back (`dict_to_model`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from spyne import ComplexModelBase, XmlAttribute, XmlData
from spyne.const.xml import NS_XSD
from spyne.model import SimpleModel
from spyne.model.primitive import Unicode


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


def as_utc(value: datetime) -> datetime:
    """Return the time in UTC; a naive time is taken to be UTC (OCPP times are)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
