"""Changing the schedule: who may (spec §1), rules added and removed, a site's or
floor's capacity, an outlet's priority; each change announced to the stations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any

from blinker import Namespace
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import (
    ALL_DAYS,
    CapScope,
    Floor,
    NodeCapacity,
    Outlet,
    OutletSchedule,
    Role,
    RuleKind,
    ScheduleRule,
    Site,
    Station,
    User,
    WindowAction,
)
from app.services import audit, signals
from app.services.access import may_manage_site
from app.services.errors import InvalidInput, NotFound, PermissionDenied
from app.services.nodes import NodeKind, NodeRef, load_node
from app.services.schedule.rules import rule_node, site_of

# The least current an EV accepts (IEC 61851-1): below it a session is paused.
MIN_CURRENT_A = 6.0
MAX_CURRENT_A = 1000.0
MAX_PRIORITY = 10

_namespace = Namespace()
# Rules, capacity or priorities changed under a node: site_id, station_ids.
rules_changed = _namespace.signal("schedule-rules-changed")


def may_edit(user: User, ref: NodeRef) -> bool:
    """Tell whether a user may change the schedule of a node (spec §1).

    Administrators everywhere; site administrators on their sites; support (who
    configures stations) on stations and outlets.
    """
    if ref.kind is NodeKind.SYSTEM:
        return False
    try:
        node = load_node(ref, user)
    except NotFound:
        return False
    if user.role is Role.SUPPORT:
        return ref.kind in (NodeKind.STATION, NodeKind.OUTLET)
    return may_manage_site(user, site_of(node))


def _require_edit(user: User, ref: NodeRef) -> Any:
    node = load_node(ref, user)  # NotFound outside the user's scope
    if not may_edit(user, ref):
        raise PermissionDenied(_l("You may not change the schedule of this node."))
    return node


def _node_columns(ref: NodeRef) -> dict[str, int | None]:
    return {
        "site_id": ref.id if ref.kind is NodeKind.SITE else None,
        "floor_id": ref.id if ref.kind is NodeKind.FLOOR else None,
        "station_id": ref.id if ref.kind is NodeKind.STATION else None,
        "outlet_id": ref.id if ref.kind is NodeKind.OUTLET else None,
    }


@dataclass(frozen=True)
class RuleInput:
    """A rule as a person writes it; days is a Monday=bit 0 mask."""

    kind: RuleKind
    days: int = ALL_DAYS
    on_date: date | None = None
    start: time = time(0, 0)
    end: time = time(0, 0)
    action: WindowAction = WindowAction.REFUSE
    allowed: bool = True
    limit_a: float | None = None
    cap_scope: CapScope = CapScope.OUTLET
    note: str = ""


def _check(ref: NodeRef, data: RuleInput) -> None:
    if data.on_date is None and not 0 < data.days <= ALL_DAYS:
        raise InvalidInput(_l("Choose at least one day, or a date."))
    if data.kind is RuleKind.CAP:
        if data.limit_a is None or not (MIN_CURRENT_A <= data.limit_a <= MAX_CURRENT_A):
            raise InvalidInput(
                _l(
                    "A cap is between %(low)d and %(high)d A"
                    " (an EV takes no less than 6 A).",
                    low=int(MIN_CURRENT_A),
                    high=int(MAX_CURRENT_A),
                )
            )
        if data.cap_scope is CapScope.STATION and ref.kind is NodeKind.OUTLET:
            raise InvalidInput(_l("A cap on an outlet limits that outlet only."))
    if len(data.note) > 120:
        raise InvalidInput(_l("A note has at most 120 characters."))


def add_rule(actor: User, ref: NodeRef, data: RuleInput) -> ScheduleRule:
    """Add a window or cap rule to a node; its outlets follow it at once."""
    node = _require_edit(actor, ref)
    _check(ref, data)
    rule = ScheduleRule(
        **_node_columns(ref),
        kind=data.kind,
        days=data.days if data.on_date is None else 0,
        on_date=data.on_date,
        start_time=data.start.replace(second=0, microsecond=0),
        end_time=data.end.replace(second=0, microsecond=0),
        action=data.action,
        allowed=data.allowed if data.kind is RuleKind.WINDOW else True,
        limit_a=data.limit_a if data.kind is RuleKind.CAP else None,
        cap_scope=data.cap_scope,
        note=data.note.strip(),
    )
    db.session.add(rule)
    db.session.flush()
    audit.record_create(actor, rule, site_id=site_of(node))
    _announce_change(node)
    return rule


def delete_rule(actor: User, rule_id: int) -> None:
    """Remove a rule (the user must be allowed to change its node)."""
    rule = db.session.get(ScheduleRule, rule_id)
    if rule is None:
        raise NotFound(_l("No such record."))
    node = _require_edit(actor, rule_node(rule))
    audit.record_delete(actor, rule, audit.snapshot(rule), site_id=site_of(node))
    db.session.delete(rule)
    db.session.flush()
    _announce_change(node)


def capacity_of(ref: NodeRef) -> NodeCapacity | None:
    """Return the declared capacity of a site or floor, if any."""
    if ref.kind is NodeKind.SITE:
        condition = NodeCapacity.site_id == ref.id
    elif ref.kind is NodeKind.FLOOR:
        condition = NodeCapacity.floor_id == ref.id
    else:
        return None
    return db.session.scalars(select(NodeCapacity).where(condition)).first()


def set_capacity(actor: User, ref: NodeRef, max_current_a: float | None) -> None:
    """Declare (or with None remove) the most current per phase a site/floor may draw."""
    node = _require_edit(actor, ref)
    if ref.kind not in (NodeKind.SITE, NodeKind.FLOOR):
        raise InvalidInput(_l("Only a site or a floor has a capacity."))
    if max_current_a is not None and not (
        MIN_CURRENT_A <= max_current_a <= 10 * MAX_CURRENT_A
    ):
        raise InvalidInput(
            _l("A capacity is at least 6 A (one outlet at its minimum).")
        )
    row = capacity_of(ref)
    if max_current_a is None:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        cols = _node_columns(ref)
        db.session.add(
            NodeCapacity(
                site_id=cols["site_id"],
                floor_id=cols["floor_id"],
                max_current_a=max_current_a,
            )
        )
    else:
        row.max_current_a = max_current_a
    audit.record_change(
        actor,
        "update",
        node,
        {"max_current_a": [row.max_current_a if row else None, max_current_a]},
        site_id=site_of(node),
    )
    db.session.flush()
    _announce_change(node)


def outlet_settings(outlet_id: int) -> OutletSchedule:
    """Return the outlet's schedule state, created with defaults when missing."""
    row = db.session.get(OutletSchedule, outlet_id)
    if row is None:
        row = OutletSchedule(outlet_id=outlet_id, priority=1, closed_by_schedule=False)
        db.session.add(row)
        db.session.flush()
    return row


def priority_of(outlet_id: int) -> int:
    row = db.session.get(OutletSchedule, outlet_id)
    return row.priority if row is not None else 1


def set_priority(actor: User, outlet: Outlet, priority: int) -> None:
    """Set an outlet's priority in capacity sharing (1 normal … 10 highest)."""
    ref = NodeRef(NodeKind.OUTLET, outlet.id)
    _require_edit(actor, ref)
    if not 1 <= priority <= MAX_PRIORITY:
        raise InvalidInput(_l("A priority is from 1 (normal) to 10 (highest)."))
    row = outlet_settings(outlet.id)
    row.priority = priority
    db.session.flush()
    _announce_change(outlet)


def _announce_change(node: Any) -> None:
    if isinstance(node, Site | Floor):
        station_ids = [s.id for s in node.stations]
        if isinstance(node, Site):
            station_ids += [s.id for f in node.floors for s in f.stations]
    elif isinstance(node, Station):
        station_ids = [node.id]
    else:
        station_ids = [node.station_id]
    signals.announce(
        db.session(),
        rules_changed,
        site_id=site_of(node),
        station_ids=sorted(set(station_ids)),
    )
