"""The rules over days: stretches of equal window and caps (segments), and the
current week day by day as a node gets it (the schedule screen)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from app.models import CapScope, RuleKind, ScheduleRule, User
from app.services.nodes import NodeRef, load_node
from app.services.schedule.caps import cap_state
from app.services.schedule.rules import (
    DAY_NAMES,
    chain,
    describe,
    local_now,
    node_label,
    rules_on,
    zone,
)
from app.services.schedule.windows import window_state


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
    labels = {ref: node_label(ref) for ref in refs if rules.get(ref)}
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
