"""Bringing the schedule to the stations: cap profiles, availability by window, a
re-send on (re)connect, the check of what a station applies, and the schedule job."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import OutletAllocation, OutletSchedule, OutletStatus, Station
from app.services import commands, schedule
from app.services.load_management.sites import (
    Push,
    apply_site,
    capacity_site_ids,
    managed_sites,
    push_allocation,
    refresh_managed_sites,
)

log = logging.getLogger(__name__)


def send_cap_profiles(station: Station, *, clear: bool) -> int:
    """Send the station's cap profiles (OCPP 1.6 and 2.0.1); with clear, remove those not needed.

    Returns the number of profiles sent.
    """
    if not station.protocol.smart_charging:
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


def _is_managed(site_id: int) -> bool:
    """Whether the site shares a capacity (or still holds allocations), from this
    process's managed sites, read at most every MANAGED_SITES_TTL: a fleet that
    reconnects at once reads them once, not once per station."""
    refresh_managed_sites()
    sites, _ = managed_sites(current_app._get_current_object())  # type: ignore[attr-defined]
    return site_id in sites


def resend_station(station_id: int) -> int:
    """Re-send everything the schedule has for a station that (re)connected."""
    station = db.session.get(Station, station_id)
    if station is None or not station.online:
        return 0
    managed = station.site_id is not None and _is_managed(station.site_id)
    if not managed and not schedule.has_rules(station):
        return 0
    sent = send_cap_profiles(station, clear=False)
    sent += apply_windows(station)
    pushed = apply_site(station.site_id) if managed and station.site_id else []
    sent += len(pushed)
    if station.protocol.smart_charging:
        done = {(p.station_id, p.outlet_number) for p in pushed}
        held = schedule.allocations(o.id for o in station.outlets)
        for outlet in station.outlets:
            row = held.get(outlet.id)
            allocation = db.session.get(OutletAllocation, outlet.id)
            if row is None or allocation is None or (station.id, outlet.number) in done:
                continue
            push_allocation(
                Push(station.id, outlet.number, allocation.session_id, row[0])
            )
            sent += 1
    return sent


#: stations read at once by resend_stations (bounds its statements' parameters)
RESEND_CHUNK = 500


def resend_stations(station_ids: Collection[int]) -> int:
    """Re-send everything the schedule has for stations that (re)connected.

    A fleet that reconnects at once is read in chunks: the stations with their
    outlets, and the rules that reach any of them, in one statement each; only a
    station that a rule or a managed site reaches is re-sent to (resend_station)."""
    ids = sorted(set(station_ids))
    sent = 0
    for first in range(0, len(ids), RESEND_CHUNK):
        chunk = db.session.scalars(
            select(Station)
            .where(Station.id.in_(ids[first : first + RESEND_CHUNK]))
            .where(Station.online.is_(True))
            .options(selectinload(Station.outlets))
        ).all()
        managed = {
            s.id for s in chunk if s.site_id is not None and _is_managed(s.site_id)
        }
        ruled = schedule.stations_with_rules(s for s in chunk if s.id not in managed)
        for station in chunk:
            if station.id in managed or station.id in ruled:
                sent += resend_station(station.id)
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
    held = schedule.allocations(o.id for o in station.outlets)
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
    every online station with smart charging with rules or allocations, apply windows."""
    site_ids = db.session.scalars(capacity_site_ids())
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
            station.protocol.smart_charging
            and (has_rules or schedule.allocations(o.id for o in station.outlets))
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
    refresh_managed_sites(force=True)
    for station_id in station_ids:
        station = db.session.get(Station, station_id)
        if station is None or not station.online:
            continue
        send_cap_profiles(station, clear=True)
        apply_windows(station)
    if site_id is not None:
        apply_site(site_id)
