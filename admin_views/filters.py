"""Flask-Admin filters fitted to our column types (UTC datetimes, enums stored by value)."""

from __future__ import annotations

import enum
from typing import Any

from flask_admin.contrib.sqla import filters as sqla
from flask_admin.model import filters


def _member(enum_class: type[enum.Enum] | None, value: Any) -> Any:
    """Find an enum member by value or by name; an unknown one is a bad filter value."""
    if enum_class is None or isinstance(value, enum_class):
        return value
    try:
        return enum_class(value)
    except ValueError:
        try:
            return enum_class[value]
        except KeyError:
            raise ValueError(f"unknown choice {value!r}") from None


class EnumEqual(sqla.EnumEqualFilter):
    def clean(self, value: Any) -> Any:
        return _member(self.enum_class, value)


class EnumNotEqual(sqla.EnumFilterNotEqual):
    def clean(self, value: Any) -> Any:
        return _member(self.enum_class, value)


class EnumInList(sqla.EnumFilterInList):
    def clean(self, value: Any) -> Any:
        return [
            _member(self.enum_class, v) for v in sqla.FilterInList.clean(self, value)
        ]


class EnumNotInList(sqla.EnumFilterNotInList):
    def clean(self, value: Any) -> Any:
        return [
            _member(self.enum_class, v) for v in sqla.FilterInList.clean(self, value)
        ]


class PortalFilterConverter(sqla.FilterConverter):
    """Flask-Admin's converter, knowing UTCDateTime and enums stored by their value.

    Flask-Admin looks enum filter values up by member name, so a value-stored enum
    raised KeyError (HTTP 500) on any filter value; these accept value or name and
    treat anything else as an invalid filter.
    """

    enum = (EnumEqual, EnumNotEqual, sqla.EnumFilterEmpty, EnumInList, EnumNotInList)

    @filters.convert("utcdatetime")
    def conv_utc_datetime(self, column: Any, name: str, **kwargs: Any) -> Any:
        return self.conv_datetime(column, name, **kwargs)
