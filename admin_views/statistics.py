"""Statistics: one row per charging session for the navigator's node (spec §6).

Every column filters (ranges for times, duration and numbers; text or choices for
the rest) and sorts; the list pages on the server with a stable order (ties broken
by session id), counts with one COUNT over the filtered sessions (no joins unless a
filter needs one), and exports the filtered rows as plain columns streamed from a
server-side cursor.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import abort, has_request_context, request, url_for
from flask_admin.contrib.sqla import filters as sqla
from flask_babel import lazy_gettext as _l
from flask_babel import to_utc
from flask_login import current_user
from markupsafe import Markup

from admin_views.base import STAFF, ReadOnlyModelView
from admin_views.charging import format_duration
from admin_views.formatting import TYPE_FORMATTERS, format_moment
from admin_views.navigation import selected_node
from app.models import ChargingSession
from app.services import stats
from app.services.access import get_scoped
from app.services.errors import NotFound
from app.services.nodes import NodeRef

MOMENT_FORMAT = "%Y-%m-%d %H:%M:%S"
ENERGY_REGISTER = "Energy.Active.Import.Register"


# ---------------------------------------------------------------------------
# Filters: times are typed in the portal's zone, numbers as ranges "a to b".


def _local_moment(text: str) -> datetime:
    return to_utc(datetime.strptime(text.strip(), MOMENT_FORMAT))


class MomentBetween(sqla.DateTimeBetweenFilter):
    def clean(self, value: str) -> list[datetime]:
        return [_local_moment(part) for part in value.split(" to ")]


class MomentAfter(sqla.DateTimeGreaterFilter):
    def clean(self, value: str) -> datetime:
        return _local_moment(value)

    def operation(self) -> Any:
        return _l("after")


class MomentBefore(sqla.DateTimeSmallerFilter):
    def clean(self, value: str) -> datetime:
        return _local_moment(value)

    def operation(self) -> Any:
        return _l("before")


class NumberBetween(sqla.BaseSQLAFilter):
    """`low to high`, both included."""

    def clean(self, value: str) -> tuple[float, float]:
        low, high = (float(part) for part in value.split(" to "))
        return low, high

    def validate(self, value: str) -> bool:
        try:
            low, high = self.clean(value)
        except ValueError:
            return False
        return low <= high

    def apply(self, query: Any, value: tuple[float, float], alias: Any = None) -> Any:
        return query.filter(self.get_column(alias).between(*value))

    def operation(self) -> Any:
        return _l("between")


class MinutesBetween(NumberBetween):
    """A duration range typed in minutes, compared in seconds."""

    def clean(self, value: str) -> tuple[float, float]:
        low, high = super().clean(value)
        return low * 60, high * 60


class MinutesGreater(sqla.FloatGreaterFilter):
    def clean(self, value: str) -> float:
        return float(value) * 60


class MinutesSmaller(sqla.FloatSmallerFilter):
    def clean(self, value: str) -> float:
        return float(value) * 60


class ChoiceEqual(sqla.FilterEqual):
    """Equality against fixed choices, compared as integers."""

    def clean(self, value: str) -> int:
        return int(value)


class ScopedChoiceEqual(ChoiceEqual):
    """Equality against choices that depend on who asks (their sites)."""

    def __init__(self, column: Any, name: Any, choices: Any) -> None:
        super().__init__(column, name, options=[("", "")])
        self.choices = choices

    def get_options(self, view: Any) -> Any:
        if not has_request_context() or not current_user.is_authenticated:
            return [("", "")]
        return self.choices(current_user)


def moment_filters(column: Any, name: Any) -> list[Any]:
    return [
        MomentBetween(column, name),
        MomentAfter(column, name),
        MomentBefore(column, name),
    ]


def number_filters(column: Any, name: Any) -> list[Any]:
    return [
        NumberBetween(column, name),
        sqla.FloatGreaterFilter(column, name),
        sqla.FloatSmallerFilter(column, name),
    ]


def text_filters(path: str, name: Any) -> list[Any]:
    return [sqla.FilterLike(path, name), sqla.FilterEqual(path, name)]


# ---------------------------------------------------------------------------
# Lists scoped by the node selected in the navigator


class NodeScopedListView(ReadOnlyModelView):
    """A read-only list limited by role (scope) and by the navigator's node (spec §3)."""

    roles = STAFF

    @property
    def extra_css(self) -> list[str]:  # type: ignore[override]
        return [url_for("static", filename="statistics.css")]

    def list_condition(self, ref: NodeRef) -> Any:
        return stats.node_condition(self.model, ref)

    def node(self) -> NodeRef:
        cached = request.environ.get("portal.node")
        if cached is None:
            cached = request.environ["portal.node"] = selected_node()
        return cached  # type: ignore[no-any-return]

    def get_query(self) -> Any:
        return super().get_query().filter(self.list_condition(self.node()))

    def get_count_query(self) -> Any:
        return super().get_count_query().filter(self.list_condition(self.node()))

    def get_one(self, id: Any) -> Any:
        """Any row in the user's scope opens, whichever node is selected."""
        try:
            return get_scoped(self.model, int(id), current_user)
        except (NotFound, TypeError, ValueError):
            abort(404)

    def _get_list_extra_args(self) -> Any:
        args = super()._get_list_extra_args()
        if args.page is not None and args.page < 0:
            args.page = 0  # a negative page is the first page
        return args

    def _apply_sorting(
        self, query: Any, joins: Any, sort_column: Any, sort_desc: Any
    ) -> Any:
        """Sort as asked, then by id: rows with equal values keep their page."""
        query, joins = super()._apply_sorting(query, joins, sort_column, sort_desc)
        if sort_column is None:
            default = self.column_default_sort
            sort_desc = isinstance(default, tuple) and bool(default[1])
        primary_key = self.model.__mapper__.primary_key[0]
        return query.order_by(
            primary_key.desc() if sort_desc else primary_key.asc()
        ), joins

    def render(self, template: str, **kwargs: Any) -> Any:
        kwargs.setdefault("node_label", stats.node_label(current_user, self.node()))
        return super().render(template, **kwargs)

    def _get_filter_groups(self) -> Any:
        """Filter choices that depend on the user are listed per request."""
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                flt = self._filters[item["index"]]
                if isinstance(flt, ScopedChoiceEqual):
                    item["options"] = [(k, str(v)) for k, v in flt.get_options(self)]
        return groups


# ---------------------------------------------------------------------------
# Statistics


def _duration(_view: Any, _context: Any, session: ChargingSession, _name: str) -> str:
    return format_duration(session.duration_seconds)


def _kwh(digits: int) -> Any:
    def show(_view: Any, _context: Any, session: Any, name: str) -> str:
        value = getattr(session, name)
        return "" if value is None else f"{value:.{digits}f}"

    return show


AUTHENTICATION = {0: _l("0 (anonymous)"), 1: _l("1 (RFID)")}


def _authentication(
    _view: Any, _context: Any, session: ChargingSession, _name: str
) -> str:
    return str(AUTHENTICATION.get(session.authentication, session.authentication))


def _email(_view: Any, _context: Any, session: ChargingSession, _name: str) -> Any:
    if session.user is None:
        return Markup('<span class="text-muted">{}</span>').format(_l("unknown"))
    return session.user.email


LABELS = {
    "started_at": _l("Start time"),
    "duration": _l("Duration"),
    "ended_at": _l("End time"),
    "station.chargebox_id": _l("Node identity"),
    "site.name": _l("Site"),
    "energy_kwh": _l("Energy (kWh)"),
    "station.name": _l("Station"),
    "authentication": _l("Authentication"),
    "id": _l("Session id"),
    "outlet_number": _l("Outlet id"),
    "logged_at": _l("Server log date"),
    "user.email": _l("E-mail"),
    "meter_kwh": _l("Meter value (kWh)"),
    "meter_start_kwh": _l("Meter at start (kWh)"),
    "tag": _l("RFID tag"),
    "outlet": _l("Outlet"),
    "stop_reason": _l("Stop reason"),
}


class StatisticsView(NodeScopedListView):
    """Statistics: every charging session of the selected node, spec §6's columns."""

    list_template = "admin/statistics_list.html"
    details_template = "admin/statistics_details.html"
    column_list = tuple(list(LABELS)[:13])
    column_export_list = column_list
    column_labels = LABELS
    column_details_list = (
        *column_list,
        "meter_start_kwh",
        "tag",
        "outlet",
        "stop_reason",
    )
    # Related rows are read in one extra query per page (selectinload in get_list),
    # so the page's own query stays on charging_session and its indexes.
    column_auto_select_related = False
    column_sortable_list = (
        "started_at",
        ("duration", stats.SESSION_DURATION),
        "ended_at",
        "station.chargebox_id",
        "site.name",
        "energy_kwh",
        "station.name",
        "authentication",
        "id",
        "outlet_number",
        "logged_at",
        "user.email",
        "meter_kwh",
    )
    column_default_sort = ("started_at", True)
    column_filters = (
        *moment_filters(ChargingSession.started_at, LABELS["started_at"]),
        MinutesBetween(stats.SESSION_DURATION, _l("Duration (min)")),
        MinutesGreater(stats.SESSION_DURATION, _l("Duration (min)")),
        MinutesSmaller(stats.SESSION_DURATION, _l("Duration (min)")),
        *moment_filters(ChargingSession.ended_at, LABELS["ended_at"]),
        *text_filters("station.chargebox_id", LABELS["station.chargebox_id"]),
        ScopedChoiceEqual(
            ChargingSession.site_id, LABELS["site.name"], stats.site_choices
        ),
        *number_filters(ChargingSession.energy_kwh, _l("Energy")),
        *text_filters("station.name", LABELS["station.name"]),
        ChoiceEqual(
            ChargingSession.authentication,
            LABELS["authentication"],
            options=[(str(k), v) for k, v in AUTHENTICATION.items()],
        ),
        sqla.IntEqualFilter(ChargingSession.id, LABELS["id"]),
        NumberBetween(ChargingSession.id, LABELS["id"]),
        ChoiceEqual(
            ChargingSession.outlet_number,
            LABELS["outlet_number"],
            options=[(str(n), str(n)) for n in range(1, 5)],
        ),
        *moment_filters(ChargingSession.logged_at, LABELS["logged_at"]),
        *text_filters("user.email", LABELS["user.email"]),
        *number_filters(ChargingSession.meter_kwh, _l("Meter value")),
    )
    column_formatters = {
        "duration": _duration,
        "energy_kwh": _kwh(2),
        "meter_kwh": _kwh(3),
        "meter_start_kwh": _kwh(3),
        "authentication": _authentication,
        "user.email": _email,
    }
    column_type_formatters_detail = TYPE_FORMATTERS
    page_size = 50
    format_moment = staticmethod(format_moment)

    def get_list(
        self,
        page: Any,
        sort_column: Any,
        sort_desc: Any,
        search: Any,
        filters: Any,
        execute: bool = True,
        page_size: Any = None,
    ) -> Any:
        count, query = super().get_list(
            page,
            sort_column,
            sort_desc,
            search,
            filters,
            execute=False,
            page_size=page_size,
        )
        if not execute:
            return count, query
        return count, stats.with_related(query).all()

    def export_rows(self, query: Any) -> Any:
        return stats.session_rows(query)

    def render(self, template: str, **kwargs: Any) -> Any:
        if template == self.details_template and kwargs.get("model") is not None:
            values = stats.meter_values_of(current_user, kwargs["model"].id)
            kwargs["meter_values"] = values
            kwargs["meter_chart"] = json.dumps(_meter_chart(values))
        return super().render(template, **kwargs)


def _meter_chart(values: list[Any]) -> dict[str, Any]:
    """The energy register over time in kWh, else the first measurand reported."""
    energy = [v for v in values if v.measurand == ENERGY_REGISTER]
    if energy:
        label, unit = str(_l("Meter value")), "kWh"
        points = [
            (v.sampled_at, v.value / 1000 if v.unit.lower() == "wh" else v.value)
            for v in energy
        ]
    else:
        first = values[0] if values else None
        label, unit = (first.measurand, first.unit) if first else ("", "")
        points = [(v.sampled_at, v.value) for v in values if v.measurand == label]
    return {
        "label": label,
        "unit": unit,
        "x": [round(moment.timestamp(), 3) for moment, _ in points],
        "y": [round(value, 4) for _, value in points],
    }
