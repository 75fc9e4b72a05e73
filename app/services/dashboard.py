"""The dashboard (spec §4): four panels per user from a set of widgets, and news.

Every number is aggregated in SQL over the rows the user may see (access.scope).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Alarm,
    AlarmState,
    ChargingSession,
    DashboardPanel,
    NewsItem,
    Outlet,
    Role,
    Station,
    User,
    utcnow,
)
from app.services import audit, navigator, stats
from app.services.access import require_role, scope
from app.services.errors import InvalidInput
from app.services.nodes import SYSTEM

PANELS = 4
SESSION_DAYS = 14


class Widget(enum.StrEnum):
    STATUS = "status"
    ALARMS = "alarms"
    ENERGY = "energy"
    SESSIONS = "sessions"
    CHARGING = "charging"
    NEWS = "news"


WIDGET_TITLES = {
    Widget.STATUS: _l("Station status"),
    Widget.ALARMS: _l("Active alarms"),
    Widget.ENERGY: _l("Energy today and this month"),
    Widget.SESSIONS: _l("Sessions over the last 14 days"),
    Widget.CHARGING: _l("Charging now"),
    Widget.NEWS: _l("Latest news"),
}
DEFAULT_PANELS = (Widget.STATUS, Widget.ALARMS, Widget.ENERGY, Widget.SESSIONS)


def has_dashboard(user: User) -> bool:
    """Tell whether the user has the operator dashboard (EV users have their own page)."""
    return user.role is not Role.EV_USER


def panels_of(user: User) -> list[Widget]:
    """Return the user's four widgets, slot 1 to 4 (the defaults where unset)."""
    chosen = {
        row.slot: row.widget
        for row in db.session.scalars(
            scope(select(DashboardPanel), user).where(DashboardPanel.user_id == user.id)
        )
    }
    widgets = list(DEFAULT_PANELS)
    for slot, name in chosen.items():
        if 1 <= slot <= PANELS and name in Widget._value2member_map_:
            widgets[slot - 1] = Widget(name)
    return widgets


def set_panels(user: User, widgets: Sequence[Widget | str]) -> list[Widget]:
    """Choose the user's own four widgets (user settings)."""
    if len(widgets) != PANELS:
        raise InvalidInput(_l("Choose a widget for each of the four panels."))
    try:
        chosen = [Widget(widget) for widget in widgets]
    except ValueError:
        raise InvalidInput(_l("No such widget.")) from None
    existing = {row.slot: row for row in user.dashboard_panels}
    for slot, widget in enumerate(chosen, start=1):
        row = existing.get(slot)
        if row is None:
            user.dashboard_panels.append(DashboardPanel(slot=slot, widget=widget.value))
        else:
            row.widget = widget.value
    db.session.flush()
    return chosen


# ---------------------------------------------------------------------------
# Widget data


def status_summary(user: User) -> dict[navigator.NodeStatus, int]:
    """Return how many of the user's stations are idle, charging, faulted, offline."""
    statuses = navigator.node_statuses(user)
    counts = Counter(
        status for ref, status in statuses.items() if ref.startswith("station:")
    )
    return {status: counts.get(status, 0) for status in navigator.NodeStatus}


@dataclass(frozen=True)
class AlarmSummary:
    total: int
    newest: list[Alarm]


def active_alarms(user: User, limit: int = 6) -> AlarmSummary:
    """Return the number of active alarms and the newest few."""
    active: Any = select(Alarm).where(Alarm.state == AlarmState.ACTIVE)
    total = db.session.scalar(
        scope(
            select(func.count(Alarm.id)).where(Alarm.state == AlarmState.ACTIVE),
            user,
            Alarm,
        )
    )
    newest = db.session.scalars(
        scope(active, user, Alarm).order_by(Alarm.raised_at.desc()).limit(limit)
    ).all()
    return AlarmSummary(int(total or 0), list(newest))


@dataclass(frozen=True)
class EnergyTotals:
    today_kwh: float
    month_kwh: float
    today_sessions: int
    month_sessions: int


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), zone)


def energy_totals(user: User, zone: tzinfo) -> EnergyTotals:
    """Return energy and sessions started today and this month (local days)."""
    today = datetime.now(zone).date()
    day_start = _local_midnight(today, zone)
    month_start = _local_midnight(today.replace(day=1), zone)
    is_today = ChargingSession.started_at >= day_start
    stmt: Any = select(
        func.coalesce(func.sum(ChargingSession.energy_kwh), 0.0),
        func.count(ChargingSession.id),
        func.coalesce(
            func.sum(ChargingSession.energy_kwh).filter(is_today),
            0.0,
        ),
        func.count(ChargingSession.id).filter(is_today),
    ).where(ChargingSession.started_at >= month_start)
    month_kwh, month_sessions, today_kwh, today_sessions = db.session.execute(
        scope(stmt, user, ChargingSession)
    ).one()
    return EnergyTotals(
        round(float(today_kwh or 0), 3),
        round(float(month_kwh or 0), 3),
        int(today_sessions or 0),
        int(month_sessions or 0),
    )


def sessions_per_day(
    user: User, zone: tzinfo, days: int = SESSION_DAYS
) -> stats.ChartData:
    """Return the sessions started per local day over the last `days` days."""
    today = datetime.now(zone).date()
    period = stats.Period.of_days(today - timedelta(days=days - 1), today, zone)
    return stats.chart_data(user, SYSTEM, stats.Chart.SESSIONS_DAY, period)


@dataclass(frozen=True)
class RunningSession:
    session_id: int
    station: str
    chargebox_id: str
    outlet: int
    started_at: datetime
    energy_kwh: float


def charging_now(user: User, limit: int = 10) -> list[RunningSession]:
    """Return the sessions running now, newest first."""
    stmt: Any = (
        select(
            ChargingSession.id,
            Station.name,
            Station.chargebox_id,
            ChargingSession.outlet_number,
            ChargingSession.started_at,
            ChargingSession.energy_kwh,
        )
        .join(Station, Station.id == ChargingSession.station_id)
        .where(
            ChargingSession.started_at >= utcnow() - navigator.RUNNING_SESSION_WINDOW,
            ChargingSession.ended_at.is_(None),
        )
        .order_by(ChargingSession.started_at.desc())
        .limit(limit)
    )
    return [
        RunningSession(*row)
        for row in db.session.execute(scope(stmt, user, ChargingSession))
    ]


def outlet_count(user: User) -> int:
    """Return how many outlets the user may see."""
    return int(
        db.session.scalar(scope(select(func.count(Outlet.id)), user, Outlet)) or 0
    )


# ---------------------------------------------------------------------------
# News (spec §4: administrators write them, everyone reads them)


def latest_news(user: User, limit: int = 5) -> list[NewsItem]:
    """Return the newest news items."""
    stmt = select(NewsItem).order_by(NewsItem.published_at.desc()).limit(limit)
    return list(db.session.scalars(scope(stmt, user)))


def _check_news(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise InvalidInput(_l("A news item needs a title."))
    if len(title) > 200:
        raise InvalidInput(_l("A news title is at most 200 characters."))
    return title


def create_news(actor: User, title: str, body: str) -> NewsItem:
    """Publish a news item. Administrators only."""
    require_role(actor, Role.ADMIN)
    item = NewsItem(
        title=_check_news(title), body=(body or "").strip(), author_id=actor.id
    )
    db.session.add(item)
    audit.record_create(actor, item)
    return item


def update_news(actor: User, item: NewsItem, title: str, body: str) -> NewsItem:
    """Change a news item. Administrators only."""
    require_role(actor, Role.ADMIN)
    before = audit.snapshot(item)
    item.title = _check_news(title)
    item.body = (body or "").strip()
    db.session.flush()
    audit.record_update(actor, item, before)
    return item


def delete_news(actor: User, item: NewsItem) -> None:
    """Remove a news item. Administrators only."""
    require_role(actor, Role.ADMIN)
    audit.record_delete(actor, item, audit.snapshot(item))
    db.session.delete(item)
    db.session.flush()
