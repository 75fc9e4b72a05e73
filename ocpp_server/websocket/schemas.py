"""The OCPP-J schemas of a version, compiled once per process by jsonschema-rs.

The ``ocpp`` library validates every payload, in and out, with jsonschema's
``Draft4Validator``, loaded lazily from the schema file on first use and cached in
``ocpp.messages._validators``. That validator costs ≈ 90 µs for a MeterValues on this
machine, more than the portal's whole database work for it in a batch; the same
schema compiled by jsonschema-rs (Rust) checks it in ≈ 1.5 µs.

:func:`install` loads every schema of a version (1.6, 2.0.1) at start-up (no file
is opened per message, which also keeps validation working when the process reaches
its open-file limit) and puts a :class:`FastValidator` in the library's cache in
front of the library's own validator:

* a payload jsonschema-rs accepts is valid;
* a payload it refuses is validated again by the library's validator, which raises
  the error it always raised, so the CALLERROR a station gets is the library's.

Formats are not checked, as the library does not check them. The three 1.6 schemas
with ``multipleOf`` stay the library's (:data:`DECIMAL_SCHEMAS`), loaded as it loads
them (2.0.1 has none).
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from typing import Any

import jsonschema_rs
from jsonschema import Draft4Validator
from ocpp import messages
from ocpp.messages import MessageType

#: What the library validates on Decimal-parsed payloads and schemas of OCPP 1.6 (its
#: ``_validate_payload``): the schemas with ``multipleOf``, where a float such as
#: 21.4 would fail "multipleOf 0.1". Its cache has one entry per schema, whichever
#: way it was parsed first, so these are loaded here the library's way.
DECIMAL_SCHEMAS = {
    (MessageType.Call, "SetChargingProfile"),
    (MessageType.Call, "RemoteStartTransaction"),
    (MessageType.CallResult, "GetCompositeSchedule"),
}

assert isinstance(getattr(messages, "_validators", None), dict), (
    "ocpp.messages._validators is gone; re-check the ocpp version"
)


class FastValidator:
    """The library's validator behind a compiled one (``validate`` only: all the
    library calls)."""

    def __init__(self, library: Draft4Validator) -> None:
        self.library = library
        self._compiled = jsonschema_rs.Draft4Validator(
            library.schema, validate_formats=False
        )

    def validate(self, instance: Any) -> None:
        try:
            valid = self._compiled.is_valid(instance)
        except (TypeError, ValueError):  # not a JSON value (e.g. a Decimal)
            valid = False
        if not valid:
            self.library.validate(instance)  # raises the library's error


def install(version: str, actions: Iterable[str]) -> int:
    """Compile every schema of the version's actions into the library's cache
    (idempotent); returns how many are compiled."""
    decimal_schemas = DECIMAL_SCHEMAS if version == "1.6" else set()
    compiled = 0
    for action in actions:
        for type_id in (MessageType.Call, MessageType.CallResult):
            if (type_id, str(action)) in decimal_schemas:
                messages.get_validator(
                    type_id, str(action), version, parse_float=decimal.Decimal
                )
                continue
            library = messages.get_validator(type_id, str(action), version)
            if not isinstance(library, FastValidator):
                key = next(k for k, v in messages._validators.items() if v is library)
                messages._validators[key] = FastValidator(library)
            compiled += 1
    return compiled
