"""ocpp_server/v201/translate.py: the names and numbers 2.0.1 uses, in the portal's."""

from __future__ import annotations

import pytest

from ocpp_server.v201 import translate


@pytest.mark.parametrize(
    ("component", "variable", "key"),
    [
        (
            {"name": "OCPPCommCtrlr"},
            {"name": "HeartbeatInterval"},
            "OCPPCommCtrlr/HeartbeatInterval",
        ),
        ({"name": "EVSE", "evse": {"id": 2}}, {"name": "Power"}, "EVSE@2/Power"),
        (
            {"name": "Connector", "evse": {"id": 1, "connector_id": 2}},
            {"name": "ConnectorType"},
            "Connector@1.2/ConnectorType",
        ),
        (
            {"name": "TokenReader", "instance": "front"},
            {"name": "Enabled", "instance": "NFC"},
            "TokenReader[front]/Enabled[NFC]",
        ),
    ],
)
def test_a_variable_key_names_its_component_and_variable_both_ways(
    component, variable, key
):
    assert translate.variable_key(component, variable) == key
    assert translate.parse_variable_key(key) == (component, variable)


@pytest.mark.parametrize("key", ["HeartbeatInterval", "/Power", "EVSE@x/Power"])
def test_a_key_naming_no_variable_is_refused(key):
    with pytest.raises(ValueError):
        translate.parse_variable_key(key)


@pytest.mark.parametrize(
    ("tag", "kind"),
    [
        ("04A1B2C3", "ISO14443"),
        ("04a1b2c3d4e5f6", "ISO14443"),
        ("APP-7F3K2Q", "Local"),
        ("3054198966", "Local"),
    ],
)
def test_a_tag_goes_to_a_station_as_the_token_type_it_looks_like(tag, kind):
    assert translate.token_type(tag) == kind


def test_no_authorization_carries_no_tag():
    assert translate.tag_of({"id_token": "", "type": "NoAuthorization"}) is None
    assert translate.tag_of({"id_token": "AB12", "type": "eMAID"}) == "AB12"


def test_a_sample_with_a_multiplier_is_scaled_to_its_unit():
    (sample,) = translate.samples(
        [
            {
                "timestamp": "2026-12-07T08:00:00Z",
                "sampled_value": [
                    {"value": 12.5, "unit_of_measure": {"unit": "kWh", "multiplier": 1}}
                ],
            }
        ]
    )
    assert (sample.value, sample.unit, sample.kwh) == (125.0, "kWh", 125.0)
