"""Local lists over a real OCPP 1.6 station: the portal sends what changed."""

from __future__ import annotations

import time
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from app.extensions import db
from app.models import RfidTag, Role, Station, StationLocalList
from app.services import background, local_lists, station_control
from tests.ocpp_server.v16.conftest import eventually
from tests.ocpp_server.v16.station import SimulatedStation

IMPORT_HEADER = "tag,user e-mail,parent,expiry,blocked,groups\n"
BOOT = call.BootNotification(charge_point_vendor="ACME", charge_point_model="W")


@pytest.fixture
def admin(create_user):
    return create_user(Role.ADMIN)


def _tags(*texts: str) -> list[RfidTag]:
    rows = [RfidTag(tag=text) for text in texts]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def _block(text: str) -> None:
    tag = db.session.query(RfidTag).filter_by(tag=text).one()
    tag.blocked = True
    db.session.commit()


def _lists(station) -> list[dict[str, Any]]:
    return [p for name, p in station.received if name == "SendLocalList"]


def _differential(station) -> list[dict[str, Any]]:
    return [p for p in _lists(station) if p["update_type"] == "Differential"]


def _row(station_record) -> StationLocalList:
    db.session.rollback()
    return db.session.get(StationLocalList, station_record.id)


def _quiet() -> None:
    """Let the coalesced rounds and their syncs finish."""
    time.sleep(0.3)
    background.wait_idle()


def test_a_station_sent_its_list_gets_a_blocked_tag_as_a_differential_update(
    station, station_record, admin
):
    _tags("04A1B2C3D4E5F6", "APP-7F3K2Q")
    result = station_control.send_local_list(admin, station_record)
    assert result.ok, result
    (full,) = _lists(station)
    assert full["update_type"] == "Full"
    assert [e["id_tag"] for e in full["local_authorization_list"]] == [
        "04A1B2C3D4E5F6",
        "APP-7F3K2Q",
    ]

    _block("APP-7F3K2Q")

    assert eventually(lambda: _differential(station))
    (update,) = _differential(station)
    assert update["list_version"] == full["list_version"] + 1
    assert update["local_authorization_list"] == [
        {"id_tag": "APP-7F3K2Q", "id_tag_info": {"status": "Blocked"}}
    ]
    assert eventually(lambda: _row(station_record).version == update["list_version"])


def test_a_deleted_tag_is_removed_and_a_new_one_added_as_accepted(
    station, station_record, admin
):
    (old,) = _tags("1111")
    station_control.send_local_list(admin, station_record)
    db.session.delete(old)
    db.session.add(RfidTag(tag="2222"))
    db.session.commit()

    assert eventually(lambda: _differential(station))
    (update,) = _differential(station)
    assert update["local_authorization_list"] == [
        {"id_tag": "2222", "id_tag_info": {"status": "Accepted"}},
        {"id_tag": "1111"},
    ]


def test_an_offline_station_gets_the_difference_after_its_next_accepted_boot(
    connect, station_record, admin
):
    _tags("1111", "2222")
    with connect(station_record.chargebox_id) as first:
        station_control.send_local_list(admin, station_record)
        (full,) = _lists(first)
    assert eventually(lambda: not db.session.get(Station, station_record.id).online)

    _block("2222")
    _quiet()
    assert _row(station_record).pending

    with connect(station_record.chargebox_id) as again:
        again.cp.answers["GetLocalListVersion"] = call_result.GetLocalListVersion(
            list_version=full["list_version"]
        )
        assert again.call(BOOT).status == "Accepted"
        assert eventually(lambda: _differential(again))
        assert again.cp.names()[:2] == ["GetLocalListVersion", "SendLocalList"]
        (update,) = _differential(again)
        assert update["local_authorization_list"] == [
            {"id_tag": "2222", "id_tag_info": {"status": "Blocked"}}
        ]
    assert not _row(station_record).pending


def test_a_station_that_reports_another_version_after_a_boot_gets_the_whole_list(
    station, station_record, admin
):
    _tags("1111")
    station_control.send_local_list(admin, station_record)
    station.cp.answers["GetLocalListVersion"] = call_result.GetLocalListVersion(
        list_version=0
    )  # e.g. after a factory reset
    assert station.call(BOOT).status == "Accepted"
    assert eventually(lambda: len(_lists(station)) == 2)
    assert _lists(station)[1]["update_type"] == "Full"


class LosesCount(SimulatedStation):
    """Refuses every Differential update as out of step; takes a Full list."""

    @on(Action.send_local_list)
    async def on_SendLocalList(self, **payload: Any) -> Any:
        self.received.append(("SendLocalList", payload))
        mismatch = payload["update_type"] == "Differential"
        return call_result.SendLocalList(
            status="VersionMismatch" if mismatch else "Accepted"
        )


def test_a_version_mismatch_is_answered_with_the_whole_list(
    connect, station_record, admin
):
    _tags("1111", "2222")
    with connect(station_record.chargebox_id, station_class=LosesCount) as station:
        station_control.send_local_list(admin, station_record)
        _block("1111")
        assert eventually(lambda: len(_lists(station)) == 3)
        kinds = [p["update_type"] for p in _lists(station)]
        assert kinds == ["Full", "Differential", "Full"]
        last = _lists(station)[-1]
        assert last["list_version"] > _lists(station)[0]["list_version"]
        assert {"id_tag": "1111", "id_tag_info": {"status": "Blocked"}} in last[
            "local_authorization_list"
        ]
        assert eventually(lambda: not _row(station_record).full_needed)


def test_a_burst_of_changes_reaches_the_station_as_one_or_two_updates(
    station, station_record, admin
):
    texts = [f"{n:04d}" for n in range(1, 41)]
    _tags(*texts)
    station_control.send_local_list(admin, station_record)
    for text in texts:  # forty units of work, one after the other
        _block(text)

    def all_blocked() -> bool:
        return {
            e.tag
            for e in local_lists.held(station_record.id).values()
            if e.status == "blocked"
        } == set(texts)

    assert eventually(all_blocked)
    _quiet()
    updates = _differential(station)
    assert 1 <= len(updates) <= 2
    assert sum(len(u["local_authorization_list"]) for u in updates) == 40


def test_a_long_difference_goes_in_parts_the_station_takes(
    station, station_record, admin
):
    from app.services import stations

    stations.store_configuration(
        station_record, [stations.ConfigKey("SendLocalListMaxLength", "3", True)]
    )
    db.session.commit()
    _tags(*[f"{n:04d}" for n in range(1, 8)])
    station_control.send_local_list(admin, station_record)
    sizes = [
        (p["update_type"], len(p["local_authorization_list"])) for p in _lists(station)
    ]
    assert sizes == [("Full", 3), ("Differential", 3), ("Differential", 1)]
    versions = [p["list_version"] for p in _lists(station)]
    assert versions == [versions[0], versions[0] + 1, versions[0] + 2]
    assert len(local_lists.held(station_record.id)) == 7


def test_a_station_without_local_lists_is_remembered_and_skipped(
    station, station_record, admin
):
    _tags("1111")
    station.cp.answers["SendLocalList"] = call_result.SendLocalList(
        status="NotSupported"
    )
    result = station_control.send_local_list(admin, station_record)
    assert not result.ok
    assert not _row(station_record).supported

    _block("1111")
    _quiet()
    assert len(_lists(station)) == 1


def test_a_station_whose_feature_profiles_lack_local_lists_is_sent_nothing(
    station, station_record, admin
):
    from app.services import stations

    _tags("1111")
    station_control.send_local_list(admin, station_record)
    stations.store_configuration(
        station_record,
        [stations.ConfigKey("SupportedFeatureProfiles", "Core,SmartCharging", True)],
    )
    db.session.commit()
    _block("1111")
    _quiet()
    assert len(_lists(station)) == 1
    assert not _row(station_record).supported


def test_the_version_the_station_reports_is_remembered(station, station_record, admin):
    _tags("1111")
    station_control.send_local_list(admin, station_record)
    result = station_control.fetch_local_list_version(admin, station_record)
    assert result.data["version"] == 7
    assert _row(station_record).station_version == 7


def test_a_new_member_of_a_group_reaches_the_stations_of_its_policy(
    station, station_record, admin, create_user
):
    from app.models import AccessRule
    from app.services import access_policies, user_groups

    member = create_user(Role.EV_USER, tag="04A1B2C3D4E5F6")
    newcomer = create_user(Role.EV_USER, tag="APP-7F3K2Q")
    group = user_groups.create_group(None, "Fleet cars", station_record.site)
    user_groups.set_members(None, group, [member], [])
    access_policies.set_policy(None, station_record, AccessRule.GROUPS, [group.id])
    db.session.commit()
    station_control.send_local_list(admin, station_record)
    (full,) = _lists(station)
    assert [e["id_tag"] for e in full["local_authorization_list"]] == ["04A1B2C3D4E5F6"]

    user_groups.set_members(None, group, [member, newcomer], [])
    db.session.commit()

    assert eventually(lambda: _differential(station))
    (update,) = _differential(station)
    assert update["local_authorization_list"] == [
        {"id_tag": "APP-7F3K2Q", "id_tag_info": {"status": "Accepted"}}
    ]


def test_an_import_of_thousands_of_tags_reaches_the_station_as_one_difference(
    station, station_record, admin
):
    from app.services import tag_files, tag_import

    _tags("0001")
    station_control.send_local_list(admin, station_record)
    body = "".join(f"T{n:05d},,,,{'yes' if n == 7 else ''},\n" for n in range(2_000))
    data = tag_files.read("tags.csv", (IMPORT_HEADER + body).encode())
    tag_import.apply(None, data)
    db.session.commit()

    assert eventually(lambda: _differential(station), timeout=30)
    _quiet()
    (update,) = _differential(station)
    entries = update["local_authorization_list"]
    assert len(entries) == 2_000  # 10,000: one difference too (README)
    assert {"id_tag": "T00007", "id_tag_info": {"status": "Blocked"}} in entries


def test_the_periodic_job_sends_what_a_refusing_station_did_not_take(
    station, station_record, admin
):
    _tags("1111")
    station_control.send_local_list(admin, station_record)
    station.cp.answers["SendLocalList"] = call_result.SendLocalList(status="Failed")
    _block("1111")
    assert eventually(lambda: len(_lists(station)) == 3)  # Differential, then Full
    _quiet()
    assert _row(station_record).pending

    del station.cp.answers["SendLocalList"]
    assert local_lists.sync_pending() == [station_record.id]
    assert _lists(station)[-1]["update_type"] == "Full"
    row = _row(station_record)
    assert not row.pending and not row.full_needed
    assert local_lists.held(station_record.id)["1111"].status == "blocked"
