"""Sharing a site (database): the running sessions' demands, the allocations stored
and what changed pushed to the stations as TxProfiles; which sites share a capacity."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import CompoundSelect, Select, or_, select, union

from app.extensions import db
from app.models import (
    ChargingSession,
    NodeCapacity,
    Outlet,
    OutletAllocation,
    OutletStatus,
    Station,
    utcnow,
)
from app.services import commands, schedule
from app.services.load_management.sharing import Demand, share_capacity
from app.services.navigator import RUNNING_SESSION_WINDOW
from app.services.topology import get_settings

#: Seconds a process trusts its list of the sites that share a capacity before it
#: reads it again. A change of capacity made in this process applies at once; one made
#: in another process reaches this one's session events within this time (and the
#: other process rebalances the site itself meanwhile).
MANAGED_SITES_TTL = 10.0

# Statuses that say the outlet draws nothing although its session is still open.
_IDLE = (
    OutletStatus.FINISHING,
    OutletStatus.FAULTED,
    OutletStatus.UNAVAILABLE,
    OutletStatus.AVAILABLE,
)


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


def capacities(site_id: int) -> tuple[float | None, dict[int, float]]:
    """Return the site's declared capacity and its floors' (floor id: amperes)."""
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
    site_limit, floor_limits = capacities(site_id)
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
        controllable = station.protocol.smart_charging and station.online
        if changed and controllable:
            pushes.append(Push(station.id, outlet.number, session.id, share.current_a))
    for old in previous.values():  # sessions that ended or no longer count
        db.session.delete(old)
    db.session.flush()
    return pushes


def push_allocation(push: Push) -> commands.CommandResult | None:
    """Send a station its session's TxProfile at the share, or clear it (None)."""
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
        if not station.protocol.smart_charging:
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


def _capacity_site_selects() -> tuple[Select[int | None], ...]:
    # Separate SELECTs to join in one UNION: SQLite takes no nested compound select.
    return (
        select(NodeCapacity.site_id).where(NodeCapacity.site_id.is_not(None)),
        select(Station.site_id).join(
            NodeCapacity, NodeCapacity.floor_id == Station.floor_id
        ),
    )


def capacity_site_ids() -> CompoundSelect[int | None]:
    """Select the sites with a capacity on themselves or on one of their floors."""
    return union(*_capacity_site_selects())


def _managed_site_ids() -> frozenset[int]:
    """Sites with a capacity on themselves or a floor, or with allocations left."""
    rows = db.session.scalars(
        union(
            *_capacity_site_selects(),
            select(Station.site_id)
            .join(Outlet, Outlet.station_id == Station.id)
            .join(OutletAllocation, OutletAllocation.outlet_id == Outlet.id),
        )
    )
    return frozenset(site_id for site_id in rows if site_id is not None)


def managed_sites(app: Flask) -> tuple[frozenset[int], float]:
    """This process's (managed site ids, monotonic time until which they hold)."""
    known: tuple[frozenset[int], float] = app.extensions.get(
        "load_management_sites", (frozenset(), 0.0)
    )
    return known


def refresh_managed_sites(*, force: bool = False) -> None:
    """Read the managed sites again once they are older than MANAGED_SITES_TTL."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if force or time.monotonic() >= managed_sites(app)[1]:
        app.extensions["load_management_sites"] = (
            _managed_site_ids(),
            time.monotonic() + MANAGED_SITES_TTL,
        )


def apply_site(site_id: int, now: datetime | None = None) -> list[Push]:
    """Rebalance a site, commit, then push each change to its station.

    The site's lock is taken before any statement: a thread waiting for it holds no
    transaction (and so no table lock) that the thread holding it could wait for."""
    with _site_lock(site_id):
        refresh_managed_sites()
        pushes = rebalance_site(site_id, now)
        db.session.commit()
        for push in pushes:
            push_allocation(push)
    return pushes
