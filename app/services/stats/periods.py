"""Periods counted in a zone, and the SQL that reads stored UTC times in it (local
days, weeks, months and hours; seconds between two times), compiled per dialect.

SQLite and PostgreSQL differ in date arithmetic, so these are SQL constructs
compiled per dialect, never string-built by callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.services.errors import InvalidInput

# ---------------------------------------------------------------------------
# Periods in a zone


def as_zoneinfo(zone: tzinfo) -> tzinfo:
    """Return a zone as zoneinfo: Flask-Babel hands out pytz zones, which
    datetime.combine gets wrong (local mean time); UTC for one without a name."""
    name = getattr(zone, "key", None) or getattr(zone, "zone", None)
    if not name or name == "UTC":
        return UTC
    return ZoneInfo(name)


# The longest period a chart may cover (bounds the number of points drawn).
MAX_PERIOD = timedelta(days=3660)


@dataclass(frozen=True)
class Period:
    """[start, end) as aware moments, and the zone days and hours are counted in."""

    start: datetime
    end: datetime
    zone: tzinfo = UTC

    @classmethod
    def of_days(cls, first: date, last: date, zone: tzinfo) -> Period:
        """Return the period from the start of `first` to the end of `last`, local days."""
        if last < first:
            raise InvalidInput(_l("The end of the period is before its start."))
        zone = as_zoneinfo(zone)
        start = datetime.combine(first, datetime.min.time(), zone)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
        if end - start > MAX_PERIOD:
            raise InvalidInput(_l("Choose a period of at most ten years."))
        return cls(start.astimezone(UTC), end.astimezone(UTC), zone)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


# ---------------------------------------------------------------------------
# SQL constructs that differ per dialect


class seconds_between(FunctionElement[float]):  # noqa: N801 (reads as SQL)
    """Seconds from the first time to the second, as a float."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between)
def _seconds_between_sqlite(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = list(element.clauses)
    # julianday() is a float of days: ≈ 1e-5 s of noise, rounded off to the millisecond.
    return (
        f"ROUND((julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)})) * 86400.0, 3)"
    )


@compiles(seconds_between, "postgresql")
def _seconds_between_pg(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (
        f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - "
        f"{compiler.process(start, **kw)}))"
    )


class _LocalTime(FunctionElement[Any]):
    """A stored UTC time as the wall-clock time of a zone (naive).

    PostgreSQL knows zones (AT TIME ZONE); SQLite does not, so it gets the zone's
    UTC offsets over the period as a CASE on the moments they change (DST).
    """

    inherit_cache = False

    def __init__(self, column: Any, zone: str, shifts: Sequence[tuple[str, int]]):
        super().__init__(column)
        self.zone = zone
        # [(UTC moment as stored by SQLite, offset in minutes from then on), ...]
        self.shifts = list(shifts)


@compiles(_LocalTime)
def _local_time_sqlite(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    first, *later = element.shifts
    if not later:
        return f"datetime({column}, '{first[1]:+d} minutes')"
    branches = " ".join(
        f"WHEN {column} < '{moment}' THEN '{offset:+d} minutes'"
        for (moment, _), (_, offset) in zip(later, element.shifts, strict=False)
    )
    return f"datetime({column}, CASE {branches} ELSE '{later[-1][1]:+d} minutes' END)"


@compiles(_LocalTime, "postgresql")
def _local_time_pg(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    zone = element.zone.replace("'", "")
    return f"({column} AT TIME ZONE '{zone}')"


class Bucket(FunctionElement[str]):
    """The local day, week (starting Monday) or month of a local time, as YYYY-MM-DD."""

    type = String()
    inherit_cache = False

    def __init__(self, unit: str, local: Any):
        super().__init__(local)
        self.unit = unit


_SQLITE_BUCKETS = {
    "day": "strftime('%Y-%m-%d', {})",
    "week": "date({}, '-6 days', 'weekday 1')",
    "month": "strftime('%Y-%m-01', {})",
    "hour": "CAST(strftime('%H', {}) AS INTEGER)",
}
_PG_BUCKETS = {
    "day": "to_char({}, 'YYYY-MM-DD')",
    "week": "to_char(date_trunc('week', {}), 'YYYY-MM-DD')",
    "month": "to_char({}, 'YYYY-MM-01')",
    "hour": "CAST(EXTRACT(HOUR FROM {}) AS INTEGER)",
}


@compiles(Bucket)
def _bucket_sqlite(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return _SQLITE_BUCKETS[element.unit].format(
        compiler.process(next(iter(element.clauses)), **kw)
    )


@compiles(Bucket, "postgresql")
def _bucket_pg(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return _PG_BUCKETS[element.unit].format(
        compiler.process(next(iter(element.clauses)), **kw)
    )


def _sqlite_moment(moment: datetime) -> str:
    # The text SQLAlchemy stores a UTC time as in SQLite (compared as text).
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _offset_minutes(zone: tzinfo, moment: datetime) -> int:
    offset = moment.astimezone(zone).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)


def _zone_shifts(zone: tzinfo, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """Return the zone's UTC offsets over [start, end) and the moments they change."""
    shifts = [(_sqlite_moment(start), _offset_minutes(zone, start))]
    step = timedelta(hours=6)
    moment = start
    while moment < end:
        following = min(moment + step, end)
        if _offset_minutes(zone, following) != shifts[-1][1]:
            low, high = moment, following
            while high - low > timedelta(minutes=1):  # bisect to the minute
                middle = low + (high - low) / 2
                if _offset_minutes(zone, middle) == shifts[-1][1]:
                    low = middle
                else:
                    high = middle
            high = high.replace(second=0, microsecond=0)
            shifts.append((_sqlite_moment(high), _offset_minutes(zone, high)))
        moment = following
    return shifts


def local_time(column: Any, period: Period) -> Any:
    """Return an expression of a stored time as wall-clock time in the period's zone."""
    zone_name = getattr(period.zone, "key", "UTC")
    return _LocalTime(
        column, zone_name, _zone_shifts(period.zone, period.start, period.end)
    )
