"""Every CALL the portal sends a 2.0.1 station passes the official 2.0.1 schema,
checked here by an independent validator: jsonschema's Draft 6 (the schemas' own
``$schema``) with date-time formats checked, on the raw frames the station got.
(The portal validates with the `ocpp` library's Draft 4 validator; this does not.)"""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path
from typing import Any

import jsonschema
import ocpp.v201
import pytest

from app.extensions import db
from app.models import WEEKDAYS, RuleKind
from app.services import commands, schedule
from app.services.nodes import NodeKind, NodeRef
from tests.ocpp_server.v201.conftest import eventually
from tests.ocpp_server.v201.test_commands import OPERATIONS
from tests.ocpp_server.v201.test_smart_charging import (  # noqa: F401 (fixtures)
    _online,
    _start,
    admin,
    site_station,
)

SCHEMAS = Path(ocpp.v201.__file__).parent / "schemas"


def _validator(action: str) -> jsonschema.Draft6Validator:
    schema = json.loads((SCHEMAS / f"{action}Request.json").read_text("utf-8-sig"))
    assert schema["$schema"] == "http://json-schema.org/draft-06/schema#"
    return jsonschema.Draft6Validator(
        schema, format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER
    )


def _calls(frames: list[str]) -> list[list[Any]]:
    return [m for m in map(json.loads, frames) if m[0] == 2]


def test_every_command_is_a_valid_201_call(station, station_record):
    for command, _action, _fields in OPERATIONS:
        assert commands.send_command(None, station_record, command).ok
    sent = _calls(station.cp.frames)
    assert {m[2] for m in sent} == {action for _c, action, _f in OPERATIONS}
    for _type, _id, action, payload in sent:
        errors = list(_validator(action).iter_errors(payload))
        assert errors == [], (action, payload, [e.message for e in errors])


def test_the_schedules_and_load_managements_profiles_are_valid_201_calls(
    connect,
    site_station,  # noqa: F811
    admin,  # noqa: F811
):
    site = NodeRef(NodeKind.SITE, site_station.site_id)
    schedule.set_capacity(admin, site, 32.0)
    db.session.commit()
    with connect(site_station.chargebox_id) as runner:
        _online(site_station)
        cap = schedule.RuleInput(
            RuleKind.CAP, days=WEEKDAYS, start=time(7), end=time(10), limit_a=16.0
        )
        schedule.add_rule(admin, site, cap)
        db.session.commit()
        _start(runner, 1, "TX-A")
        purposes = {"TxDefaultProfile", "TxProfile"}
        assert eventually(lambda: purposes <= _purposes(runner.cp.frames))
        sent = [m for m in _calls(runner.cp.frames) if m[2] == "SetChargingProfile"]
    for _type, _id, action, payload in sent:
        errors = list(_validator(action).iter_errors(payload))
        assert errors == [], (payload, [e.message for e in errors])


def _purposes(frames: list[str]) -> set[str]:
    return {
        m[3]["chargingProfile"]["chargingProfilePurpose"]
        for m in _calls(frames)
        if m[2] == "SetChargingProfile"
    }


@pytest.mark.parametrize("action", ["SetChargingProfile", "RequestStartTransaction"])
def test_the_validator_refuses_what_the_schema_refuses(action):
    """The check can fail: an unknown property and a wrong type are errors."""
    assert list(_validator(action).iter_errors({"bogus": 1}))
