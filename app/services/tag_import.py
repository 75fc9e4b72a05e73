"""Bulk import and export of the tag register (issue #19 item 6).

A tag file (app/services/tag_files.py: CSV or .xlsx, columns tag, user, parent,
expiry, blocked, groups) is read, every row checked by the tag rules of
app/services/tags.py, and compared with the register:

- a tag not registered (compared case-insensitively) is *new*; a registered one is
  *changed* when a value differs, else *unchanged*; tags of the register that the
  file does not name are left as they are (an import never deletes);
- a column in the file sets its value on every row (an empty cell clears it: no
  user, no parent, no expiry, not blocked, in no group); a column left out leaves
  that value of a registered tag as it is;
- a row is refused, with its row number, column and reason, for a tag OCPP does
  not allow, a tag named twice in the file, an unknown user e-mail, a parent that
  is neither in the file nor registered (or the tag itself), an expiry that is no
  date, a blocked value that is not yes/no, or an unknown group.

`plan` is the dry run: it writes nothing and says what each row would do. `apply`
writes the whole file in the caller's transaction or, if any row is refused,
nothing at all (ImportRefused). Both read what they need in a few bulk statements
and write with executemany, so 10,000 tags take seconds (bench/tag_import.py).
Only administrators import (handing out tags is theirs, as in accounts.add_tag);
the export (app/services/tag_export.py) writes the same format.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, bindparam, delete, insert, select, update

from app.extensions import db
from app.models import (
    AuditEntry,
    RfidTag,
    Role,
    User,
    UserGroup,
    tag_key,
    user_group_tag,
    utcnow,
)
from app.services import audit, local_lists, tags
from app.services.access import require_role
from app.services.errors import InvalidInput
from app.services.tag_files import (
    TagFile,
    cell_blocked,
    cell_expiry,
    cell_groups,
    cell_text,
    chunks,
    yes_no,
)

NEW, CHANGED, UNCHANGED = "new", "changed", "unchanged"
_TAGS: Table = RfidTag.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class RowError:
    """Why one row of the file is refused."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return str(
            _l(
                "Row %(row)d, column %(column)s: %(message)s",
                row=self.row,
                column=self.column,
                message=self.message,
            )
        )


@dataclass
class RowPlan:
    """What one row of the file does to the register."""

    row: int
    tag: str
    action: str = NEW
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field: [old, new]


@dataclass
class ImportPlan:
    """The dry run of a file: every row's action, or the rows refused."""

    rows: list[RowPlan] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportRefused(InvalidInput):
    """The file has refused rows: nothing was imported."""

    def __init__(self, plan: ImportPlan) -> None:
        super().__init__(
            _l("%(n)d row(s) refused; nothing was imported.", n=len(plan.errors))
        )
        self.plan = plan


@dataclass
class _Wanted:
    """One row's values as read (None: the column is not in the file)."""

    row: int
    tag: str
    key: str
    user_id: int | None = None
    parent_key: str | None = None
    parent_text: str | None = None
    expires_at: datetime | None = None
    blocked: bool = False
    group_ids: frozenset[int] = frozenset()


@dataclass
class _Existing:
    id: int
    tag: str
    user_id: int | None
    parent_id: int | None
    expires_at: datetime | None
    blocked: bool
    group_ids: frozenset[int] = frozenset()


def _pairs(stmt: Any) -> dict[Any, Any]:
    """The first column of a two-column statement mapped to the second."""
    return {row[0]: row[1] for row in db.session.execute(stmt)}


class _Register:
    """What the file refers to, read once: users, groups, and the tags it names."""

    def __init__(self, data: TagFile) -> None:
        emails, keys = set(), set()
        for _number, cells in data.rows:
            for column in ("tag", "parent"):
                text = cell_text(data.cell(cells, column))
                with contextlib.suppress(InvalidInput):
                    keys.add(tag_key(tags.parse_input(text).stored))
            emails.add(cell_text(data.cell(cells, "user")).lower())
        self.users: dict[str, int] = {}
        for chunk in chunks(sorted(emails - {""})):
            stmt = select(User.email, User.id).where(User.email.in_(chunk))
            self.users.update(_pairs(stmt))
        self.groups: dict[str, UserGroup] = {}
        for group in db.session.scalars(select(UserGroup)):
            self.groups.setdefault(group.name.lower(), group)
            self.groups[group.name] = group  # the exact name wins
        self.tags: dict[str, _Existing] = {}
        for chunk in chunks(sorted(keys)):
            stmt = select(
                _TAGS.c.tag_key,
                _TAGS.c.id,
                _TAGS.c.tag,
                _TAGS.c.user_id,
                _TAGS.c.parent_id,
                _TAGS.c.expires_at,
                _TAGS.c.blocked,
            ).where(_TAGS.c.tag_key.in_(chunk))
            for row in db.session.execute(stmt):
                self.tags[row[0]] = _Existing(*row[1:])
        self.text_of: dict[int, str] = {row.id: row.tag for row in self.tags.values()}
        missing = sorted(
            {row.parent_id for row in self.tags.values() if row.parent_id}
            - set(self.text_of)
        )
        for chunk in chunks(missing):
            self.text_of.update(
                _pairs(select(_TAGS.c.id, _TAGS.c.tag).where(_TAGS.c.id.in_(chunk)))
            )
        by_id = {row.id: row for row in self.tags.values()}
        memberships: dict[int, set[int]] = {}
        for chunk in chunks(sorted(by_id)):
            links = select(user_group_tag.c.tag_id, user_group_tag.c.group_id).where(
                user_group_tag.c.tag_id.in_(chunk)
            )
            for tag_id, group_id in db.session.execute(links):
                memberships.setdefault(tag_id, set()).add(group_id)
        for tag_id, group_ids in memberships.items():
            by_id[tag_id].group_ids = frozenset(group_ids)
        self.email_of = {id_: email for email, id_ in self.users.items()}
        owners = sorted(
            {row.user_id for row in self.tags.values() if row.user_id}
            - set(self.email_of)
        )
        for chunk in chunks(owners):
            self.email_of.update(
                _pairs(select(User.id, User.email).where(User.id.in_(chunk)))
            )
        self.group_name = {group.id: group.name for group in self.groups.values()}


def _read_row(  # noqa: PLR0912 (one check per column)
    data: TagFile,
    number: int,
    cells: list[Any],
    register: _Register,
    zone: tzinfo,
    errors: list[RowError],
) -> _Wanted | None:
    def refuse(column: str, message: Any) -> None:
        errors.append(RowError(number, column, str(message)))

    try:
        stored = tags.parse_input(cell_text(data.cell(cells, "tag"))).stored
    except InvalidInput as exc:
        refuse("tag", exc)
        return None
    wanted = _Wanted(number, stored, tag_key(stored))
    if "user" in data.columns:
        email = cell_text(data.cell(cells, "user")).lower()
        if email:
            wanted.user_id = register.users.get(email)
            if wanted.user_id is None:
                refuse("user", _l("No user with the e-mail %(email)s.", email=email))
    if "parent" in data.columns:
        parent = cell_text(data.cell(cells, "parent"))
        if parent:
            try:
                wanted.parent_text = tags.parse_input(parent).stored
                wanted.parent_key = tag_key(wanted.parent_text)
            except InvalidInput as exc:
                refuse("parent", exc)
            if wanted.parent_key == wanted.key:
                refuse("parent", _l("A tag cannot be its own parent."))
    if "expiry" in data.columns:
        try:
            wanted.expires_at = cell_expiry(data.cell(cells, "expiry"), zone)
        except InvalidInput as exc:
            refuse("expiry", exc)
    if "blocked" in data.columns:
        try:
            wanted.blocked = cell_blocked(data.cell(cells, "blocked"))
        except InvalidInput as exc:
            refuse("blocked", exc)
    if "groups" in data.columns:
        found = set()
        for name in cell_groups(data.cell(cells, "groups")):
            group = register.groups.get(name) or register.groups.get(name.lower())
            if group is None:
                refuse("groups", _l("No group named %(name)s.", name=name))
            else:
                found.add(group.id)
        wanted.group_ids = frozenset(found)
    return wanted


def _changes(
    data: TagFile, wanted: _Wanted, old: _Existing, register: _Register
) -> dict[str, list[Any]]:
    """{field: [old, new]} of a registered tag, as a person reads them."""
    changes: dict[str, list[Any]] = {}

    def compare(column: str, before: Any, after: Any) -> None:
        if column in data.columns and before != after:
            changes[column] = [before, after]

    if "user" in data.columns and old.user_id != wanted.user_id:
        changes["user"] = [
            register.email_of.get(old.user_id) if old.user_id else None,
            register.email_of.get(wanted.user_id) if wanted.user_id else None,
        ]
    old_parent = register.text_of.get(old.parent_id) if old.parent_id else None
    if (
        "parent" in data.columns
        and (tag_key(old_parent) if old_parent else None) != wanted.parent_key
    ):
        changes["parent"] = [old_parent, wanted.parent_text]
    old_expiry = old.expires_at.replace(microsecond=0) if old.expires_at else None
    compare("expiry", audit.plain(old_expiry), audit.plain(wanted.expires_at))
    compare("blocked", yes_no(old.blocked), yes_no(wanted.blocked))
    compare(
        "groups",
        "; ".join(
            sorted(
                register.group_name[g]
                for g in old.group_ids
                if g in register.group_name
            )
        ),
        "; ".join(sorted(register.group_name[g] for g in wanted.group_ids)),
    )
    return changes


def _check(data: TagFile, zone: tzinfo) -> tuple[ImportPlan, list[_Wanted], _Register]:
    register = _Register(data)
    plan, wanted_rows = ImportPlan(), []
    first_row: dict[str, int] = {}
    for number, cells in data.rows:
        wanted = _read_row(data, number, cells, register, zone, plan.errors)
        if wanted is None:
            continue
        if wanted.key in first_row:
            plan.errors.append(
                RowError(
                    number,
                    "tag",
                    str(
                        _l(
                            "The tag %(tag)s is already in row %(row)d of the file.",
                            tag=wanted.tag,
                            row=first_row[wanted.key],
                        )
                    ),
                )
            )
            continue
        first_row[wanted.key] = number
        wanted_rows.append(wanted)
    for wanted in wanted_rows:
        key = wanted.parent_key
        if (
            key
            and key != wanted.key
            and key not in first_row
            and key not in register.tags
        ):
            plan.errors.append(
                RowError(
                    wanted.row,
                    "parent",
                    str(
                        _l(
                            "The parent %(parent)s is neither in the file nor registered.",
                            parent=key,
                        )
                    ),
                )
            )
        old = register.tags.get(wanted.key)
        if old is None:
            plan.rows.append(RowPlan(wanted.row, wanted.tag))
            continue
        changes = _changes(data, wanted, old, register)
        plan.rows.append(
            RowPlan(wanted.row, old.tag, CHANGED if changes else UNCHANGED, changes)
        )
    plan.errors.extend(_circles(data, wanted_rows, register))
    plan.errors.sort(key=lambda error: error.row)
    return plan, wanted_rows, register


def _circles(
    data: TagFile, wanted_rows: list[_Wanted], register: _Register
) -> list[RowError]:
    """Rows whose tag would be its own ancestor (A's parent B, B's parent A)."""
    parent_of: dict[str, str | None] = {
        key: tag_key(register.text_of[row.parent_id])
        if row.parent_id in register.text_of
        else None
        for key, row in register.tags.items()
    }
    if "parent" in data.columns:
        parent_of.update({w.key: w.parent_key for w in wanted_rows})
    errors = []
    for wanted in wanted_rows:
        path, key = [wanted.key], parent_of.get(wanted.key)
        while key is not None and key != wanted.key and key not in path:
            path.append(key)
            key = parent_of.get(key)
        if key == wanted.key and len(path) > 1:
            chain = " → ".join([wanted.tag, *path[1:], wanted.tag])
            errors.append(
                RowError(
                    wanted.row,
                    "parent",
                    str(_l("The parents form a circle: %(chain)s.", chain=chain)),
                )
            )
    return errors


def plan(actor: User | None, data: TagFile, *, zone: tzinfo = UTC) -> ImportPlan:
    """The dry run: what importing the file would change, row by row; writes nothing."""
    if actor is not None:
        require_role(actor, Role.ADMIN)
    return _check(data, zone)[0]


def apply(actor: User | None, data: TagFile, *, zone: tzinfo = UTC) -> ImportPlan:
    """Import the file in the caller's transaction (the caller commits): every row,
    or none (ImportRefused when a row is refused). actor None is the CLI."""
    if actor is not None:
        require_role(actor, Role.ADMIN)
    result, wanted_rows, register = _check(data, zone)
    if not result.ok:
        raise ImportRefused(result)
    actions = {row.row: row for row in result.rows}
    if any(row.action != UNCHANGED for row in result.rows):
        # Core statements bypass the ORM's hooks: the kept local lists are marked
        # here, in the same transaction, and sent one difference once it commits.
        local_lists.tags_changed(db.session())
    now = utcnow()
    new = [w for w in wanted_rows if actions[w.row].action == NEW]
    if new:
        db.session.execute(
            insert(_TAGS),
            [
                {
                    "tag": w.tag,
                    "tag_key": w.key,
                    "user_id": w.user_id,
                    "expires_at": w.expires_at,
                    "blocked": w.blocked,
                    "created_at": now,
                }
                for w in new
            ],
        )
    ids = {key: row.id for key, row in register.tags.items()}
    for chunk in chunks([w.key for w in new]):
        stmt = select(_TAGS.c.tag_key, _TAGS.c.id).where(_TAGS.c.tag_key.in_(chunk))
        ids.update(_pairs(stmt))
    parents = {w.parent_key for w in wanted_rows if w.parent_key} - set(ids)
    for chunk in chunks(sorted(parents)):
        stmt = select(_TAGS.c.tag_key, _TAGS.c.id).where(_TAGS.c.tag_key.in_(chunk))
        ids.update(_pairs(stmt))
    _write_changes(data, wanted_rows, actions, register, ids)
    _audit(actor, wanted_rows, actions, register, ids, now)
    db.session.expire_all()
    return result


def _write_changes(
    data: TagFile,
    wanted_rows: list[_Wanted],
    actions: dict[int, RowPlan],
    register: _Register,
    ids: dict[str, int],
) -> None:
    def value(w: _Wanted, column: str, new: Any, old_value: Any) -> Any:
        old = register.tags.get(w.key)
        return new if old is None or column in data.columns else old_value(old)

    touched = [w for w in wanted_rows if actions[w.row].action != UNCHANGED]
    rows = [
        {
            "_id": ids[w.key],
            "user_id": value(w, "user", w.user_id, lambda o: o.user_id),
            "parent_id": value(
                w,
                "parent",
                ids[w.parent_key] if w.parent_key else None,
                lambda o: o.parent_id,
            ),
            "expires_at": value(w, "expiry", w.expires_at, lambda o: o.expires_at),
            "blocked": value(w, "blocked", w.blocked, lambda o: o.blocked),
        }
        for w in touched
    ]
    if rows:
        stmt = (
            update(_TAGS)
            .where(_TAGS.c.id == bindparam("_id"))
            .values(
                user_id=bindparam("user_id"),
                parent_id=bindparam("parent_id"),
                expires_at=bindparam("expires_at"),
                blocked=bindparam("blocked"),
            )
        )
        db.session.execute(stmt, rows)
    if "groups" not in data.columns:
        return
    regrouped = [
        w
        for w in touched
        if actions[w.row].action == NEW or "groups" in actions[w.row].changes
    ]
    old_members = [{"_id": ids[w.key]} for w in regrouped if w.key in register.tags]
    if old_members:
        db.session.execute(
            delete(user_group_tag).where(user_group_tag.c.tag_id == bindparam("_id")),
            old_members,
        )
    members = [
        {"group_id": group_id, "tag_id": ids[w.key]}
        for w in regrouped
        for group_id in sorted(w.group_ids)
    ]
    if members:
        db.session.execute(insert(user_group_tag), members)


def _audit(
    actor: User | None,
    wanted_rows: list[_Wanted],
    actions: dict[int, RowPlan],
    register: _Register,
    ids: dict[str, int],
    now: datetime,
) -> None:
    """One audit entry per new or changed tag, written in one statement."""
    entries = []
    for w in wanted_rows:
        planned = actions[w.row]
        if planned.action == UNCHANGED:
            continue
        changes = (
            planned.changes
            if planned.action == CHANGED
            else {
                "tag": [None, w.tag],
                "user": [None, register.email_of.get(w.user_id) if w.user_id else None],
                "parent": [None, w.parent_text],
                "expiry": [None, audit.plain(w.expires_at)],
                "blocked": [None, w.blocked],
            }
        )
        entries.append(
            {
                "at": now,
                "actor_id": actor.id if actor else None,
                "actor": actor.email if actor else "system",
                "action": "create" if planned.action == NEW else "update",
                "entity": "RfidTag",
                "entity_id": ids[w.key],
                "label": planned.tag,
                "changes": {
                    k: [audit.plain(v) for v in pair] for k, pair in changes.items()
                },
                "site_id": None,
            }
        )
    if entries:
        db.session.execute(insert(AuditEntry), entries)
