"""On first contact the portal fetches the station's configuration table (spec §9)."""

from __future__ import annotations

from typing import Any

import pytest
from ocpp.v16 import call

from app.extensions import db
from app.models import Station
from tests.ocpp_server.v16.conftest import eventually


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "OCPP_FETCH_CONFIG_ON_BOOT": True}


def test_first_boot_fetches_the_configuration_table_after_the_reply(
    station, station_record
):
    answer = station.call(
        call.BootNotification(charge_point_vendor="ACME", charge_point_model="W")
    )
    assert answer.status == "Accepted"

    def keys() -> list[tuple[str, str | None, bool]]:
        row = db.session.get(Station, station_record.id)
        return [(k.key, k.value, k.readonly) for k in row.config_keys]

    assert eventually(keys) == [
        ("HeartbeatInterval", "300", False),
        ("NumberOfConnectors", "2", True),
    ]
    assert station.received[0][0] == "GetConfiguration"
