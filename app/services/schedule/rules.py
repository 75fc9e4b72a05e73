"""The schedule's rules where they hang: a node's chain of nodes above it (inheritance),
the rules on a chain, whether a rule covers a local moment, and a rule in words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
    RuleKind,
    ScheduleRule,
    Site,
    Station,
    User,
    utcnow,
)
from app.services.errors import NotFound
from app.services.nodes import NODE_MODELS, NodeKind, NodeRef, load_node

DAY = timedelta(days=1)

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


def local_now(now: datetime | None = None) -> datetime:
    """Return a UTC moment (default: now) in the schedule's time zone."""
    return (now or utcnow()).astimezone(zone())


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


def has_rules(station: Station) -> bool:
    """Tell whether any rule reaches the station or its outlets."""
    return station.id in stations_with_rules([station])


def stations_with_rules(stations: Iterable[Station]) -> set[int]:
    """The ids of the stations that a rule reaches (on them, an outlet of theirs,
    their floor or site), in one query."""
    refs_of = {
        station.id: {r for outlet in station.outlets for r in chain(outlet)}
        | set(chain(station))
        for station in stations
    }
    found = rules_on(sorted(set().union(*refs_of.values()), key=str))
    return {sid for sid, refs in refs_of.items() if any(found.get(r) for r in refs)}


def _in_range(rule: ScheduleRule, moment: time) -> bool:
    start, end = rule.start_time, rule.end_time
    if start == end:
        return True
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def applies(rule: ScheduleRule, local: datetime) -> bool:
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


def in_force(rules: Iterable[ScheduleRule], local: datetime) -> list[ScheduleRule]:
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


def node_label(ref: NodeRef) -> str:
    """Return how a node reads in a reason (its name; its reference once deleted)."""
    row = db.session.get(NODE_MODELS[ref.kind], ref.id)
    return str(row) if row is not None else str(ref)
