"""The compiled OCPP 1.6 schemas decide as the library's validator does."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema.exceptions import ValidationError
from ocpp import messages
from ocpp.messages import MessageType
from ocpp.v16.enums import Action

from ocpp_server.websocket import schemas

STAMP = "2026-11-25T07:00:00Z"
SAMPLE = {"value": "1234.5", "measurand": "Energy.Active.Import.Register"}
METER = {
    "connectorId": 1,
    "meterValue": [{"timestamp": STAMP, "sampledValue": [SAMPLE]}],
}

# (action, payload): valid and invalid alike
PAYLOADS: list[tuple[str, Any]] = [
    ("MeterValues", METER),
    ("MeterValues", {**METER, "transactionId": 7}),
    ("MeterValues", {**METER, "transactionId": True}),  # a boolean is no integer
    ("MeterValues", {**METER, "connectorId": 1.0}),  # nor is 1.0 in draft 4
    ("MeterValues", {**METER, "meterValue": []}),  # minItems
    ("MeterValues", {"connectorId": 1}),  # required
    ("MeterValues", {**METER, "extra": 1}),  # additionalProperties
    ("Heartbeat", {}),
    ("Heartbeat", []),
    (
        "StatusNotification",
        {"connectorId": 1, "errorCode": "NoError", "status": "Bogus"},
    ),
    (
        "StatusNotification",
        {"connectorId": 1, "errorCode": "NoError", "status": "Faulted"},
    ),
    (
        "StartTransaction",
        {"connectorId": 1, "idTag": "x" * 21, "meterStart": 0, "timestamp": STAMP},
    ),
    (
        "StartTransaction",
        {"connectorId": 1, "idTag": "x" * 20, "meterStart": 0, "timestamp": "garbage"},
    ),
    ("Authorize", {"idTag": None}),
]


def _library(action: str) -> Any:
    validator = messages.get_validator(MessageType.Call, action, "1.6")
    return (
        validator.library if isinstance(validator, schemas.FastValidator) else validator
    )


def _outcome(validator: Any, payload: Any) -> tuple[str, str] | None:
    try:
        validator.validate(payload)
    except ValidationError as error:
        return str(error.validator), error.message
    return None


@pytest.mark.parametrize(("action", "payload"), PAYLOADS)
def test_a_compiled_schema_accepts_and_refuses_as_the_library_does(action, payload):
    schemas.install("1.6", Action)
    compiled = messages.get_validator(MessageType.Call, action, "1.6")
    assert isinstance(compiled, schemas.FastValidator)
    assert _outcome(compiled, payload) == _outcome(_library(action), payload)


def _uses_multiple_of(schema: Any) -> bool:
    if isinstance(schema, dict):
        return "multipleOf" in schema or any(map(_uses_multiple_of, schema.values()))
    if isinstance(schema, list):
        return any(map(_uses_multiple_of, schema))
    return False


def test_every_schema_is_compiled_but_those_the_library_reads_as_decimals():
    assert schemas.install("1.6", Action) == 2 * len(Action) - len(
        schemas.DECIMAL_SCHEMAS
    )
    for action in Action:
        for type_id in (MessageType.Call, MessageType.CallResult):
            validator = messages.get_validator(type_id, action.value, "1.6")
            compiled = isinstance(validator, schemas.FastValidator)
            library = validator.library if compiled else validator
            assert compiled != ((type_id, action.value) in schemas.DECIMAL_SCHEMAS)
            assert compiled != _uses_multiple_of(library.schema), action


def test_a_charging_limit_of_one_decimal_is_valid():
    """21.4 is a multiple of 0.1 only in decimal: the library's Decimal parsing
    survives the start-up compilation."""
    schemas.install("1.6", Action)
    profile = {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}],
        },
    }
    message = messages.Call(
        "u1", "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile}
    )
    messages._validate_payload(message, "1.6")  # raises if not
