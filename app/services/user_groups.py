"""User groups (spec §8 Policies): named groups of users and tags for access policies.

A group belongs to one site, managed by that site's administrators and by
administrators, or (no site) to the whole system, managed by administrators only;
site administrators see the system-wide groups and may name them in their
policies. Names are unique across the system (compared case-insensitively), so
an import names a group unambiguously (`find_group`).

Members are users (by e-mail) and tags (as registered, or typed as `0x…` /
`04:A1:…`); a tag is in a group by itself or through its user.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import (
    AccessPolicy,
    RfidTag,
    Role,
    Site,
    User,
    UserGroup,
    user_group_tag,
)
from app.services import accounts, audit, tags
from app.services.access import require_role, require_site_manager, scope
from app.services.errors import Conflict, InvalidInput

NAME_LENGTH = 80


def may_manage(user: User, site_id: int | None) -> bool:
    """Tell whether the user may change a group of this site (None: system-wide)."""
    if user.role is Role.ADMIN:
        return True
    if site_id is None or user.role is not Role.SITE_ADMIN:
        return False
    return any(site.id == site_id for site in user.sites)


def _require(actor: User | None, site_id: int | None) -> None:
    if actor is None:
        return  # the system itself (CLI, imports run by an administrator)
    if site_id is None:
        require_role(actor, Role.ADMIN)
    else:
        require_site_manager(actor, site_id)


def visible_groups(user: User) -> list[UserGroup]:
    """Return the groups the user may see, by name."""
    return list(
        db.session.scalars(scope(select(UserGroup), user).order_by(UserGroup.name))
    )


def usable_groups(user: User, site_id: int | None) -> list[UserGroup]:
    """Return the groups a policy at this site may name (its own and the system's)."""
    site_filter = (
        UserGroup.site_id.is_(None)
        if site_id is None
        else or_(UserGroup.site_id.is_(None), UserGroup.site_id == site_id)
    )
    return list(
        db.session.scalars(
            scope(select(UserGroup), user).where(site_filter).order_by(UserGroup.name)
        )
    )


def find_group(name: str) -> UserGroup | None:
    """Return the group of this name (compared case-insensitively), if any."""
    return db.session.scalars(
        select(UserGroup).where(func.lower(UserGroup.name) == name.strip().lower())
    ).first()


def _check_name(name: str, own: UserGroup | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_l("A group needs a name."))
    if len(name) > NAME_LENGTH:
        raise InvalidInput(_l("A group name has at most 80 characters."))
    taken = find_group(name)
    if taken is not None and taken is not own:
        raise Conflict(_l("A group named %(name)s already exists.", name=taken.name))
    return name


def create_group(
    actor: User | None,
    name: str,
    site: Site | None = None,
    description: str = "",
) -> UserGroup:
    """Create a group of a site (its site administrators may) or system-wide
    (administrators only)."""
    site_id = site.id if site is not None else None
    _require(actor, site_id)
    group = UserGroup(
        name=_check_name(name), site_id=site_id, description=description.strip()[:200]
    )
    db.session.add(group)
    db.session.flush()
    audit.record_create(actor, group, site_id=site_id)
    return group


def update_group(
    actor: User | None,
    group: UserGroup,
    *,
    name: str,
    description: str = "",
    site: Site | None = None,
) -> UserGroup:
    """Rename a group, change its description or its site (both sites' manager)."""
    _require(actor, group.site_id)
    site_id = site.id if site is not None else None
    if site_id != group.site_id:
        _require(actor, site_id)
        if _used_elsewhere(group, site_id):
            raise Conflict(
                _l("The group is named in policies of its site: it stays there.")
            )
    before = audit.snapshot(group)
    group.name = _check_name(name, group)
    group.description = description.strip()[:200]
    group.site_id = site_id
    db.session.flush()
    audit.record_update(actor, group, before, site_id=group.site_id)
    return group


def _used_elsewhere(group: UserGroup, site_id: int | None) -> bool:
    """Tell whether a policy outside the site names the group (a move would break it)."""
    return site_id is not None and bool(policies_naming(group))


def policies_naming(group: UserGroup) -> list[AccessPolicy]:
    """Return the policies that name the group."""
    return list(
        db.session.scalars(
            select(AccessPolicy).where(
                AccessPolicy.groups.any(UserGroup.id == group.id)
            )
        )
    )


def delete_group(actor: User | None, group: UserGroup) -> None:
    """Delete a group no policy names (a group policy without groups admits nobody)."""
    _require(actor, group.site_id)
    if policies_naming(group):
        raise Conflict(
            _l("The group %(name)s is named in an access policy.", name=group.name)
        )
    audit.record_delete(actor, group, audit.snapshot(group), site_id=group.site_id)
    db.session.delete(group)
    db.session.flush()


@dataclass(frozen=True)
class Members:
    """A group's members as a person reads and types them: e-mails and tags."""

    emails: tuple[str, ...]
    tags: tuple[str, ...]

    def lines(self) -> str:
        return "\n".join((*self.emails, *self.tags))


def members_of(group: UserGroup) -> Members:
    """Return the group's members, users by e-mail and tags as registered."""
    return Members(
        tuple(user.email for user in group.users), tuple(tag.tag for tag in group.tags)
    )


def parse_members(lines: Iterable[str]) -> tuple[list[User], list[RfidTag]]:
    """Read members typed one per line: an e-mail is a user, anything else a tag
    (as registered; `0x…` and `04:A1:…` read as the hex UID). Raises InvalidInput
    naming the first one that is neither a user nor a registered tag."""
    users: dict[int, User] = {}
    found: dict[int, RfidTag] = {}
    for raw in lines:
        text = raw.strip()
        if not text:
            continue
        if "@" in text:
            user = accounts.find_user_by_email(text)
            if user is None:
                raise InvalidInput(_l("No user has the e-mail %(email)s.", email=text))
            users[user.id] = user
            continue
        tag = tags.find_registered(tags.parse_input(text).stored)
        if tag is None:
            raise InvalidInput(_l("No tag %(tag)s is registered.", tag=text))
        found[tag.id] = tag
    return list(users.values()), list(found.values())


def set_members(
    actor: User | None, group: UserGroup, users: list[User], tag_rows: list[RfidTag]
) -> None:
    """Make these users and tags the group's members."""
    _require(actor, group.site_id)
    before = {"members": members_of(group).lines()}
    group.users = sorted(users, key=lambda user: user.email)
    group.tags = sorted(tag_rows, key=lambda tag: tag.tag)
    db.session.flush()
    after = {"members": members_of(group).lines()}
    if before != after:
        audit.record_change(
            actor, "update", group, audit.diff(before, after), site_id=group.site_id
        )


def add_tag(actor: User | None, group: UserGroup, tag: RfidTag) -> None:
    """Put a tag in a group (nothing changes if it is in it)."""
    _require(actor, group.site_id)
    if tag not in group.tags:
        group.tags.append(tag)
        db.session.flush()


def groups_of_tags(tag_ids: Iterable[int]) -> dict[int, list[str]]:
    """Return the names of the groups each tag is in by itself (not through its
    user), by tag id, in one statement (for exports)."""
    ids = list(tag_ids)
    found: dict[int, list[str]] = {tag_id: [] for tag_id in ids}
    if not ids:
        return found
    rows = db.session.execute(
        select(user_group_tag.c.tag_id, UserGroup.name)
        .join(UserGroup, UserGroup.id == user_group_tag.c.group_id)
        .where(user_group_tag.c.tag_id.in_(ids))
        .order_by(UserGroup.name)
    )
    for tag_id, name in rows:
        found[tag_id].append(name)
    return found


def set_tag_groups(actor: User | None, tag: RfidTag, names: Iterable[str]) -> None:
    """Make these named groups the ones the tag is in by itself (imports); an
    unknown name raises InvalidInput, a group the actor may not manage
    PermissionDenied. Groups the tag leaves or joins are the actor's to change."""
    wanted: dict[int, UserGroup] = {}
    for name in names:
        if not name.strip():
            continue
        group = find_group(name)
        if group is None:
            raise InvalidInput(_l("No group is named %(name)s.", name=name.strip()))
        wanted[group.id] = group
    current = {
        group.id: group
        for group in db.session.scalars(
            select(UserGroup).where(UserGroup.tags.any(RfidTag.id == tag.id))
        )
    }
    for group_id in current.keys() - wanted.keys():
        _require(actor, current[group_id].site_id)
        current[group_id].tags.remove(tag)
    for group_id in wanted.keys() - current.keys():
        _require(actor, wanted[group_id].site_id)
        wanted[group_id].tags.append(tag)
    db.session.flush()
