"""Diagrams: predefined charts of the navigator's node over a chosen period (spec §5).

The page is a menu of charts and a period under the chart; the browser fetches the
chart's data as JSON (aggregated in SQL by app.services.stats) and draws it with
the uPlot library served from app/static/vendor.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import jsonify, request
from flask_admin import expose
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from admin_views.base import STAFF, PortalView
from admin_views.navigation import selected_node
from app.services import stats
from app.services.errors import DomainError, InvalidInput

DEFAULT_DAYS = {
    stats.Chart.ENERGY_DAY: 30,
    stats.Chart.ENERGY_WEEK: 182,
    stats.Chart.ENERGY_MONTH: 365,
    stats.Chart.SESSIONS_DAY: 30,
    stats.Chart.UTILISATION: 30,
    stats.Chart.HOURS: 90,
    stats.Chart.TOP_STATIONS: 30,
}


def _chart(text: str | None) -> stats.Chart:
    try:
        return stats.Chart(text or stats.Chart.ENERGY_DAY)
    except ValueError:
        return stats.Chart.ENERGY_DAY


def _day(text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(_("Dates are written YYYY-MM-DD.")) from exc


def _day_or(text: str | None, default: date) -> date:
    try:
        return _day(text, default)
    except InvalidInput:
        return default


class DiagramsView(PortalView):
    """Diagrams: one chart at a time from the menu, its period adjustable below it."""

    roles = STAFF

    @expose("/")
    def index(self) -> str:
        chart = _chart(request.args.get("chart"))
        today = datetime.now(get_timezone()).date()
        first = today - timedelta(days=DEFAULT_DAYS[chart] - 1)
        ref = selected_node()
        return self.render(
            "admin/diagrams.html",
            chart=chart,
            charts=stats.CHART_TITLES,
            first=_day_or(request.args.get("from"), first),
            last=_day_or(request.args.get("to"), today),
            node_label=stats.node_label(current_user, ref),
            node=str(ref),
        )

    @expose("/data")
    def data(self) -> Response | tuple[Response, int]:
        """Return one chart's data as JSON for the selected node and period."""
        chart = _chart(request.args.get("chart"))
        today = datetime.now(get_timezone()).date()
        try:
            period = stats.Period.of_days(
                _day(request.args.get("from"), today - timedelta(days=29)),
                _day(request.args.get("to"), today),
                get_timezone(),
            )
            result: Any = stats.chart_data(current_user, selected_node(), chart, period)
        except DomainError as exc:
            return jsonify(error=str(exc)), 400
        return jsonify(result.as_json())
