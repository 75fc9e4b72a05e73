"""The admin landing page (spec §4): the user's four panels and the news."""

from __future__ import annotations

from typing import Any

from flask import redirect, url_for
from flask_admin import expose
from flask_babel import get_timezone
from flask_login import current_user
from werkzeug.wrappers import Response

from admin_views.base import PortalIndexView
from admin_views.formatting import format_moment
from app.models import Role
from app.services import dashboard, navigator


def _widget_data(widget: dashboard.Widget) -> Any:
    zone = get_timezone()
    loaders = {
        dashboard.Widget.STATUS: lambda: dashboard.status_summary(current_user),
        dashboard.Widget.ALARMS: lambda: dashboard.active_alarms(current_user),
        dashboard.Widget.ENERGY: lambda: dashboard.energy_totals(current_user, zone),
        dashboard.Widget.SESSIONS: lambda: dashboard.sessions_per_day(
            current_user, zone
        ).as_json(),
        dashboard.Widget.CHARGING: lambda: dashboard.charging_now(current_user),
        dashboard.Widget.NEWS: lambda: dashboard.latest_news(current_user),
    }
    return loaders[widget]()


class DashboardView(PortalIndexView):
    """Dashboard: four panels chosen in user settings (EV users: their own page)."""

    @expose("/")
    def index(self) -> Response | str:
        if current_user.role is Role.EV_USER:
            return redirect(url_for("my_charging.index_view"))
        widgets = dashboard.panels_of(current_user)
        panels = [
            {
                "widget": widget.value,
                "title": dashboard.WIDGET_TITLES[widget],
                "data": _widget_data(widget),
            }
            for widget in widgets
        ]
        return self.render(
            "admin/dashboard.html",
            panels=panels,
            news=dashboard.latest_news(current_user, limit=20),
            statuses=navigator.NodeStatus,
            format_moment=format_moment,
        )
