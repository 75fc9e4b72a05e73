"""Site load management (spec §6b): share a site's capacity between its charging
outlets, and bring the schedule to the stations (profiles, availability, re-sends).

Sharing: every running session gets at least 6 A or waits at 0 A (queued, in order
of priority then arrival); what is left over is shared in proportion to priority
(equal when priorities are equal), never above an outlet's cap, within the site's
and each floor's capacity. It is recomputed on every start, stop and status change,
on rule changes and by the schedule job, and pushed to OCPP 1.6 stations as a
TxProfile of the running transaction. A station that went offline keeps its last
allocation counted until the offline threshold passes (it may still be charging).

Receivers of the domain signals hand their work to `background.submit`, so a
station's message never waits for another station's command.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import or_, select, union

from app.extensions import db
from app.models import (
    ChargingSession,
    NodeCapacity,
    Outlet,
    OutletAllocation,
    OutletSchedule,
    OutletStatus,
    Protocol,
    Station,
    utcnow,
)
from app.services import background, commands, schedule, signals
from app.services.navigator import RUNNING_SESSION_WINDOW
from app.services.topology import get_settings

log = logging.getLogger(__name__)

#: Seconds a process trusts its list of the sites that share a capacity before it
#: reads it again. A change of capacity made in this process applies at once; one made
#: in another process reaches this one's session events within this time (and the
#: other process rebalances the site itself meanwhile).
MANAGED_SITES_TTL = 10.0

MIN_CURRENT_A = schedule.MIN_CURRENT_A
_EPSILON = 1e-9
# Statuses that say the outlet draws nothing although its session is still open.
_IDLE = (
    OutletStatus.FINISHING,
    OutletStatus.FAULTED,
    OutletStatus.UNAVAILABLE,
    OutletStatus.AVAILABLE,
)


# ---------------------------------------------------------------------------
# Sharing (pure)


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


# ---------------------------------------------------------------------------
# Sharing a site (database)


@dataclass(frozen=True)
class Push:
    """A change to bring to a station: a TxProfile at current_a, or None to clear."""

    station_id: int
    outlet_number: int
    session_id: int
    current_a: float | None


_site_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def _site_lock(site_id: int) -> threading.Lock:
    with _locks_guard:
        return _site_locks.setdefault(site_id, threading.Lock())


def _uncontrolled_a() -> float:
    return float(current_app.config.get("SCHEDULE_UNCONTROLLED_A", 32.0))


def _capacities(site_id: int) -> tuple[float | None, dict[int, float]]:
    rows = db.session.scalars(
        select(NodeCapacity).where(
            or_(
                NodeCapacity.site_id == site_id,
                NodeCapacity.floor_id.in_(
                    select(Station.floor_id).where(Station.site_id == site_id)
                ),
            )
        )
    ).all()
    site_limit = next((r.max_current_a for r in rows if r.site_id == site_id), None)
    floors = {r.floor_id: r.max_current_a for r in rows if r.floor_id is not None}
    return site_limit, floors


def rebalance_site(site_id: int, now: datetime | None = None) -> list[Push]:
    """Recompute the site's allocations, store them, and return what to push."""
    now = now or utcnow()
    site_limit, floor_limits = _capacities(site_id)
    previous = {
        row.outlet_id: row
        for row in db.session.scalars(
            select(OutletAllocation)
            .join(Outlet, Outlet.id == OutletAllocation.outlet_id)
            .join(Station, Station.id == Outlet.station_id)
            .where(Station.site_id == site_id)
        )
    }
    managed = site_limit is not None or bool(floor_limits)
    if not managed and not previous:
        return []  # no capacity to share here and none shared before (most sites)
    rows = (
        db.session.execute(
            select(ChargingSession, Outlet, Station)
            .join(Outlet, Outlet.id == ChargingSession.outlet_id)
            .join(Station, Station.id == ChargingSession.station_id)
            .where(
                Station.site_id == site_id,
                ChargingSession.ended_at.is_(None),
                ChargingSession.started_at >= now - RUNNING_SESSION_WINDOW,
            )
            .order_by(ChargingSession.started_at, ChargingSession.id)
        ).all()
        if managed
        else []
    )
    demands, running = _demands(rows, previous, floor_limits, now)
    shares = share_capacity(demands, site_limit, floor_limits)
    pushes: list[Push] = []
    for outlet_id, share in shares.items():
        session, outlet, station = running[outlet_id]
        old = previous.pop(outlet_id, None)
        if share.current_a is None:
            if old is not None:
                db.session.delete(old)
                pushes.append(Push(station.id, outlet.number, session.id, None))
            continue
        changed = old is None or (
            old.session_id != session.id
            or abs(old.current_a - share.current_a) > 0.005
            or old.queued != share.queued
        )
        if old is None:
            old = OutletAllocation(outlet_id=outlet_id)
            db.session.add(old)
        old.session_id = session.id
        old.current_a = share.current_a
        old.queued = share.queued
        old.updated_at = now
        controllable = station.protocol is Protocol.OCPP16_JSON and station.online
        if changed and controllable:
            pushes.append(Push(station.id, outlet.number, session.id, share.current_a))
    for old in previous.values():  # sessions that ended or no longer count
        db.session.delete(old)
    db.session.flush()
    return pushes


def allocations(outlet_ids: Iterable[int]) -> dict[int, tuple[float, bool]]:
    """Return the stored allocation (amperes, queued) of each outlet that has one."""
    ids = list(outlet_ids)
    if not ids:
        return {}
    return {
        row.outlet_id: (row.current_a, row.queued)
        for row in db.session.scalars(
            select(OutletAllocation).where(OutletAllocation.outlet_id.in_(ids))
        )
    }


def _push(push: Push) -> commands.CommandResult | None:
    station = db.session.get(Station, push.station_id)
    if station is None:
        return None
    if push.current_a is None:
        command: commands.Command = commands.ClearChargingProfile(
            profile_id=schedule.ALLOCATION_PROFILE_ID + push.outlet_number
        )
    else:
        command = commands.SetChargingProfile(
            push.outlet_number,
            schedule.allocation_profile(
                push.outlet_number, push.session_id, push.current_a
            ),
        )
    return commands.send_command(None, station, command)


def _demands(
    rows: Sequence[Any],
    previous: dict[int, OutletAllocation],
    floor_limits: dict[int, float],
    now: datetime,
) -> tuple[list[Demand], dict[int, tuple[ChargingSession, Outlet, Station]]]:
    """What each running session asks for, oldest first; sessions that no longer count
    (charging finished, or the station offline past the threshold) are left out."""
    threshold = timedelta(seconds=get_settings().offline_threshold)
    demands: list[Demand] = []
    running: dict[int, tuple[ChargingSession, Outlet, Station]] = {}
    for session, outlet, station in rows:
        if outlet.id in running:
            continue  # an older open session on the same outlet is a lost stop
        if outlet.status in _IDLE and (
            outlet.status_at is not None and outlet.status_at >= session.started_at
        ):
            continue
        cap = schedule.outlet_cap_now(outlet, now)
        held: float | None = None
        old = previous.get(outlet.id)
        if station.protocol is not Protocol.OCPP16_JSON:
            held = _uncontrolled_a() if cap is None else min(cap, _uncontrolled_a())
        elif not station.online:
            recent = (
                station.last_seen_at is not None
                and station.last_seen_at >= now - threshold
            )
            if not recent or old is None or old.session_id != session.id:
                continue  # gone past the threshold: no longer counted
            held = old.current_a
        running[outlet.id] = (session, outlet, station)
        demands.append(
            Demand(
                outlet.id,
                schedule.priority_of(outlet.id),
                cap,
                station.floor_id if station.floor_id in floor_limits else None,
                session.started_at.timestamp(),
                held,
            )
        )
    return demands, running


def _managed_site_ids() -> frozenset[int]:
    """Sites with a capacity on themselves or a floor, or with allocations left."""
    rows = db.session.scalars(
        union(
            select(NodeCapacity.site_id).where(NodeCapacity.site_id.is_not(None)),
            select(Station.site_id).join(
                NodeCapacity, NodeCapacity.floor_id == Station.floor_id
            ),
            select(Station.site_id)
            .join(Outlet, Outlet.station_id == Station.id)
            .join(OutletAllocation, OutletAllocation.outlet_id == Outlet.id),
        )
    )
    return frozenset(site_id for site_id in rows if site_id is not None)


def _managed_sites(app: Flask) -> tuple[frozenset[int], float]:
    """This process's (managed site ids, monotonic time until which they hold)."""
    known: tuple[frozenset[int], float] = app.extensions.get(
        "load_management_sites", (frozenset(), 0.0)
    )
    return known


def _refresh_managed_sites(*, force: bool = False) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if force or time.monotonic() >= _managed_sites(app)[1]:
        app.extensions["load_management_sites"] = (
            _managed_site_ids(),
            time.monotonic() + MANAGED_SITES_TTL,
        )


def apply_site(site_id: int, now: datetime | None = None) -> list[Push]:
    """Rebalance a site, commit, then push each change to its station.

    The site's lock is taken before any statement: a thread waiting for it holds no
    transaction (and so no table lock) that the thread holding it could wait for."""
    with _site_lock(site_id):
        _refresh_managed_sites()
        pushes = rebalance_site(site_id, now)
        db.session.commit()
        for push in pushes:
            _push(push)
    return pushes


# ---------------------------------------------------------------------------
# Bringing the schedule to a station


def send_cap_profiles(station: Station, *, clear: bool) -> int:
    """Send the station's cap profiles (1.6 only); with clear, remove those not needed.

    Returns the number of profiles sent.
    """
    if station.protocol is not Protocol.OCPP16_JSON:
        return 0
    sent = 0
    for planned in schedule.cap_profiles(station):
        if planned.profile is not None:
            commands.send_command(
                None,
                station,
                commands.SetChargingProfile(planned.outlet, planned.profile),
            )
            sent += 1
        elif clear:
            commands.send_command(
                None, station, commands.ClearChargingProfile(planned.profile_id)
            )
    return sent


def apply_windows(station: Station, now: datetime | None = None) -> int:
    """Make outlets Unavailable outside their windows and Operative again inside.

    Only outlets the schedule itself closed are reopened. Returns commands sent.
    """
    sent = 0
    closed = schedule.closed_outlets(station, now)
    for outlet in station.outlets:
        state = db.session.get(OutletSchedule, outlet.id)
        by_schedule = state is not None and state.closed_by_schedule
        want_closed = closed.get(outlet.number, False)
        if want_closed and (
            not by_schedule or outlet.status is not OutletStatus.UNAVAILABLE
        ):
            operative = False
        elif not want_closed and by_schedule:
            operative = True
        else:
            continue
        result = commands.send_command(
            None, station, commands.ChangeAvailability(outlet.number, operative)
        )
        sent += 1
        if result.ok:
            schedule.outlet_settings(outlet.id).closed_by_schedule = not operative
            db.session.commit()
    return sent


def resend_station(station_id: int) -> int:
    """Re-send everything the schedule has for a station that (re)connected."""
    station = db.session.get(Station, station_id)
    if station is None or not station.online:
        return 0
    managed = station.site_id is not None and _capacities(station.site_id) != (
        None,
        {},
    )
    if not managed and not schedule.has_rules(station):
        return 0
    sent = send_cap_profiles(station, clear=False)
    sent += apply_windows(station)
    pushed = apply_site(station.site_id) if managed and station.site_id else []
    sent += len(pushed)
    if station.protocol is Protocol.OCPP16_JSON:
        done = {(p.station_id, p.outlet_number) for p in pushed}
        held = allocations(o.id for o in station.outlets)
        for outlet in station.outlets:
            row = held.get(outlet.id)
            allocation = db.session.get(OutletAllocation, outlet.id)
            if row is None or allocation is None or (station.id, outlet.number) in done:
                continue
            _push(Push(station.id, outlet.number, allocation.session_id, row[0]))
            sent += 1
    return sent


def _composite_limit(station: Station, outlet_number: int) -> float | None:
    """Ask the station for its composite limit now on an outlet (None: none)."""
    result = commands.query_station(
        station, commands.GetCompositeSchedule(outlet_number, 60, "A")
    )
    if not result.ok:
        return None
    found = result.data.get("schedule") or {}
    periods = found.get("charging_schedule_period") or []
    if not periods:
        return None
    return float(periods[0].get("limit"))


def verify_profiles(station: Station, now: datetime | None = None) -> bool:
    """Compare what the station applies now with what it should; re-send if not.

    Returns True when the profiles were re-sent.
    """
    held = allocations(o.id for o in station.outlets)
    for outlet in station.outlets:
        expected = schedule.outlet_cap_now(outlet, now)
        if outlet.id in held:
            current = held[outlet.id][0]
            expected = current if expected is None else min(expected, current)
        if expected is None:
            continue
        reported = _composite_limit(station, outlet.number)
        if reported is None or abs(reported - schedule.round_limit(expected)) > 0.05:
            log.info(
                "%s: outlet %s applies %s A, schedule says %s A: re-sending",
                station.chargebox_id,
                outlet.number,
                reported,
                expected,
            )
            resend_station(station.id)
            return True
    return False


def apply_schedule(now: datetime | None = None) -> dict[str, int]:
    """The schedule job: rebalance every site with a capacity, check the profiles of
    every online OCPP 1.6 station with rules or allocations, apply windows."""
    site_ids = set(
        db.session.scalars(
            select(NodeCapacity.site_id).where(NodeCapacity.site_id.is_not(None))
        )
    ) | set(
        db.session.scalars(
            select(Station.site_id).where(
                Station.floor_id.in_(
                    select(NodeCapacity.floor_id).where(
                        NodeCapacity.floor_id.is_not(None)
                    )
                )
            )
        )
    )
    pushed = 0
    for site_id in sorted(s for s in site_ids if s is not None):
        pushed += len(apply_site(site_id, now))
    resent = windows = 0
    station_ids = list(
        db.session.scalars(select(Station.id).where(Station.online.is_(True)))
    )
    for station_id in station_ids:
        station = db.session.get(Station, station_id)
        if station is None:
            continue
        has_rules = schedule.has_rules(station)
        if (
            station.protocol is Protocol.OCPP16_JSON
            and (has_rules or allocations(o.id for o in station.outlets))
            and verify_profiles(station, now)
        ):
            resent += 1
        if has_rules:
            windows += apply_windows(station, now)
    db.session.flush()
    return {
        "allocations_pushed": pushed,
        "stations_resent": resent,
        "availability": windows,
    }


def apply_rule_change(site_id: int | None, station_ids: Sequence[int]) -> None:
    """Bring a change of rules, capacity or priority to the stations concerned."""
    _refresh_managed_sites(force=True)
    for station_id in station_ids:
        station = db.session.get(Station, station_id)
        if station is None or not station.online:
            continue
        send_cap_profiles(station, clear=True)
        apply_windows(station)
    if site_id is not None:
        apply_site(site_id)


# ---------------------------------------------------------------------------
# Receivers


def _app(sender: Any) -> Flask | None:
    return sender if isinstance(sender, Flask) else None


def _on_session_event(sender: Any, **data: Any) -> None:
    app, site_id = _app(sender), data.get("site_id")
    if app is None or site_id is None:
        return
    sites, until = _managed_sites(app)
    if time.monotonic() < until and site_id not in sites:
        return  # no capacity to share there and none shared before: no work at all
    background.submit(app, apply_site, site_id)


def _on_station_connected(sender: Any, **data: Any) -> None:
    app = _app(sender)
    if app is not None:
        background.submit(app, resend_station, data["station_id"])


def _on_rules_changed(sender: Any, **data: Any) -> None:
    app = _app(sender)
    if app is not None:
        background.submit(
            app, apply_rule_change, data.get("site_id"), data.get("station_ids", [])
        )


def init_app(app: Flask) -> None:
    """Connect the receivers (once per process; they act for whichever app sends)."""
    signals.session_started.connect(_on_session_event)
    signals.session_stopped.connect(_on_session_event)
    signals.outlet_status_changed.connect(_on_session_event)
    signals.station_connected.connect(_on_station_connected)
    schedule.rules_changed.connect(_on_rules_changed)
