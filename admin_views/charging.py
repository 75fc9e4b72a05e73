"""Charging sessions as EV users see their own (spec §1 EV user)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from admin_views.base import ReadOnlyModelView
from app.models import ChargingSession, Role


def format_duration(seconds: int | None) -> str:
    """Return a duration as spec §6 shows it: `5hrs 16min 50sec`."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}hrs {minutes}min {secs}sec"


def _duration(_view: Any, _context: Any, session: ChargingSession, _name: str) -> str:
    return format_duration(session.duration_seconds)


def _energy(_view: Any, _context: Any, session: ChargingSession, _name: str) -> str:
    return f"{session.energy_kwh:.2f}"


class MyChargingView(ReadOnlyModelView):
    """My charging: the EV user's own sessions (start, duration, energy, station)."""

    roles = (Role.EV_USER,)
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
    column_formatters_export = {"duration": _duration}
    can_view_details = False
