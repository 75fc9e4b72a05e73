"""The admin landing page: what the user may see of the installation, at a glance."""

from __future__ import annotations

from flask import redirect, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from admin_views.base import PortalIndexView
from app.extensions import db
from app.models import Alarm, AlarmState, Outlet, Role, Site, Station
from app.services.access import scope


class DashboardView(PortalIndexView):
    """Dashboard: the user's sites as a tree with station status (EV users: own page)."""

    @expose("/")
    def index(self) -> Response | str:
        if current_user.role is Role.EV_USER:
            return redirect(url_for("my_charging.index_view"))
        sites = db.session.scalars(
            scope(select(Site).order_by(Site.name), current_user)
        ).all()
        stations = db.session.scalars(
            scope(select(Station).order_by(Station.name), current_user)
        ).all()
        outlet_count = db.session.scalar(
            scope(select(func.count(Outlet.id)), current_user, Outlet)
        )
        active_alarms = db.session.scalar(
            scope(
                select(func.count(Alarm.id)).where(Alarm.state == AlarmState.ACTIVE),
                current_user,
                Alarm,
            )
        )
        by_floor: dict[int | None, list[Station]] = {}
        for station in stations:
            by_floor.setdefault(station.floor_id, []).append(station)
        return self.render(
            "admin/dashboard.html",
            sites=sites,
            stations=stations,
            by_floor=by_floor,
            outlet_count=outlet_count,
            active_alarms=active_alarms,
        )
