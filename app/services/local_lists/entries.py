"""What a station's local list should hold, what it holds, and the difference.

The list a station should hold is the tags its access policies admit
(access_policies.admitted_tags_query), each with its standing (charging.tag_standing)
and in the form the station's readers send it (tags.sent_form). A tag of an inactive
user is left out; a blocked tag stays in as Blocked, so that the station refuses it
offline too instead of trusting its authorisation cache.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import LocalListTag, RfidTag, Station, utcnow
from app.services import access_policies, charging, tags
from app.services.charging import AuthorizationStatus
from app.services.commands import LocalListEntry

Entries = dict[str, LocalListEntry]  # by the tag's key (stations compare CiString)


def entry_key(tag: str) -> str:
    """The key an entry is matched by: a station compares idTags case-insensitively."""
    return tag.upper()


def desired(station: Station, now: datetime | None = None) -> Entries:
    """Return what the station's local list should hold, by key, ordered by tag."""
    now = now or utcnow()
    notation = tags.notation_of(station)
    query = (
        access_policies.admitted_tags_query(station)
        .options(selectinload(RfidTag.parent), selectinload(RfidTag.user))
        .order_by(RfidTag.tag)
    )
    found: Entries = {}
    for tag in db.session.scalars(query):
        standing = charging.tag_standing(tag, now)
        if standing.status is AuthorizationStatus.INVALID:
            continue
        parent = tag.parent
        expiry = standing.expires_at if standing.expires_at else tag.expires_at
        entry = LocalListEntry(
            tags.sent_form(tag.tag, notation),
            standing.status.value,
            expiry,
            tags.sent_form(parent.tag, notation) if parent is not None else None,
        )
        found[entry_key(entry.tag)] = entry
    return found


def held(station_id: int) -> Entries:
    """Return the entries the portal last sent the station (and it accepted)."""
    rows = db.session.scalars(
        select(LocalListTag).where(LocalListTag.station_id == station_id)
    )
    return {
        row.tag_key: LocalListEntry(row.tag, row.status, row.expires_at, row.parent_tag)
        for row in rows
    }


def difference(want: Entries, have: Entries) -> tuple[LocalListEntry, ...]:
    """Return the Differential update that turns `have` into `want`: each new or
    changed entry as it should be, each entry to drop without a status."""
    changed = [entry for key, entry in want.items() if have.get(key) != entry]
    gone = [LocalListEntry(entry.tag) for key, entry in have.items() if key not in want]
    return tuple(changed + gone)


def store(station_id: int, entries: tuple[LocalListEntry, ...], *, full: bool) -> None:
    """Record entries the station accepted: a Full list replaces what it held, a
    Differential one changes, adds and (no status) removes entries."""
    if full:
        db.session.execute(
            delete(LocalListTag).where(LocalListTag.station_id == station_id)
        )
        keys: set[str] = set()
    else:
        keys = {entry_key(entry.tag) for entry in entries}
        if keys:
            db.session.execute(
                delete(LocalListTag).where(
                    LocalListTag.station_id == station_id,
                    LocalListTag.tag_key.in_(keys),
                )
            )
    rows = [
        {
            "station_id": station_id,
            "tag": entry.tag,
            "tag_key": entry_key(entry.tag),
            "status": entry.status,
            "expires_at": entry.expires_at,
            "parent_tag": entry.parent_tag,
        }
        for entry in entries
        if entry.status is not None
    ]
    if rows:
        db.session.execute(insert(LocalListTag), rows)
