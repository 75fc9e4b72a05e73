"""Export of the tag register in the import's format (app/services/tag_files.py), so an
exported file imports unchanged; a user gets the tags he may see (access.scope)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, tzinfo
from typing import Any

from sqlalchemy import Table, select

from app.extensions import db
from app.models import RfidTag, User
from app.services import exports, user_groups
from app.services.access import scope
from app.services.tag_files import COLUMNS, chunks, yes_no

_TAGS: Table = RfidTag.__table__  # type: ignore[assignment]

HEADERS = COLUMNS


def scoped_ids(actor: User | None) -> list[int]:
    """The ids of the tags a user may see, in tag order (actor None: all; the CLI)."""
    stmt = select(RfidTag.id).order_by(RfidTag.tag_key)
    if actor is not None:
        stmt = scope(stmt, actor, RfidTag)
    return list(db.session.scalars(stmt))


def export_rows(ids: Iterable[int]) -> Iterator[list[Any]]:
    """The rows of these tags in the import's columns, in the order given; read in
    chunks (three statements per 500 tags)."""
    parent = RfidTag.__table__.alias("parent")
    ordered = list(ids)
    for chunk in chunks(ordered):
        stmt = (
            select(
                _TAGS.c.id,
                _TAGS.c.tag,
                User.email,
                parent.c.tag,
                _TAGS.c.expires_at,
                _TAGS.c.blocked,
            )
            .outerjoin(User, User.id == _TAGS.c.user_id)
            .outerjoin(parent, parent.c.id == _TAGS.c.parent_id)
            .where(_TAGS.c.id.in_(chunk))
        )
        rows = {row[0]: row for row in db.session.execute(stmt)}
        groups = user_groups.groups_of_tags(chunk)
        for id_ in chunk:
            if id_ not in rows:
                continue
            _id, tag, email, parent_tag, expires_at, blocked = rows[id_]
            yield [
                tag,
                email or "",
                parent_tag or "",
                expires_at,
                yes_no(blocked),
                "; ".join(groups.get(id_, [])),
            ]


def export_file(
    kind: str, ids: Iterable[int], *, zone: tzinfo = UTC
) -> Iterator[bytes]:
    """The tags as a CSV or .xlsx file in the import's format, streamed."""
    rows = export_rows(ids)
    if kind == "xlsx":
        return exports.stream_xlsx(HEADERS, rows, zone=zone, title="Tags")
    return exports.stream_csv(HEADERS, rows, zone=zone)
