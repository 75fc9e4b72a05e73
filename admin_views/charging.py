"""My charging: the EV user's own sessions, RFID tags and energy per month (spec §1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin_views.base import ReadOnlyModelView
from app.models import ChargingSession, Role
from app.services import stats


def format_duration(seconds: int | None) -> str:
    """Return a duration as spec §6 shows it: `5hrs 16min 50sec`."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}hrs {minutes}min {secs}sec"


def _duration(_view: Any, _context: Any, session: ChargingSession, _name: str) -> str:
    return format_duration(session.duration_seconds)


def _duration_value(
    _view: Any, _context: Any, session: ChargingSession, _name: str
) -> timedelta | None:
    seconds = session.duration_seconds
    return None if seconds is None else timedelta(seconds=seconds)


def _energy(_view: Any, _context: Any, session: ChargingSession, _name: str) -> str:
    return f"{session.energy_kwh:.2f}"


class MyChargingView(ReadOnlyModelView):
    """My charging: own sessions (start, duration, energy, station, site), own tags,
    energy per month, and the export of one's own sessions."""

    roles = (Role.EV_USER,)
    list_template = "admin/my_charging.html"
    column_list = ("started_at", "duration", "energy_kwh", "station.name", "site.name")
    column_labels = {
        "started_at": _l("Start time"),
        "duration": _l("Duration"),
        "energy_kwh": _l("Energy (kWh)"),
        "station.name": _l("Station"),
        "site.name": _l("Site"),
    }
    column_filters = ("started_at", "energy_kwh")
    column_sortable_list = ("started_at", "energy_kwh")
    column_default_sort = ("started_at", True)
    column_formatters = {"duration": _duration, "energy_kwh": _energy}
    # Excel gets typed values: a duration, a number of kWh.
    column_formatters_export = {"duration": _duration_value}
    can_view_details = False

    def render(self, template: str, **kwargs: Any) -> Any:
        if template == self.list_template:
            kwargs["tags"] = stats.own_tags(current_user)
            kwargs["months"] = stats.energy_per_month(current_user, get_timezone())
        return super().render(template, **kwargs)
