"""What a station's local list should hold, and which writes mark the lists pending."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models import (
    RfidTag,
    Role,
    StationLocalList,
    TagNotation,
    utcnow,
)
from app.services import local_lists, signals


def _statuses(station) -> list[tuple[str, str | None]]:
    return [(e.tag, e.status) for e in local_lists.desired(station).values()]


def _keep_list(station) -> StationLocalList:
    row = StationLocalList(station_id=station.id, version=1, pending=False)
    row.full_needed = False
    row.supported = True
    row.last_result = ""
    db.session.add(row)
    db.session.commit()
    return row


def test_the_list_holds_each_admitted_tag_with_its_standing(
    app, create_site, create_station
):
    station = create_station(create_site())
    parent = RfidTag(tag="9", blocked=True)
    db.session.add_all(
        [
            RfidTag(tag="1"),
            RfidTag(tag="2", blocked=True),
            RfidTag(tag="3", expires_at=utcnow() - timedelta(days=1)),
            RfidTag(tag="4", parent=parent),
            parent,
        ]
    )
    db.session.commit()
    assert _statuses(station) == [
        ("1", "accepted"),
        ("2", "blocked"),
        ("3", "expired"),
        ("4", "blocked"),
        ("9", "blocked"),
    ]


def test_a_tag_of_an_inactive_user_is_left_out(
    app, create_site, create_station, create_user
):
    station = create_station(create_site())
    user = create_user(Role.EV_USER, tag="1234")
    user.active = False
    db.session.commit()
    assert _statuses(station) == []


def test_the_list_holds_each_tag_as_the_stations_readers_send_it(
    app, create_site, create_station
):
    parent = RfidTag(tag="04A1B2C3D4E5F6")
    db.session.add_all([parent, RfidTag(tag="APP-7F3K2Q", parent=parent)])
    station = create_station(create_site())
    station.tag_notation = TagNotation.DECIMAL
    db.session.commit()
    decimal = str(0x04A1B2C3D4E5F6)
    assert [(e.tag, e.parent_tag) for e in local_lists.desired(station).values()] == [
        (decimal, None),
        ("APP-7F3K2Q", decimal),
    ]


def test_the_difference_names_changed_new_and_removed_tags(app):
    from app.services.commands import LocalListEntry as Entry

    have = {"A": Entry("a", "accepted"), "B": Entry("B", "accepted")}
    want = {"A": Entry("a", "blocked"), "C": Entry("C", "accepted")}
    assert local_lists.difference(want, have) == (
        Entry("a", "blocked"),
        Entry("C", "accepted"),
        Entry("B"),
    )
    assert local_lists.difference(want, want) == ()


def test_a_tag_change_marks_every_kept_list_pending_in_its_own_unit_of_work(
    app, create_site, create_station
):
    site = create_site()
    kept = _keep_list(create_station(site, "CP-1"))
    create_station(site, "CP-2")  # no list kept there
    heard: list[dict] = []

    def hear(_sender, **data):
        heard.append(data)

    with signals.tags_changed.connected_to(hear):
        db.session.add(RfidTag(tag="1"))
        db.session.add(RfidTag(tag="2"))
        db.session.flush()
        db.session.rollback()
        db.session.refresh(kept)
        assert not kept.pending and heard == []

        db.session.add(RfidTag(tag="1"))
        db.session.commit()
        db.session.refresh(kept)
    assert kept.pending
    assert heard[-1] == {"stations": 1}


def test_an_offline_station_keeps_its_difference_pending(
    app, create_site, create_station
):
    station = create_station(create_site())
    _keep_list(station)
    db.session.add(RfidTag(tag="1"))
    db.session.commit()
    assert local_lists.sync_station(station.id) == "offline"
    assert db.session.get(StationLocalList, station.id).pending
    assert local_lists.stations_to_sync() == []


def test_a_reader_notation_change_marks_the_lists_pending(
    app, create_site, create_station
):
    station = create_station(create_site())
    row = _keep_list(station)
    station.tag_notation = TagNotation.HEX
    db.session.commit()
    db.session.refresh(row)
    assert row.pending


def test_a_deleted_station_takes_its_kept_list_with_it(
    app, create_site, create_station, create_user
):
    from app.models import LocalListTag
    from app.services import topology

    admin = create_user(Role.ADMIN)
    station = create_station(create_site())
    row = _keep_list(station)
    row.entries.append(LocalListTag(tag="1", tag_key="1", status="accepted"))
    topology.delete_outlet(admin, station.outlets[0])
    db.session.commit()
    topology.delete_station(admin, station)
    db.session.commit()
    assert db.session.query(StationLocalList).count() == 0
    assert db.session.query(LocalListTag).count() == 0
