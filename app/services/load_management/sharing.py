"""Sharing a site's current between its running sessions (spec §6b), as pure
arithmetic: each admitted session at least the minimum, the rest by priority."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from app.services.schedule import MIN_CURRENT_A

_EPSILON = 1e-9


@dataclass(frozen=True)
class Demand:
    """A running session asking for current: its outlet (key), priority, cap,
    floor group (a floor with its own capacity), queue order and, for a session
    the portal cannot steer now, the current it is counted at (held)."""

    key: int
    priority: int = 1
    cap: float | None = None
    group: int | None = None
    order: float = 0.0
    held: float | None = None


@dataclass(frozen=True)
class Share:
    """An outlet's allocation: amperes (None: no capacity applies) and whether it
    waits for capacity at 0 A."""

    current_a: float | None
    queued: bool = False


def _water_fill(
    items: Sequence[tuple[int, float, float]], budget: float
) -> dict[int, float]:
    """Share `budget` in proportion to weight, each item at most its headroom."""
    if not items:
        return {}
    if budget <= 0:
        return {key: 0.0 for key, _w, _h in items}
    result: dict[int, float] = {}
    pending = sorted(items, key=lambda item: item[2] / item[1])
    left, weight = budget, sum(w for _k, w, _h in pending)
    while pending:
        key, w, headroom = pending[0]
        level = left / weight
        if headroom <= w * level:
            result[key] = headroom
            left -= headroom
            weight -= w
            pending.pop(0)
            continue
        for key, w, _h in pending:
            result[key] = w * level
        break
    return result


def share_capacity(
    demands: Iterable[Demand],
    site_limit: float | None,
    group_limits: Mapping[int, float] | None = None,
    minimum: float = MIN_CURRENT_A,
) -> dict[int, Share]:
    """Share a site's current between running sessions (see the module docstring)."""
    group_limits = dict(group_limits or {})
    budget = math.inf if site_limit is None else site_limit
    group_budget = dict(group_limits)
    result: dict[int, Share] = {}
    free: list[Demand] = []
    for demand in demands:
        if demand.held is None:
            free.append(demand)
            continue
        result[demand.key] = Share(demand.held)
        budget -= demand.held
        if demand.group in group_budget:
            group_budget[demand.group] -= demand.held

    admitted: list[Demand] = []
    per_group: dict[int, int] = {}
    for demand in sorted(free, key=lambda d: (-d.priority, d.order, d.key)):
        group = demand.group if demand.group in group_budget else None
        fits = (len(admitted) + 1) * minimum <= budget + _EPSILON and (
            group is None
            or (per_group.get(group, 0) + 1) * minimum <= group_budget[group] + _EPSILON
        )
        if not fits:
            result[demand.key] = Share(0.0, queued=True)
            continue
        admitted.append(demand)
        if group is not None:
            per_group[group] = per_group.get(group, 0) + 1

    # Everyone admitted has the minimum; the rest is shared by priority, within caps.
    left = budget - len(admitted) * minimum
    group_left = {
        group: limit - per_group.get(group, 0) * minimum
        for group, limit in group_budget.items()
    }
    extra: dict[int, float] = {}
    active = [
        (d.key, float(d.priority), math.inf if d.cap is None else d.cap - minimum)
        for d in admitted
    ]
    groups = {d.key: d.group for d in admitted}
    while active:
        fill = _water_fill(active, left)
        over = {
            group: sum(v for k, v in fill.items() if groups[k] == group) - limit
            for group, limit in group_left.items()
        }
        worst = max(over, key=lambda g: over[g], default=None)
        if worst is None or over[worst] <= _EPSILON:
            extra.update(fill)
            break
        members = [item for item in active if groups[item[0]] == worst]
        group_fill = _water_fill(members, group_left.pop(worst))
        extra.update(group_fill)
        left -= sum(group_fill.values())
        active = [item for item in active if groups[item[0]] != worst]
    for demand in admitted:
        current = minimum + extra.get(demand.key, 0.0)
        result[demand.key] = Share(None if math.isinf(current) else current)
    return result
