"""Access policies (spec §8 Policies, §9): who may charge at an outlet, and why.

A policy hangs on a site, floor, station or outlet (app/models/policies.py); an
outlet follows the nearest node above it that has one (outlet → station → floor →
site), and above them all the system default (`SystemSettings.default_access`),
as the schedule's rules are inherited (schedule.rules.chain). Every answer says
where the rule came from.

- OPEN admits anyone, also without a tag (an anonymous session);
- KNOWN admits a known tag that is valid (not blocked, not expired, its user
  active: charging._check_tag decides validity);
- GROUPS admits a valid tag that is itself, or whose user is, a member of one of
  the policy's groups.

A station's policies cost one statement (`station_policies`); a GROUPS check one
more (`is_member`). For local authorisation lists, `admitted_tags(station)` says
which tags a station admits (the union over its outlets).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, or_, select, union_all
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    AccessPolicy,
    AccessRule,
    Floor,
    Outlet,
    RfidTag,
    Role,
    Site,
    Station,
    User,
    UserGroup,
    access_policy_group,
    user_group_tag,
    user_group_user,
)
from app.services import audit
from app.services.access import (
    may_manage_site,
    require_role,
    require_site_manager,
    scope,
)
from app.services.errors import InvalidInput
from app.services.nodes import SYSTEM, NodeKind, NodeRef, load_node, station_condition
from app.services.schedule.rules import chain, node_label, site_of
from app.services.topology import get_settings

#: The rules a system default may be: GROUPS needs a node whose groups it names.
DEFAULT_RULES = (AccessRule.OPEN, AccessRule.KNOWN)
RULE_WORDS = {
    AccessRule.OPEN: _l("Open to anyone"),
    AccessRule.KNOWN: _l("Any known tag"),
    AccessRule.GROUPS: _l("Members of chosen groups"),
}

_NODE_COLUMNS = {
    NodeKind.SITE: "site_id",
    NodeKind.FLOOR: "floor_id",
    NodeKind.STATION: "station_id",
    NodeKind.OUTLET: "outlet_id",
}
# Built once: every Authorize and StartTransaction reads its station's policies.
_POLICIES_ON = (
    select(
        AccessPolicy.site_id,
        AccessPolicy.floor_id,
        AccessPolicy.station_id,
        AccessPolicy.outlet_id,
        AccessPolicy.rule,
        access_policy_group.c.group_id,
    )
    .outerjoin(access_policy_group, access_policy_group.c.policy_id == AccessPolicy.id)
    .where(
        or_(
            *(
                getattr(AccessPolicy, column).in_(bindparam(column, expanding=True))
                for column in _NODE_COLUMNS.values()
            )
        )
    )
)
_MEMBER = union_all(
    select(user_group_tag.c.group_id).where(
        user_group_tag.c.tag_id == bindparam("tag_id"),
        user_group_tag.c.group_id.in_(bindparam("groups", expanding=True)),
    ),
    select(user_group_user.c.group_id).where(
        user_group_user.c.user_id == bindparam("user_id"),
        user_group_user.c.group_id.in_(bindparam("groups", expanding=True)),
    ),
).limit(1)


@dataclass(frozen=True)
class EffectivePolicy:
    """The rule that applies at a node and where it was set (SYSTEM: the default)."""

    rule: AccessRule
    source: NodeRef = SYSTEM
    group_ids: tuple[int, ...] = field(default=())

    @property
    def inherited_from_system(self) -> bool:
        return self.source == SYSTEM


@dataclass(frozen=True)
class _Row:
    rule: AccessRule
    group_ids: tuple[int, ...]


def _rows_on(refs: Iterable[NodeRef]) -> dict[NodeRef, _Row]:
    """The policies set on these nodes (one statement), by node."""
    ids: dict[str, list[int | None]] = {c: [] for c in _NODE_COLUMNS.values()}
    for ref in refs:
        if ref.kind in _NODE_COLUMNS:
            ids[_NODE_COLUMNS[ref.kind]].append(ref.id)
    if not any(ids.values()):
        return {}
    rules: dict[NodeRef, AccessRule] = {}
    groups: dict[NodeRef, list[int]] = {}
    with db.session.no_autoflush:
        rows = db.session.execute(_POLICIES_ON, ids).all()
    for site_id, floor_id, station_id, outlet_id, rule, group_id in rows:
        ref = _ref_of(site_id, floor_id, station_id, outlet_id)
        rules[ref] = rule
        if group_id is not None:
            groups.setdefault(ref, []).append(group_id)
    return {
        ref: _Row(rule, tuple(sorted(groups.get(ref, ()))))
        for ref, rule in rules.items()
    }


def _ref_of(*ids: int | None) -> NodeRef:
    for kind, ident in zip(_NODE_COLUMNS, ids, strict=True):
        if ident is not None:
            return NodeRef(kind, ident)
    return SYSTEM


def _resolve(refs: Sequence[NodeRef], found: dict[NodeRef, _Row]) -> EffectivePolicy:
    for ref in refs:  # nearest first
        row = found.get(ref)
        if row is not None:
            return EffectivePolicy(row.rule, ref, row.group_ids)
    return EffectivePolicy(get_settings().default_access)


def station_policies(station: Station) -> dict[int, EffectivePolicy]:
    """Return the effective policy of each of the station's outlets, by outlet
    number, read in one statement."""
    outlets = list(station.outlets)
    chains = {outlet.number: chain(outlet) for outlet in outlets}
    found = _rows_on({ref for refs in chains.values() for ref in refs})
    return {number: _resolve(refs, found) for number, refs in chains.items()}


def node_policy(node: Site | Floor | Station | Outlet | None) -> EffectivePolicy:
    """Return the policy in force at a node (None: the system) and where it is set."""
    if node is None:
        return EffectivePolicy(get_settings().default_access)
    refs = chain(node)
    return _resolve(refs, _rows_on(refs))


def own_policy(node: Site | Floor | Station | Outlet) -> AccessPolicy | None:
    """Return the policy set on this very node, if any (not an inherited one)."""
    ref = chain(node)[0]
    column = getattr(AccessPolicy, _NODE_COLUMNS[ref.kind])
    return db.session.scalars(select(AccessPolicy).where(column == ref.id)).first()


def is_member(tag: RfidTag, group_ids: Sequence[int]) -> bool:
    """Tell whether the tag, or its user, is in one of the groups (one statement)."""
    if not group_ids:
        return False
    with db.session.no_autoflush:
        found = db.session.execute(
            _MEMBER,
            {"tag_id": tag.id, "user_id": tag.user_id or -1, "groups": list(group_ids)},
        ).first()
    return found is not None


def admits(policy: EffectivePolicy, tag: RfidTag | None) -> bool:
    """Tell whether the policy admits this valid tag (None: no tag, or an unknown
    or invalid one)."""
    if policy.rule is AccessRule.OPEN:
        return True
    if tag is None:
        return False
    if policy.rule is AccessRule.KNOWN:
        return True
    return is_member(tag, policy.group_ids)


def describe(policy: EffectivePolicy) -> str:
    """Say the policy and where it is set: "Members of Fleet cars (site Solna)"."""
    names: dict[int, str] = {}
    if policy.group_ids:
        names = dict(
            db.session.execute(
                select(UserGroup.id, UserGroup.name).where(
                    UserGroup.id.in_(policy.group_ids)
                )
            ).all()
        )
    return _words(policy, names)


def source_label(source: NodeRef) -> str:
    """Say where a policy is set: "system default", "site Solna", …"""
    if source == SYSTEM:
        return str(_l("system default"))
    kinds = {
        NodeKind.SITE: _l("site"),
        NodeKind.FLOOR: _l("floor"),
        NodeKind.STATION: _l("station"),
        NodeKind.OUTLET: _l("outlet"),
    }
    return f"{kinds[source.kind]} {node_label(source)}"


def refusal_message(policy: EffectivePolicy) -> str:
    """The words of a start the policy refused (remote starts, the REST API, logs)."""
    return str(_l("Refused by the access policy: %(policy)s.", policy=describe(policy)))


# ---------------------------------------------------------------------------
# Setting a policy


def set_policy(
    actor: User | None,
    node: Site | Floor | Station | Outlet,
    rule: AccessRule | None,
    group_ids: Sequence[int] = (),
) -> AccessPolicy | None:
    """Set who may charge at a node (None: as the level above says). GROUPS names
    at least one group of the node's site or a system-wide one. The node's site
    administrators and administrators may; actor None is the system (CLI, setup)."""
    site_id = site_of(node)
    if actor is not None:
        require_site_manager(actor, site_id)
    current = own_policy(node)
    groups: list[UserGroup] = []
    if rule is AccessRule.GROUPS:
        groups = _usable_groups(site_id, group_ids)
    if current is None and rule is None:
        return None
    if current is not None and rule is None:
        audit.record_delete(actor, current, audit.snapshot(current), site_id=site_id)
        db.session.delete(current)
        db.session.flush()
        return None
    if current is None:
        ref = chain(node)[0]
        current = AccessPolicy(**{_NODE_COLUMNS[ref.kind]: ref.id}, rule=rule)
        current.groups = groups
        db.session.add(current)
        db.session.flush()
        changes = audit.diff({}, {**audit.snapshot(current), "groups": _names(groups)})
        audit.record_change(actor, "create", current, changes, site_id=site_id)
        return current
    before = {**audit.snapshot(current), "groups": _names(current.groups)}
    assert rule is not None
    current.rule = rule
    current.groups = groups
    db.session.flush()
    after = {**audit.snapshot(current), "groups": _names(groups)}
    if before != after:
        audit.record_change(
            actor, "update", current, audit.diff(before, after), site_id=site_id
        )
    return current


def _names(groups: Iterable[UserGroup]) -> str:
    return ", ".join(group.name for group in groups)


def _usable_groups(site_id: int | None, group_ids: Sequence[int]) -> list[UserGroup]:
    if not group_ids:
        raise InvalidInput(_l("Choose at least one group for a group policy."))
    groups = list(
        db.session.scalars(select(UserGroup).where(UserGroup.id.in_(group_ids)))
    )
    if len(groups) != len(set(group_ids)) or any(
        group.site_id not in (None, site_id) for group in groups
    ):
        raise InvalidInput(
            _l("A policy names groups of its own site or system-wide groups.")
        )
    return sorted(groups, key=lambda group: group.name)


def set_default(actor: User | None, rule: AccessRule) -> None:
    """Set the system default (OPEN or KNOWN). Administrators only."""
    if rule not in DEFAULT_RULES:
        raise InvalidInput(_l("The system default is open or any known tag."))
    if actor is not None:
        require_role(actor, Role.ADMIN)
    settings = get_settings()
    if settings.default_access is rule:
        return
    before = audit.snapshot(settings)
    settings.default_access = rule
    audit.record_update(actor, settings, before)


# ---------------------------------------------------------------------------
# What a station admits (local authorisation lists)


def admitted_tags_query(station: Station) -> Select[Any]:
    """Return a statement selecting the tags the station's policies admit: every
    known tag when an outlet is OPEN or KNOWN, else the tags of the members of the
    groups of its GROUPS outlets (the tags in a group, and the tags of the users in
    it). Blocked and expired tags are included: their standing is the caller's
    (a local list carries it). Costs one statement to build (station_policies)."""
    policies = list(station_policies(station).values()) or [node_policy(station)]
    if any(p.rule is not AccessRule.GROUPS for p in policies):
        return select(RfidTag)
    group_ids = sorted({g for p in policies for g in p.group_ids}) or [-1]
    tagged = select(user_group_tag.c.tag_id).where(
        user_group_tag.c.group_id.in_(group_ids)
    )
    users = select(user_group_user.c.user_id).where(
        user_group_user.c.group_id.in_(group_ids)
    )
    return select(RfidTag).where(RfidTag.id.in_(tagged) | RfidTag.user_id.in_(users))


def admitted_tags(station: Station) -> list[RfidTag]:
    """Return the tags the station admits, ordered by tag (see admitted_tags_query):
    what its local authorisation list holds."""
    return list(db.session.scalars(admitted_tags_query(station).order_by(RfidTag.tag)))


# ---------------------------------------------------------------------------
# The page: a node's own policy and what applies to each outlet below it, and why


@dataclass(frozen=True)
class OutletPolicy:
    """An outlet, the policy in force there and, in words, what it is and where set."""

    outlet: Outlet
    policy: EffectivePolicy
    words: str


def may_edit(user: User, ref: NodeRef) -> bool:
    """Tell whether the user may set the policy of this node (the system default is
    the administrators', on System → Policies)."""
    if ref.kind is NodeKind.SYSTEM:
        return user.role is Role.ADMIN
    node = load_node(ref, user)
    return may_manage_site(user, site_of(node))


def outlets_under(user: User, ref: NodeRef) -> list[OutletPolicy]:
    """Return each outlet under the node the user may see with its effective policy
    and why (a few statements, whatever the number of outlets)."""
    load_node(ref, user)  # NotFound unless the user may see the node
    stations = list(
        db.session.scalars(
            scope(select(Station), user)
            .where(station_condition(ref))
            .options(selectinload(Station.outlets))
            .order_by(Station.chargebox_id)
        )
    )
    outlets = [
        outlet
        for station in stations
        for outlet in station.outlets
        if ref.kind is not NodeKind.OUTLET or outlet.id == ref.id
    ]
    chains = {outlet.id: chain(outlet) for outlet in outlets}
    found = _rows_on({r for refs in chains.values() for r in refs})
    names = dict(db.session.execute(select(UserGroup.id, UserGroup.name)).all())
    rows = []
    for outlet in outlets:
        policy = _resolve(chains[outlet.id], found)
        rows.append(OutletPolicy(outlet, policy, _words(policy, names)))
    return rows


def _words(policy: EffectivePolicy, names: dict[int, str]) -> str:
    if policy.rule is AccessRule.GROUPS:
        groups = ", ".join(sorted(names[g] for g in policy.group_ids if g in names))
        what = str(
            _l("Members of %(groups)s", groups=groups)
            if groups
            else _l("Members of no group (nobody)")
        )
    else:
        what = RULE_WORDS[policy.rule]
    return f"{what} ({source_label(policy.source)})"
