"""The EV user's own charging page (spec §1): sessions and energy per month, and the
user's RFID tags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import ChargingSession, RfidTag, User
from app.services.access import scope
from app.services.stats.periods import Bucket, Period, as_zoneinfo, local_time


@dataclass(frozen=True)
class MonthTotal:
    month: str  # YYYY-MM
    sessions: int
    energy_kwh: float


def energy_per_month(user: User, zone: tzinfo, months: int = 12) -> list[MonthTotal]:
    """Return the user's own sessions and energy per month, newest first."""
    zone = as_zoneinfo(zone)
    today = datetime.now(zone).date()
    first = today.replace(day=1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    period = Period.of_days(first, today, zone)
    month = Bucket("month", local_time(ChargingSession.started_at, period)).label("m")
    stmt: Any = (
        select(month, func.count(), func.sum(ChargingSession.energy_kwh))
        .where(
            ChargingSession.user_id == user.id,
            ChargingSession.started_at >= period.start,
            ChargingSession.started_at < period.end,
        )
        .group_by(month)
        .order_by(month.desc())
    )
    return [
        MonthTotal(str(label)[:7], int(count), round(float(energy or 0), 3))
        for label, count, energy in db.session.execute(
            scope(stmt, user, ChargingSession)
        )
    ]


def own_tags(user: User) -> list[RfidTag]:
    """Return the user's own RFID tags."""
    stmt = select(RfidTag).where(RfidTag.user_id == user.id).order_by(RfidTag.tag)
    return list(db.session.scalars(scope(stmt, user)))
