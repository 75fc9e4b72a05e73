"""The schedule (spec §6b): charging windows and power caps per node, resolved per outlet.

Rules hang on a site, floor, station or outlet and are read in the schedule's
time zone (SCHEDULE_TIMEZONE). An outlet follows the nearest node above it that
has rules: for windows the nearest node with any window rule decides entirely;
for caps, at each moment the nearest node with a cap in force at that moment.
Every answer says which rule decided ("why"). Caps become OCPP 1.6-shaped charging
profiles here (the command carries them as a dict; the adapter only renames keys).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from blinker import Namespace
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, or_, select

from app.extensions import db
from app.models import (
    ALL_DAYS,
    CapScope,
    Floor,
    NodeCapacity,
    Outlet,
    OutletAllocation,
    OutletSchedule,
    Protocol,
    Role,
    RuleKind,
    ScheduleRule,
    Site,
    Station,
    User,
    WindowAction,
    utcnow,
)
from app.services import audit, signals
from app.services.access import may_manage_site, scope
from app.services.errors import InvalidInput, NotFound, PermissionDenied
from app.services.nodes import NodeKind, NodeRef, load_node, station_condition

# The least current an EV accepts (IEC 61851-1): below it a session is paused.
MIN_CURRENT_A = 6.0
MAX_CURRENT_A = 1000.0
MAX_PRIORITY = 10
WEEK = timedelta(days=7)
DAY = timedelta(days=1)

# OCPP 1.6 §3.13: one profile per purpose from the portal, each with a fixed id so a
# re-send replaces it. Stack level 1 leaves level 0 to a manufacturer's own default.
STACK_LEVEL = 1
STATION_MAX_PROFILE_ID = 1
OUTLET_DEFAULT_PROFILE_ID = 10  # + outlet number
ALLOCATION_PROFILE_ID = 100  # + outlet number

_namespace = Namespace()
# Rules, capacity or priorities changed under a node: site_id, station_ids.
rules_changed = _namespace.signal("schedule-rules-changed")

DAY_NAMES = (
    _l("Mon"),
    _l("Tue"),
    _l("Wed"),
    _l("Thu"),
    _l("Fri"),
    _l("Sat"),
    _l("Sun"),
)


def zone() -> ZoneInfo:
    """Return the time zone the rules are written in."""
    return ZoneInfo(str(current_app.config.get("SCHEDULE_TIMEZONE", "UTC")))


def unlimited_a() -> float:
    """Return the limit sent for "no cap" inside a weekly profile."""
    return float(current_app.config.get("SCHEDULE_UNCAPPED_A", 63.0))


# ---------------------------------------------------------------------------
# Nodes and access


def rule_node(rule: ScheduleRule | NodeCapacity) -> NodeRef:
    """Return the node a rule or a capacity hangs on."""
    for kind, ident in (
        (NodeKind.OUTLET, getattr(rule, "outlet_id", None)),
        (NodeKind.STATION, getattr(rule, "station_id", None)),
        (NodeKind.FLOOR, rule.floor_id),
        (NodeKind.SITE, rule.site_id),
    ):
        if ident is not None:
            return NodeRef(kind, ident)
    raise NotFound(_l("No such record."))


def site_of(node: Any) -> int | None:
    """Return the site id of a site, floor, station or outlet row."""
    if isinstance(node, Site):
        return node.id
    if isinstance(node, Floor):
        return node.site_id
    if isinstance(node, Station):
        return node.site_id
    if isinstance(node, Outlet):
        return node.station.site_id
    return None


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


def chain(node: Any) -> list[NodeRef]:
    """Return the node and those above it, nearest first (outlet → … → site)."""
    refs: list[NodeRef] = []
    station: Station | None = None
    if isinstance(node, Outlet):
        refs.append(NodeRef(NodeKind.OUTLET, node.id))
        station = node.station
    elif isinstance(node, Station):
        station = node
    if station is not None:
        refs.append(NodeRef(NodeKind.STATION, station.id))
        if station.floor_id is not None:
            refs.append(NodeRef(NodeKind.FLOOR, station.floor_id))
        if station.site_id is not None:
            refs.append(NodeRef(NodeKind.SITE, station.site_id))
    elif isinstance(node, Floor):
        refs += [NodeRef(NodeKind.FLOOR, node.id), NodeRef(NodeKind.SITE, node.site_id)]
    elif isinstance(node, Site):
        refs.append(NodeRef(NodeKind.SITE, node.id))
    return refs


_NODE_COLUMNS = {
    NodeKind.SITE: "site_id",
    NodeKind.FLOOR: "floor_id",
    NodeKind.STATION: "station_id",
    NodeKind.OUTLET: "outlet_id",
}
# Built once: every session start reads the rules of its outlet's chain.
_RULES_ON = (
    select(ScheduleRule)
    .where(
        or_(
            *(
                getattr(ScheduleRule, column).in_(bindparam(column, expanding=True))
                for column in _NODE_COLUMNS.values()
            )
        )
    )
    .order_by(ScheduleRule.id)
)


def rules_on(refs: Sequence[NodeRef]) -> dict[NodeRef, list[ScheduleRule]]:
    """Return the rules hanging on each of the nodes (one query), by node."""
    found: dict[NodeRef, list[ScheduleRule]] = {ref: [] for ref in refs}
    if not refs:
        return found
    ids: dict[str, list[int | None]] = {c: [] for c in _NODE_COLUMNS.values()}
    for ref in refs:
        ids[_NODE_COLUMNS[ref.kind]].append(ref.id)
    rows = db.session.scalars(_RULES_ON, ids)
    for rule in rows:
        found.setdefault(rule_node(rule), []).append(rule)
    return found


def node_rules(user: User, ref: NodeRef) -> list[ScheduleRule]:
    """Return the rules of one node the user may see, windows first."""
    load_node(ref, user)
    if ref.kind is NodeKind.SYSTEM:
        return []
    rules = rules_on([ref])[ref]
    return sorted(
        rules, key=lambda r: (r.kind != RuleKind.WINDOW, r.on_date or 0, r.id)
    )  # type: ignore[operator]


# ---------------------------------------------------------------------------
# Editing rules


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


# ---------------------------------------------------------------------------
# Evaluating rules


def _in_range(rule: ScheduleRule, moment: time) -> bool:
    start, end = rule.start_time, rule.end_time
    if start == end:
        return True
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def _applies(rule: ScheduleRule, local: datetime) -> bool:
    """Tell whether a weekly rule or date exception covers this local moment."""
    today, now = local.date(), local.time()
    start, end = rule.start_time, rule.end_time
    if rule.on_date is not None:
        return rule.on_date == today and _in_range(rule, now)
    if start == end:
        return bool(rule.days >> today.weekday() & 1)
    if start < end:
        return bool(rule.days >> today.weekday() & 1) and start <= now < end
    yesterday = (today - DAY).weekday()
    return bool(rule.days >> today.weekday() & 1 and now >= start) or bool(
        rule.days >> yesterday & 1 and now < end
    )


def _in_force(rules: Iterable[ScheduleRule], local: datetime) -> list[ScheduleRule]:
    """Rules of one node and kind that count on this local date (exceptions first)."""
    rules = list(rules)
    exceptions = [r for r in rules if r.on_date == local.date()]
    return exceptions or [r for r in rules if r.on_date is None]


def describe(rule: ScheduleRule) -> str:
    """Say a rule in words: "Mon Tue 07:00-10:00: cap 16 A per outlet"."""
    if rule.on_date is not None:
        when = rule.on_date.isoformat()
    elif rule.days == ALL_DAYS:
        when = str(_l("every day"))
    else:
        when = " ".join(str(DAY_NAMES[d]) for d in range(7) if rule.days >> d & 1)
    hours = (
        str(_l("all day"))
        if rule.start_time == rule.end_time
        else f"{rule.start_time:%H:%M}-{rule.end_time:%H:%M}"
    )
    if rule.kind is RuleKind.CAP:
        what = str(
            _l("cap %(a)s A per outlet", a=_amps(rule.limit_a))
            if rule.cap_scope is CapScope.OUTLET
            else _l("cap %(a)s A per station", a=_amps(rule.limit_a))
        )
    elif not rule.allowed:
        what = str(_l("closed"))
    else:
        what = str(_l("open"))
    return f"{when} {hours}: {what}"


def _amps(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@dataclass(frozen=True)
class WindowState:
    """Whether charging is allowed at a moment, and which node/rule said so."""

    open: bool
    action: WindowAction | None = None
    node: NodeRef | None = None
    rule: ScheduleRule | None = None


def window_state(
    refs: Sequence[NodeRef],
    rules: dict[NodeRef, list[ScheduleRule]],
    local: datetime,
) -> WindowState:
    """Resolve the windows of a node chain at a local moment (nearest node decides).

    At a node: a closing date exception in its hours closes; opening date
    exceptions of the day replace the weekly windows; a node with neither in force
    on the day says nothing and the node above it decides.
    """
    for ref in refs:
        windows = [r for r in rules.get(ref, []) if r.kind is RuleKind.WINDOW]
        if not windows:
            continue
        action = (
            WindowAction.UNAVAILABLE
            if any(r.action is WindowAction.UNAVAILABLE for r in windows)
            else WindowAction.REFUSE
        )
        today = [r for r in windows if r.on_date == local.date()]
        closing = next((r for r in today if not r.allowed and _applies(r, local)), None)
        if closing is not None:
            return WindowState(False, action, ref, closing)
        candidates = [r for r in today if r.allowed] or [
            r for r in windows if r.on_date is None
        ]
        if not candidates:
            continue
        for rule in candidates:
            if _applies(rule, local):
                return WindowState(True, None, ref, rule)
        return WindowState(False, action, ref, candidates[0])
    return WindowState(True)


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
        active = [r for r in _in_force(caps, local) if _applies(r, local)]
        if active:
            rule = min(active, key=lambda r: r.limit_a or 0.0)
            return CapState(rule.limit_a, ref, rule)
    return CapState(None)


def local_now(now: datetime | None = None) -> datetime:
    """Return a UTC moment (default: now) in the schedule's time zone."""
    return (now or utcnow()).astimezone(zone())


@dataclass(frozen=True)
class StartRefusal:
    """Why a start is refused now; str() is the message for a person."""

    node: NodeRef
    rule: ScheduleRule
    action: WindowAction
    label: str

    def __str__(self) -> str:
        return str(
            _l(
                "Charging is not allowed here now: outside the charging window of"
                " %(node)s (%(rule)s).",
                node=self.label,
                rule=describe(self.rule),
            )
        )


def _label(ref: NodeRef) -> str:
    model = {
        NodeKind.SITE: Site,
        NodeKind.FLOOR: Floor,
        NodeKind.STATION: Station,
        NodeKind.OUTLET: Outlet,
    }[ref.kind]
    row = db.session.get(model, ref.id)
    return str(row) if row is not None else str(ref)


def start_refusal(
    station: Station, outlet_number: int | None, now: datetime | None = None
) -> StartRefusal | None:
    """Say why a start on this outlet (None: any outlet) is refused now, if it is.

    Without an outlet (OCPP Authorize names none) the station refuses only when
    every outlet is outside its window.
    """
    outlets = [
        o for o in station.outlets if outlet_number is None or o.number == outlet_number
    ]
    nodes: list[Any] = outlets or [station]
    refs_per_node = [chain(node) for node in nodes]
    rules = rules_on(sorted({r for refs in refs_per_node for r in refs}, key=str))
    if not any(rules.values()):
        return None
    local = local_now(now)
    refusal: StartRefusal | None = None
    for refs in refs_per_node:
        state = window_state(refs, rules, local)
        if state.open:
            return None
        assert state.node is not None and state.rule is not None
        refusal = refusal or StartRefusal(
            state.node, state.rule, state.action or WindowAction.REFUSE, ""
        )
    if refusal is None:
        return None
    return StartRefusal(
        refusal.node, refusal.rule, refusal.action, _label(refusal.node)
    )


# ---------------------------------------------------------------------------
# What applies over a week, now, and as profiles


@dataclass(frozen=True)
class Segment:
    """A stretch of time with the same window and cap (local times)."""

    start: datetime
    end: datetime
    open: bool
    cap_a: float | None
    station_cap_a: float | None
    why: str


def _boundaries(
    rules: Iterable[ScheduleRule], day: date, tz: ZoneInfo
) -> set[datetime]:
    moments = {datetime.combine(day, time(0, 0), tz)}
    for rule in rules:
        for moment in (rule.start_time, rule.end_time):
            moments.add(datetime.combine(day, moment, tz))
    return moments


def segments(
    refs: Sequence[NodeRef],
    rules: dict[NodeRef, list[ScheduleRule]],
    first_day: date,
    days: int = 7,
) -> list[Segment]:
    """Return what applies from first_day 00:00 for `days` days, change by change."""
    tz = zone()
    flat = [r for ref in refs for r in rules.get(ref, [])]
    moments: set[datetime] = set()
    for offset in range(days):
        moments |= _boundaries(flat, first_day + timedelta(days=offset), tz)
    end = datetime.combine(first_day + timedelta(days=days), time(0, 0), tz)
    ordered = sorted(m for m in moments if m < end)
    labels = {ref: _label(ref) for ref in refs if rules.get(ref)}
    result: list[Segment] = []
    for index, moment in enumerate(ordered):
        until = ordered[index + 1] if index + 1 < len(ordered) else end
        window = window_state(refs, rules, moment)
        cap = cap_state(refs, rules, moment, CapScope.OUTLET)
        station_cap = cap_state(refs, rules, moment, CapScope.STATION)
        why = "; ".join(
            f"{_kind_word(state.rule)} {labels[state.node]}: {describe(state.rule)}"
            for state in (window, cap, station_cap)
            if state.rule is not None and state.node is not None
        )
        segment = Segment(
            moment, until, window.open, cap.limit_a, station_cap.limit_a, why
        )
        if result and (result[-1].open, result[-1].cap_a, result[-1].station_cap_a) == (
            segment.open,
            segment.cap_a,
            segment.station_cap_a,
        ):
            result[-1] = Segment(
                result[-1].start,
                until,
                segment.open,
                segment.cap_a,
                segment.station_cap_a,
                result[-1].why,
            )
        else:
            result.append(segment)
    return result


def _kind_word(rule: ScheduleRule) -> str:
    return str(_l("window") if rule.kind is RuleKind.WINDOW else _l("cap"))


def week_start(now: datetime | None = None) -> date:
    """Return the Monday of the current week (schedule time zone)."""
    today = local_now(now).date()
    return today - timedelta(days=today.weekday())


@dataclass(frozen=True)
class DayPlan:
    day: date
    name: str
    segments: list[Segment]


def week_view(user: User, ref: NodeRef, now: datetime | None = None) -> list[DayPlan]:
    """Return this week, day by day, as the node (or an outlet under it) gets it."""
    node = load_node(ref, user)
    if node is None:
        return []
    refs = chain(node)
    rules = rules_on(refs)
    first = week_start(now)
    plans = []
    for offset in range(7):
        day = first + timedelta(days=offset)
        plans.append(
            DayPlan(day, str(DAY_NAMES[day.weekday()]), segments(refs, rules, day, 1))
        )
    return plans


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
        smart_charging=outlet.station.protocol is Protocol.OCPP16_JSON,
    )
    if window.rule is not None and window.node is not None:
        result.reasons.append(
            str(
                _l(
                    "window of %(node)s: %(rule)s",
                    node=_label(window.node),
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
                    node=_label(cap.node),
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


def round_limit(value: float) -> float:
    """OCPP 1.6 limits carry one decimal: round down so a share never overshoots."""
    return math.floor(value * 10 + 1e-9) / 10


def _periods(
    segments_: Sequence[Segment], origin: datetime, pick: str
) -> list[dict[str, Any]]:
    periods: list[dict[str, Any]] = []
    for segment in segments_:
        value = getattr(segment, pick)
        limit = round_limit(value if value is not None else unlimited_a())
        if periods and periods[-1]["limit"] == limit:
            continue
        periods.append(
            {
                # Elapsed seconds (a DST change inside the week counts its hour).
                "start_period": int(
                    (
                        segment.start.astimezone(UTC) - origin.astimezone(UTC)
                    ).total_seconds()
                ),
                "limit": limit,
            }
        )
    return periods


def _recurring(
    refs: Sequence[NodeRef],
    rules: dict[NodeRef, list[ScheduleRule]],
    pick: str,
    profile_id: int,
    purpose: str,
    now: datetime | None,
) -> dict[str, Any] | None:
    """A Recurring profile of one week (Daily when every day is the same)."""
    first = week_start(now)
    week = segments(refs, rules, first, 7)
    if all(getattr(s, pick) is None for s in week):
        return None
    tz = zone()
    days = [
        _periods(
            segments(refs, rules, first + timedelta(days=d), 1),
            datetime.combine(first + timedelta(days=d), time(0, 0), tz),
            pick,
        )
        for d in range(7)
    ]
    daily = all(day == days[0] for day in days)
    origin = datetime.combine(first, time(0, 0), tz)
    periods = days[0] if daily else _periods(week, origin, pick)
    return {
        "charging_profile_id": profile_id,
        "stack_level": STACK_LEVEL,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": "Recurring",
        "recurrency_kind": "Daily" if daily else "Weekly",
        "charging_schedule": {
            "duration": int((DAY if daily else WEEK).total_seconds()),
            "start_schedule": origin.astimezone(UTC)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z"),
            "charging_rate_unit": "A",
            "charging_schedule_period": periods,
        },
    }


@dataclass(frozen=True)
class PlannedProfile:
    """A profile for one outlet number (0 = the station), or None to clear profile_id."""

    outlet: int
    profile_id: int
    profile: dict[str, Any] | None


def cap_profiles(station: Station, now: datetime | None = None) -> list[PlannedProfile]:
    """Return the station's cap profiles: ChargePointMaxProfile on outlet 0 for station
    caps, a TxDefaultProfile per outlet for outlet caps (None: clear it)."""
    refs_station = chain(station)
    all_refs = set(refs_station)
    for outlet in station.outlets:
        all_refs |= set(chain(outlet))
    rules = rules_on(sorted(all_refs, key=str))
    planned = [
        PlannedProfile(
            0,
            STATION_MAX_PROFILE_ID,
            _recurring(
                refs_station,
                rules,
                "station_cap_a",
                STATION_MAX_PROFILE_ID,
                "ChargePointMaxProfile",
                now,
            ),
        )
    ]
    for outlet in station.outlets:
        profile_id = OUTLET_DEFAULT_PROFILE_ID + outlet.number
        planned.append(
            PlannedProfile(
                outlet.number,
                profile_id,
                _recurring(
                    chain(outlet), rules, "cap_a", profile_id, "TxDefaultProfile", now
                ),
            )
        )
    return planned


def allocation_profile(
    outlet_number: int, session_id: int, current_a: float
) -> dict[str, Any]:
    """A TxProfile holding a running session at its share of the site's capacity."""
    return {
        "charging_profile_id": ALLOCATION_PROFILE_ID + outlet_number,
        "transaction_id": session_id,
        "stack_level": STACK_LEVEL,
        "charging_profile_purpose": "TxProfile",
        "charging_profile_kind": "Relative",
        "charging_schedule": {
            "charging_rate_unit": "A",
            "charging_schedule_period": [
                {"start_period": 0, "limit": round_limit(current_a)}
            ],
        },
    }


def closed_outlets(station: Station, now: datetime | None = None) -> dict[int, bool]:
    """Return, per outlet number, whether the schedule wants it Unavailable now.

    OCPP 1.6 outlets: windows whose action is Unavailable. OCPP 1.5 outlets (no
    smart charging): every closed window, since availability is all they offer.
    """
    result: dict[int, bool] = {}
    refs = {r for outlet in station.outlets for r in chain(outlet)}
    rules = rules_on(sorted(refs, key=str))
    local = local_now(now)
    for outlet in station.outlets:
        state = window_state(chain(outlet), rules, local)
        result[outlet.number] = not state.open and (
            state.action is WindowAction.UNAVAILABLE
            or station.protocol is Protocol.OCPP15_SOAP
        )
    return result


def has_rules(station: Station) -> bool:
    """Tell whether any rule reaches the station or its outlets."""
    refs = {r for outlet in station.outlets for r in chain(outlet)} | set(
        chain(station)
    )
    return any(rules_on(sorted(refs, key=str)).values())


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


def limits_now(
    user: User, ref: NodeRef, now: datetime | None = None
) -> list[OutletLimit]:
    """Return the effective limit right now, and why, of each outlet under a node."""
    outlets = outlets_under(user, ref)
    refs = sorted({r for outlet in outlets for r in chain(outlet)}, key=str)
    rules = rules_on(refs)
    held = {
        row.outlet_id: (row.current_a, row.queued)
        for row in db.session.scalars(
            select(OutletAllocation).where(
                OutletAllocation.outlet_id.in_([o.id for o in outlets])
            )
        )
    }
    return [
        outlet_limit_now(outlet, rules, now, held.get(outlet.id)) for outlet in outlets
    ]
