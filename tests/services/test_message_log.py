"""app/services/message_log.py: frames written in bulk, station ids remembered."""

from __future__ import annotations

from sqlalchemy import event, select

from app.extensions import db
from app.models import Direction, OcppMessage, Station, utcnow
from app.services import message_log


def _message(chargebox_id: str, unique_id: str = "1") -> message_log.LoggedMessage:
    return message_log.LoggedMessage(
        chargebox_id, Direction.IN, '[2,"1","Heartbeat",{}]', "Heartbeat", unique_id,
        utcnow(),
    )  # fmt: skip


def _logged() -> list[tuple[str, int | None]]:
    return [
        (m.chargebox_id, m.station_id)
        for m in db.session.scalars(select(OcppMessage).order_by(OcppMessage.id))
    ]


def test_a_batch_is_stored_with_each_stations_id(create_site, create_station):
    site = create_site()
    first, second = create_station(site, "CB-1"), create_station(site, "CB-2")
    message_log.record_messages(
        [_message("CB-1"), _message("CB-2"), _message("CB-1", "2")]
    )
    db.session.commit()
    assert _logged() == [("CB-1", first.id), ("CB-2", second.id), ("CB-1", first.id)]


def test_an_unknown_identity_is_stored_without_a_station(app):
    message_log.record_messages([_message("NOBODY")])
    db.session.commit()
    assert _logged() == [("NOBODY", None)]


def test_station_ids_are_looked_up_once_per_identity(create_site, create_station):
    create_station(create_site(), "CB-1")
    ids = message_log.StationIds()
    message_log.record_messages([_message("CB-1")], ids)
    lookups: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            lookups.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        message_log.record_messages([_message("CB-1", "2")], ids)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    db.session.commit()
    assert lookups == [] and len(_logged()) == 2


def test_a_station_created_again_gets_its_new_id(create_site, create_station):
    site = create_site()
    old = create_station(site, "CB-1")
    ids = message_log.StationIds()
    message_log.record_messages([_message("CB-1")], ids)
    db.session.commit()
    for outlet in old.outlets:
        db.session.delete(outlet)
    db.session.delete(old)  # its log rows go with it (ON DELETE CASCADE)
    db.session.commit()
    new = create_station(site, "CB-1")
    message_log.record_messages([_message("CB-1", "2")], ids)
    db.session.commit()
    assert _logged() == [("CB-1", new.id)]
    assert db.session.get(Station, new.id) is not None
