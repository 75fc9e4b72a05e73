"""Caps over a node chain at a moment, and each outlet's effective limit now (its
window, its caps, its share of the site's capacity) with the reason for each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import (
    CapScope,
    Outlet,
    OutletAllocation,
    RuleKind,
    ScheduleRule,
    Station,
    User,
)
from app.services.access import scope
from app.services.nodes import NodeKind, NodeRef, load_node, station_condition
from app.services.schedule.rules import (
    applies,
    chain,
    describe,
    in_force,
    local_now,
    node_label,
    rules_on,
)
from app.services.schedule.windows import window_state


@dataclass(frozen=True)
class CapState:
    """The cap in force at a moment (None: no cap) and the rule that set it."""

    limit_a: float | None
    node: NodeRef | None = None
    rule: ScheduleRule | None = None


def cap_state(
    refs: Sequence[NodeRef],
    rules: dict[NodeRef, list[ScheduleRule]],
    local: datetime,
    scope: CapScope,
) -> CapState:
    """Resolve the caps of a node chain at a local moment (nearest cap in force wins)."""
    for ref in refs:
        caps = [
            r
            for r in rules.get(ref, [])
            if r.kind is RuleKind.CAP and r.cap_scope is scope
        ]
        active = [r for r in in_force(caps, local) if applies(r, local)]
        if active:
            rule = min(active, key=lambda r: r.limit_a or 0.0)
            return CapState(rule.limit_a, ref, rule)
    return CapState(None)


@dataclass
class OutletLimit:
    """An outlet's effective limit right now and why."""

    outlet: Outlet
    open: bool
    limit_a: float | None
    reasons: list[str] = field(default_factory=list)
    allocation_a: float | None = None
    queued: bool = False
    smart_charging: bool = True


def outlet_limit_now(
    outlet: Outlet,
    rules: dict[NodeRef, list[ScheduleRule]] | None = None,
    now: datetime | None = None,
    allocation: tuple[float, bool] | None = None,
) -> OutletLimit:
    """Return the limit an outlet has now: the lowest of its cap, its station's cap
    and its share of the site's capacity, each with the rule behind it."""
    refs = chain(outlet)
    rules = rules if rules is not None else rules_on(refs)
    local = local_now(now)
    window = window_state(refs, rules, local)
    caps = [
        cap_state(refs, rules, local, CapScope.OUTLET),
        cap_state(refs, rules, local, CapScope.STATION),
    ]
    result = OutletLimit(
        outlet,
        window.open,
        None,
        smart_charging=outlet.station.protocol.smart_charging,
    )
    if window.rule is not None and window.node is not None:
        result.reasons.append(
            str(
                _l(
                    "window of %(node)s: %(rule)s",
                    node=node_label(window.node),
                    rule=describe(window.rule),
                )
            )
        )
    if not window.open:
        result.limit_a = 0.0
    for cap in caps:
        if cap.limit_a is None or cap.rule is None or cap.node is None:
            continue
        result.reasons.append(
            str(
                _l(
                    "cap of %(node)s: %(rule)s",
                    node=node_label(cap.node),
                    rule=describe(cap.rule),
                )
            )
        )
        result.limit_a = (
            cap.limit_a if result.limit_a is None else min(result.limit_a, cap.limit_a)
        )
    if allocation is not None:
        current, queued = allocation
        result.allocation_a, result.queued = current, queued
        result.reasons.append(
            str(
                _l("waiting for capacity: 0 A")
                if queued
                else _l("share of the site's capacity: %(a)s A", a=f"{current:.2f}")
            )
        )
        result.limit_a = (
            current if result.limit_a is None else min(result.limit_a, current)
        )
    if result.limit_a is None:
        result.reasons.append(str(_l("no limit from the schedule")))
    return result


def outlet_cap_now(outlet: Outlet, now: datetime | None = None) -> float | None:
    """Return the cap (outlet or station, lowest) in force on an outlet now."""
    refs = chain(outlet)
    rules = rules_on(refs)
    local = local_now(now)
    caps = [
        cap_state(refs, rules, local, scope).limit_a
        for scope in (CapScope.OUTLET, CapScope.STATION)
    ]
    present = [c for c in caps if c is not None]
    return min(present) if present else None


def outlets_under(user: User, ref: NodeRef) -> list[Outlet]:
    """Return the outlets under a node that the user may see, in station order."""
    load_node(ref, user)
    if ref.kind is NodeKind.SYSTEM:
        return []
    stmt = (
        select(Outlet)
        .join(Station, Station.id == Outlet.station_id)
        .where(station_condition(ref))
        .order_by(Station.name, Station.chargebox_id, Outlet.number)
    )
    if ref.kind is NodeKind.OUTLET:
        stmt = stmt.where(Outlet.id == ref.id)
    return list(db.session.scalars(scope(stmt, user, Outlet)))


def allocations(outlet_ids: Iterable[int]) -> dict[int, tuple[float, bool]]:
    """Return each outlet's stored share of its site's capacity (amperes, queued), if any."""
    ids = list(outlet_ids)
    if not ids:
        return {}
    return {
        row.outlet_id: (row.current_a, row.queued)
        for row in db.session.scalars(
            select(OutletAllocation).where(OutletAllocation.outlet_id.in_(ids))
        )
    }


def limits_now(
    user: User, ref: NodeRef, now: datetime | None = None
) -> list[OutletLimit]:
    """Return the effective limit right now, and why, of each outlet under a node."""
    outlets = outlets_under(user, ref)
    refs = sorted({r for outlet in outlets for r in chain(outlet)}, key=str)
    rules = rules_on(refs)
    held = allocations(o.id for o in outlets)
    return [
        outlet_limit_now(outlet, rules, now, held.get(outlet.id)) for outlet in outlets
    ]
