"""The OCPP message log: every frame in and out, per station, kept for a while."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Direction, OcppMessage, Station, utcnow

MAX_PAYLOAD = 64 * 1024


def record_message(
    chargebox_id: str,
    direction: Direction,
    payload: str,
    *,
    action: str = "",
    unique_id: str = "",
    at: datetime | None = None,
) -> OcppMessage:
    """Add one message to the log (payloads beyond 64 KiB are cut)."""
    station_id = db.session.scalars(
        select(Station.id).where(Station.chargebox_id == chargebox_id)
    ).first()
    message = OcppMessage(
        station_id=station_id,
        chargebox_id=_storable(chargebox_id[:48]),
        direction=direction,
        action=_storable(action[:60]),
        unique_id=_storable(unique_id[:64]),
        payload=_storable(payload[:MAX_PAYLOAD]),
        at=at or utcnow(),
    )
    db.session.add(message)
    return message


def _storable(text: str) -> str:
    """Replace what no database can store: lone surrogates (a JSON "\\ud800" escape
    decodes to one) and NUL characters (PostgreSQL text refuses them)."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    """One frame for `record_messages`."""

    chargebox_id: str
    direction: Direction
    payload: str
    action: str
    unique_id: str
    at: datetime


class StationIds:
    """Chargebox id -> station id, remembered between batches of the message log.

    Looked up once per identity (one query per batch for the new ones). A station
    removed or re-created since makes the insert fail on its foreign key;
    `record_messages` then forgets everything and looks the ids up again.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int | None] = {}
        self._lock = threading.Lock()

    def resolve(self, chargebox_ids: Iterable[str]) -> dict[str, int | None]:
        with self._lock:
            known = dict(self._ids)
        missing = {cid for cid in chargebox_ids if cid not in known}
        if missing:
            rows = db.session.execute(
                select(Station.chargebox_id, Station.id).where(
                    Station.chargebox_id.in_(missing)
                )
            )
            found: dict[str, int] = dict(rows.all())
            fresh = {cid: found.get(cid) for cid in missing}
            known.update(fresh)
            with self._lock:
                # Unknown identities are not remembered: they may be adopted soon.
                self._ids.update({k: v for k, v in fresh.items() if v is not None})
        return known

    def forget(self) -> None:
        with self._lock:
            self._ids.clear()


def record_messages(
    messages: list[LoggedMessage], station_ids: StationIds | None = None
) -> int:
    """Add many messages to the log in one statement; return how many.

    Cheaper than `record_message` per frame: no ORM objects, station ids from
    `station_ids` (remembered across calls). The caller commits; when a station id
    turned stale (foreign key), the session is rolled back and the batch is written
    again with fresh ids, so call it in a unit of work of its own.
    """
    if not messages:
        return 0
    cache = station_ids or StationIds()
    for attempt in range(2):
        ids = cache.resolve({m.chargebox_id for m in messages})
        rows = [
            {
                "station_id": ids.get(m.chargebox_id),
                "chargebox_id": _storable(m.chargebox_id[:48]),
                "direction": m.direction,
                "action": _storable(m.action[:60]),
                "unique_id": _storable(m.unique_id[:64]),
                "payload": _storable(m.payload[:MAX_PAYLOAD]),
                "at": m.at,
            }
            for m in messages
        ]
        try:
            db.session.execute(insert(OcppMessage), rows)
            db.session.flush()
        except IntegrityError:
            if attempt:
                raise
            db.session.rollback()
            cache.forget()  # a station went away or came back under a new id
            continue
        break
    return len(messages)


def purge_messages(keep_days: int) -> int:
    """Delete log entries older than `keep_days`; return how many went."""
    cutoff = utcnow() - timedelta(days=keep_days)
    result = db.session.execute(delete(OcppMessage).where(OcppMessage.at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
