"""Caps as OCPP 1.6-shaped charging profiles (the command carries them as a dict; the
adapter only renames keys): a station's recurring cap profiles, a session's share."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import current_app

from app.models import ScheduleRule, Station
from app.services.nodes import NodeRef
from app.services.schedule.rules import DAY, chain, rules_on, zone
from app.services.schedule.week import Segment, segments, week_start

WEEK = timedelta(days=7)

# OCPP 1.6 §3.13: one profile per purpose from the portal, each with a fixed id so a
# re-send replaces it. Stack level 1 leaves level 0 to a manufacturer's own default.
STACK_LEVEL = 1
STATION_MAX_PROFILE_ID = 1
OUTLET_DEFAULT_PROFILE_ID = 10  # + outlet number
ALLOCATION_PROFILE_ID = 100  # + outlet number


def unlimited_a() -> float:
    """Return the limit sent for "no cap" inside a weekly profile."""
    return float(current_app.config.get("SCHEDULE_UNCAPPED_A", 63.0))


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
