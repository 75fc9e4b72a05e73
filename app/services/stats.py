"""Statistics: charging sessions, alarms and events under a node, and chart data.

Every query here goes through access.scope() and the navigator's node (spec §3,
§5, §6, §7); aggregation happens in SQL. SQLite and PostgreSQL differ in date
arithmetic, so the few dialect-specific expressions are SQL constructs compiled
per dialect below, never string-built by callers.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Query, aliased, selectinload
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.extensions import db
from app.models import (
    Alarm,
    AlarmState,
    ChargingSession,
    EventLogEntry,
    MeterValue,
    Outlet,
    RfidTag,
    Site,
    Station,
    User,
)
from app.models.base import UTCDateTime
from app.services.access import get_scoped, scope
from app.services.errors import InvalidInput
from app.services.nodes import NodeKind, NodeRef, load_node, station_condition

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


class _Bucket(FunctionElement[str]):
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


@compiles(_Bucket)
def _bucket_sqlite(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return _SQLITE_BUCKETS[element.unit].format(
        compiler.process(next(iter(element.clauses)), **kw)
    )


@compiles(_Bucket, "postgresql")
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


def as_zoneinfo(zone: tzinfo) -> tzinfo:
    """Return a zone as zoneinfo: Flask-Babel hands out pytz zones, which
    datetime.combine gets wrong (local mean time); UTC for one without a name."""
    name = getattr(zone, "key", None) or getattr(zone, "zone", None)
    if not name or name == "UTC":
        return UTC
    return ZoneInfo(name)


def local_time(column: Any, period: Period) -> Any:
    """Return an expression of a stored time as wall-clock time in the period's zone."""
    zone_name = getattr(period.zone, "key", "UTC")
    return _LocalTime(
        column, zone_name, _zone_shifts(period.zone, period.start, period.end)
    )


# ---------------------------------------------------------------------------
# The node selected in the navigator


def _stations_under(ref: NodeRef) -> Select[Any]:
    return select(Station.id).where(station_condition(ref))


def session_condition(ref: NodeRef) -> ColumnElement[bool]:
    """Return the condition selecting the sessions under a node (indexed columns)."""
    if ref.kind is NodeKind.SITE:
        # The session's own site: it keeps the site it happened at (model docstring).
        return ChargingSession.site_id == ref.id
    if ref.kind is NodeKind.STATION:
        return ChargingSession.station_id == ref.id
    if ref.kind is NodeKind.OUTLET:
        return ChargingSession.outlet_id == ref.id
    if ref.kind is NodeKind.FLOOR:
        return ChargingSession.station_id.in_(_stations_under(ref))
    return true()


def alarm_condition(ref: NodeRef) -> ColumnElement[bool]:
    """Return the condition selecting the alarms raised on or under a node."""
    if ref.kind is NodeKind.SITE:
        return Alarm.site_id == ref.id
    if ref.kind is NodeKind.STATION:
        return Alarm.station_id == ref.id
    if ref.kind is NodeKind.OUTLET:
        return Alarm.outlet_id == ref.id
    if ref.kind is NodeKind.FLOOR:
        return Alarm.station_id.in_(_stations_under(ref))
    return true()


def event_condition(ref: NodeRef) -> ColumnElement[bool]:
    """Return the condition selecting the event log entries of a node (events name stations)."""
    if ref.kind is NodeKind.SITE:
        return EventLogEntry.site_id == ref.id
    if ref.kind is NodeKind.STATION:
        return EventLogEntry.station_id == ref.id
    if ref.kind in (NodeKind.FLOOR, NodeKind.OUTLET):
        return EventLogEntry.station_id.in_(_stations_under(ref))
    return true()


_CONDITIONS: dict[type, Callable[[NodeRef], ColumnElement[bool]]] = {
    ChargingSession: session_condition,
    Alarm: alarm_condition,
    EventLogEntry: event_condition,
}


def node_condition(model: type, ref: NodeRef) -> ColumnElement[bool]:
    """Return the condition selecting the model's rows under a node."""
    return _CONDITIONS[model](ref)


def active_alarm_condition(ref: NodeRef) -> ColumnElement[bool]:
    """Return the condition of the active alarms under a node (spec §7 Active alarms)."""
    return and_(Alarm.state == AlarmState.ACTIVE, alarm_condition(ref))


def alarm_history_condition(ref: NodeRef) -> ColumnElement[bool]:
    """Return the condition of the cleared and resolved alarms under a node."""
    return and_(Alarm.state != AlarmState.ACTIVE, alarm_condition(ref))


Q = TypeVar("Q", bound=Any)


def under_node(stmt: Q, user: User | None, ref: NodeRef, model: type) -> Q:
    """Limit a query of sessions, alarms or events to the user's scope and the node.

    `stmt` is a select or a legacy Query (Flask-Admin's) of the model.
    """
    scoped: Any = scope(stmt, user, model)
    return scoped.where(_CONDITIONS[model](ref))  # type: ignore[no-any-return]


def node_label(user: User, ref: NodeRef) -> str:
    """Return how the navigator's node reads on a page ("Whole system" for none)."""
    row = load_node(ref, user)
    return str(_l("Whole system")) if row is None else str(row)


def site_choices(user: User) -> list[tuple[str, str]]:
    """Return (id, name) of the sites the user may see, for a filter's choices."""
    stmt: Any = select(Site.id, Site.name).order_by(Site.name)
    sites = db.session.execute(scope(stmt, user, Site))
    return [(str(ident), name) for ident, name in sites]


# ---------------------------------------------------------------------------
# Charging sessions: detail and export rows

SESSION_DURATION = seconds_between(ChargingSession.started_at, ChargingSession.ended_at)


@dataclass(frozen=True)
class SessionDetail:
    session: ChargingSession
    meter_values: list[MeterValue]


def meter_values_of(user: User, session_id: int) -> list[MeterValue]:
    """Return a session's meter values in time order, if the user may see the session."""
    get_scoped(ChargingSession, session_id, user)
    stmt = (
        select(MeterValue)
        .where(MeterValue.session_id == session_id)
        .order_by(MeterValue.sampled_at, MeterValue.id)
    )
    return list(db.session.scalars(scope(stmt, user)))


def session_detail(user: User, session_id: int) -> SessionDetail:
    """Return one session with its meter values (NotFound outside the user's scope)."""
    session = get_scoped(ChargingSession, session_id, user)
    return SessionDetail(session, meter_values_of(user, session_id))


def with_related(query: Query[Any]) -> Query[Any]:
    """Load a page's sites, stations, outlets and users in one query each (no joins).

    The page's own query then stays on charging_session, where the indexes serve
    the filter and the sort.
    """
    return query.options(
        selectinload(ChargingSession.site),
        selectinload(ChargingSession.station),
        selectinload(ChargingSession.outlet),
        selectinload(ChargingSession.user),
    )


def _time_reader(
    query: Query[Any],
) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """Return (how to select, how to read) a time column for a fast export.

    SQLite keeps times as text that SQLAlchemy parses with a regular expression
    (≈ 4 µs a value, 12 s for a million rows of three times); reading the text and
    parsing it with datetime.fromisoformat costs a tenth of that.
    """
    if query.session.get_bind().dialect.name != "sqlite":
        return (lambda column: column), (lambda value: value)

    def read(text: str | None) -> datetime | None:
        return (
            None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)
        )

    return (lambda column: type_coerce(column, String())), read


def session_rows(query: Query[Any], *, batch: int = 2000) -> Iterator[tuple[Any, ...]]:
    """Yield the spec §6 fields of the sessions a filtered, sorted query selects.

    The query is the (scoped, filtered, sorted) list query; it is read as plain
    columns in batches (a server-side cursor on PostgreSQL), never as a list of
    objects. Fields: start, duration (timedelta), end, node identity, site, energy,
    station, authentication, session id, outlet id, server log date, e-mail, meter
    value.
    """
    site, station, driver = aliased(Site), aliased(Station), aliased(User)
    raw, read = _time_reader(query)
    rows = (
        query.outerjoin(site, site.id == ChargingSession.site_id)
        .outerjoin(station, station.id == ChargingSession.station_id)
        .outerjoin(driver, driver.id == ChargingSession.user_id)
        .with_entities(
            raw(ChargingSession.started_at),
            raw(ChargingSession.ended_at),
            station.chargebox_id,
            site.name,
            ChargingSession.energy_kwh,
            station.name,
            ChargingSession.authentication,
            ChargingSession.id,
            ChargingSession.outlet_number,
            raw(ChargingSession.logged_at),
            driver.email,
            ChargingSession.meter_kwh,
        )
        .execution_options(yield_per=batch)
    )
    for started_text, ended_text, *middle, logged_text, email, meter in rows:
        started, ended = read(started_text), read(ended_text)
        duration = ended - started if ended is not None else None
        yield (started, duration, ended, *middle, read(logged_text), email, meter)


# ---------------------------------------------------------------------------
# Diagrams (spec §5)


class Chart(enum.StrEnum):
    ENERGY_DAY = "energy_day"
    ENERGY_WEEK = "energy_week"
    ENERGY_MONTH = "energy_month"
    SESSIONS_DAY = "sessions_day"
    UTILISATION = "utilisation"
    HOURS = "hours"
    TOP_STATIONS = "top_stations"


CHART_TITLES = {
    Chart.ENERGY_DAY: _l("Energy per day"),
    Chart.ENERGY_WEEK: _l("Energy per week"),
    Chart.ENERGY_MONTH: _l("Energy per month"),
    Chart.SESSIONS_DAY: _l("Sessions per day"),
    Chart.UTILISATION: _l("Utilisation per station"),
    Chart.HOURS: _l("Sessions by hour of day"),
    Chart.TOP_STATIONS: _l("Top stations by energy"),
}

# The longest period a chart may cover (bounds the number of points drawn).
MAX_PERIOD = timedelta(days=3660)
TOP = 20


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


@dataclass(frozen=True)
class Series:
    label: str
    unit: str
    values: list[float]


@dataclass(frozen=True)
class ChartData:
    chart: Chart
    title: str
    # "time": labels are local dates (YYYY-MM-DD); "category": names or hours.
    axis: str
    labels: list[str]
    series: list[Series] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "chart": self.chart.value,
            "title": self.title,
            "axis": self.axis,
            "labels": self.labels,
            "series": [
                {"label": s.label, "unit": s.unit, "values": s.values}
                for s in self.series
            ],
        }


def _sessions_in(user: User, ref: NodeRef, period: Period) -> Select[Any]:
    """Sessions under the node that started in the period (uses the started_at indexes)."""
    stmt = select(ChargingSession.id).where(
        ChargingSession.started_at >= period.start,
        ChargingSession.started_at < period.end,
    )
    return under_node(stmt, user, ref, ChargingSession)


def _buckets(unit: str, period: Period) -> list[str]:
    """Return every local day / week start / month start label of the period."""
    first = period.start.astimezone(period.zone).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(period.zone).date()
    if unit == "week":
        first -= timedelta(days=first.weekday())
    if unit == "month":
        first = first.replace(day=1)
    labels = []
    day = first
    while day <= last:
        labels.append(day.isoformat())
        if unit == "day":
            day += timedelta(days=1)
        elif unit == "week":
            day += timedelta(days=7)
        else:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return labels


def _over_time(
    user: User, ref: NodeRef, period: Period, unit: str, measure: Any
) -> dict[str, float]:
    bucket = _Bucket(unit, local_time(ChargingSession.started_at, period)).label("b")
    stmt = (
        _sessions_in(user, ref, period)
        .with_only_columns(bucket, measure)
        .group_by(bucket)
    )
    return {label: float(value or 0) for label, value in db.session.execute(stmt)}


def _time_chart(chart: Chart, user: User, ref: NodeRef, period: Period) -> ChartData:
    unit = {
        Chart.ENERGY_DAY: "day",
        Chart.ENERGY_WEEK: "week",
        Chart.ENERGY_MONTH: "month",
        Chart.SESSIONS_DAY: "day",
    }[chart]
    measure: Any
    if chart is Chart.SESSIONS_DAY:
        measure, label, unit_name = func.count(), str(_l("Sessions")), ""
    else:
        measure = func.sum(ChargingSession.energy_kwh)
        label, unit_name = str(_l("Energy")), "kWh"
    values = _over_time(user, ref, period, unit, measure)
    labels = _buckets(unit, period)
    return ChartData(
        chart,
        str(CHART_TITLES[chart]),
        "time",
        labels,
        [Series(label, unit_name, [round(values.get(b, 0.0), 3) for b in labels])],
    )


def _hours_chart(user: User, ref: NodeRef, period: Period) -> ChartData:
    hour = _Bucket("hour", local_time(ChargingSession.started_at, period)).label("h")
    stmt = (
        _sessions_in(user, ref, period)
        .with_only_columns(hour, func.count())
        .group_by(hour)
    )
    counts = {int(h): int(n) for h, n in db.session.execute(stmt)}
    return ChartData(
        Chart.HOURS,
        str(CHART_TITLES[Chart.HOURS]),
        "category",
        [f"{h:02d}" for h in range(24)],
        [
            Series(
                str(_l("Sessions started")), "", [counts.get(h, 0) for h in range(24)]
            )
        ],
    )


# Grouping by station_id + 0, not station_id: SQLite would otherwise read every
# session through the (station_id, started_at) index to get them in group order
# instead of only the period's through the started_at index (4x slower at 1M rows).
_STATION_KEY = ChargingSession.station_id + 0


def _station_label(name: str, chargebox_id: str) -> str:
    return f"{name} ({chargebox_id})" if name != chargebox_id else name


def _top_stations_chart(user: User, ref: NodeRef, period: Period) -> ChartData:
    energy = func.sum(ChargingSession.energy_kwh).label("energy")
    per_station = (
        _sessions_in(user, ref, period)
        .with_only_columns(_STATION_KEY.label("station_id"), energy)
        .group_by(_STATION_KEY)
        .order_by(energy.desc())
        .limit(TOP)
        .subquery()
    )
    rows = db.session.execute(
        select(Station.name, Station.chargebox_id, per_station.c.energy)
        .join(per_station, per_station.c.station_id == Station.id)
        .order_by(per_station.c.energy.desc(), Station.name)
    ).all()
    return ChartData(
        Chart.TOP_STATIONS,
        str(CHART_TITLES[Chart.TOP_STATIONS]),
        "category",
        [_station_label(name, cid) for name, cid, _ in rows],
        [Series(str(_l("Energy")), "kWh", [round(float(e or 0), 3) for *_, e in rows])],
    )


def _utilisation_chart(user: User, ref: NodeRef, period: Period) -> ChartData:
    """Share of the period each station's outlets were charging, highest first."""
    start = literal(period.start, UTCDateTime())
    end = literal(period.end, UTCDateTime())
    session_end = func.coalesce(ChargingSession.ended_at, end)
    started = ChargingSession.started_at
    clipped_start = case((started < start, start), else_=started)
    clipped_end = case((session_end > end, end), else_=session_end)
    busy = func.sum(seconds_between(clipped_start, clipped_end)).label("busy")
    # Sessions overlapping the period, as two conditions each index serves:
    # started inside it (started_at), or started before and still going at its
    # start (ended_at, or NULL while charging).
    overlapping = or_(
        and_(started >= period.start, started < period.end),
        and_(
            started < period.start,
            or_(
                ChargingSession.ended_at > period.start,
                ChargingSession.ended_at.is_(None),
            ),
        ),
    )
    per_station = under_node(
        select(_STATION_KEY.label("station_id"), busy)
        .where(overlapping)
        .group_by(_STATION_KEY),
        user,
        ref,
        ChargingSession,
    ).subquery()
    outlets = (
        select(Outlet.station_id, func.count(Outlet.id).label("outlets"))
        .group_by(Outlet.station_id)
        .subquery()
    )
    share = (
        per_station.c.busy
        * 100.0
        / (func.coalesce(outlets.c.outlets, 1) * period.seconds)
    ).label("share")
    rows = db.session.execute(
        select(Station.name, Station.chargebox_id, share)
        .join(per_station, per_station.c.station_id == Station.id)
        .outerjoin(outlets, outlets.c.station_id == Station.id)
        .order_by(share.desc(), Station.name)
        .limit(TOP)
    ).all()
    return ChartData(
        Chart.UTILISATION,
        str(CHART_TITLES[Chart.UTILISATION]),
        "category",
        [_station_label(name, cid) for name, cid, _ in rows],
        [
            Series(
                str(_l("Time charging")),
                "%",
                [round(float(s or 0), 2) for *_, s in rows],
            )
        ],
    )


def chart_data(user: User, ref: NodeRef, chart: Chart, period: Period) -> ChartData:
    """Return the data of one predefined chart for the node, aggregated in SQL."""
    if chart is Chart.HOURS:
        return _hours_chart(user, ref, period)
    if chart is Chart.TOP_STATIONS:
        return _top_stations_chart(user, ref, period)
    if chart is Chart.UTILISATION:
        return _utilisation_chart(user, ref, period)
    return _time_chart(chart, user, ref, period)


# ---------------------------------------------------------------------------
# The EV user's own pages (spec §1)


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
    month = _Bucket("month", local_time(ChargingSession.started_at, period)).label("m")
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
