"""Write the audit log: who changed which record, when, and what changed (old → new)."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any

from app.extensions import db
from app.models import AuditEntry, User

SECRET_FIELDS = frozenset(
    {
        "password_hash",
        "secret",
        "secret_hash",
        "signing_salt",
        "auth_password_hash",
        "password",
        "token_hash",
    }
)
MASK = "***"

Snapshot = dict[str, Any]


def plain(value: Any) -> Any:
    """Make a column value JSON-friendly and readable."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(str(item) for item in value)
    return value


def snapshot(obj: Any, fields: list[str] | None = None) -> Snapshot:
    """Return the audited fields of a record as plain values (secrets masked)."""
    names = fields or [column.key for column in obj.__mapper__.column_attrs]
    return {
        name: MASK if name in SECRET_FIELDS else plain(getattr(obj, name))
        for name in names
        if name not in {"id", "created_at", "updated_at"}
    }


def diff(before: Snapshot, after: Snapshot) -> dict[str, list[Any]]:
    """Return {field: [old, new]} for the fields that changed."""
    changes: dict[str, list[Any]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old != new:
            changes[name] = [old, new]
    return changes


def record_change(
    actor: User | None,
    action: str,
    obj: Any,
    changes: dict[str, list[Any]],
    *,
    site_id: int | None = None,
    secret_changed: bool = False,
) -> AuditEntry:
    """Add an audit entry; a changed secret is noted as changed, never shown."""
    if secret_changed:
        changes = {**changes, "password": [MASK, MASK]}
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        actor=actor.email if actor else "system",
        action=action,
        entity=type(obj).__name__,
        entity_id=getattr(obj, "id", None),
        label=str(obj)[:200],
        changes=changes,
        site_id=site_id,
    )
    db.session.add(entry)
    return entry


def record_create(
    actor: User | None, obj: Any, *, site_id: int | None = None
) -> AuditEntry:
    """Audit a created record with all its fields as new values."""
    db.session.flush()
    return record_change(actor, "create", obj, diff({}, snapshot(obj)), site_id=site_id)


def record_update(
    actor: User | None, obj: Any, before: Snapshot, *, site_id: int | None = None
) -> AuditEntry | None:
    """Audit the fields of a record changed since `before`; nothing when none did."""
    changes = diff(before, snapshot(obj))
    if not changes:
        return None
    return record_change(actor, "update", obj, changes, site_id=site_id)


def record_delete(
    actor: User | None, obj: Any, before: Snapshot, *, site_id: int | None = None
) -> AuditEntry:
    """Audit a deleted record with all its fields as old values."""
    return record_change(actor, "delete", obj, diff(before, {}), site_id=site_id)
