"""Alarms: active alarms with Clear, alarm history and the event log (spec §7).

Each table is limited by role and by the navigator's node, filters per column and
exports to Excel like the statistics.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, request
from flask_admin import expose
from flask_admin.contrib.sqla import filters as sqla
from flask_admin.helpers import get_redirect_target
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.wrappers import Response

from admin_views.base import commit_or_flash
from admin_views.filters import EnumEqual
from admin_views.statistics import NodeScopedListView, moment_filters
from app.models import Alarm, AlarmState, EventKind, EventLogEntry
from app.services import alarms, stats
from app.services.nodes import NodeRef

KIND_CHOICES = [(kind.value, label) for kind, label in alarms.DESCRIPTIONS.items()]
EVENT_LABELS = {
    EventKind.BOOT: _l("Boot"),
    EventKind.STATUS: _l("Status change"),
    EventKind.CONNECTED: _l("Connected"),
    EventKind.DISCONNECTED: _l("Disconnected"),
    EventKind.COMMAND_SENT: _l("Command sent"),
    EventKind.COMMAND_RESULT: _l("Command result"),
    EventKind.FIRMWARE: _l("Firmware"),
    EventKind.DIAGNOSTICS: _l("Diagnostics"),
    EventKind.DATA_TRANSFER: _l("Data transfer"),
    EventKind.REJECTED: _l("Rejected"),
    EventKind.ALARM: _l("Alarm"),
    EventKind.LOGIN: _l("Login"),
    EventKind.LOGIN_FAILED: _l("Failed login"),
    EventKind.LOGOUT: _l("Logout"),
    EventKind.CONFIG_CHANGE: _l("Configuration change"),
    EventKind.SECURITY: _l("Security event"),
}

ALARM_LABELS = {
    "raised_at": _l("Create date"),
    "node_name": _l("Node name"),
    "description": _l("Description"),
    "kind": _l("Kind"),
    "clear": "",
    "ended_at": _l("Ended"),
    "ended_by": _l("Cleared by"),
}


def _kind(_view: Any, _context: Any, alarm: Alarm, _name: str) -> str:
    return str(alarms.DESCRIPTIONS.get(alarm.kind, alarm.kind.value))


def _clear_button(view: Any, _context: Any, alarm: Alarm, _name: str) -> Markup:
    return Markup(
        '<form method="post" action="{}" class="d-inline clear-alarm">'
        '<input type="hidden" name="csrf_token" value="{}">'
        '<input type="hidden" name="id" value="{}">'
        '<button type="submit" class="btn btn-sm btn-outline-danger">{}</button>'
        "</form>"
    ).format(
        view.get_url(".clear", url=request.full_path),
        generate_csrf(),
        alarm.id,
        _("Clear"),
    )


def ended_by(alarm: Alarm) -> str:
    """Who ended an alarm: the person who cleared it, or the station (spec §7)."""
    if alarm.state is AlarmState.RESOLVED:
        return _("resolved by station")
    if alarm.cleared_by is not None:
        return alarm.cleared_by.email
    return _("cleared")


def _ended_by(_view: Any, _context: Any, alarm: Alarm, _name: str) -> str:
    return ended_by(alarm)


class ActiveAlarmView(NodeScopedListView):
    """Alarms → Active: create date, node name, description and a Clear button."""

    column_list = ("raised_at", "node_name", "description", "kind", "clear")
    column_export_list = ("raised_at", "node_name", "description", "kind")
    column_labels = ALARM_LABELS
    column_sortable_list = ("raised_at", "node_name", "description", "kind")
    column_default_sort = ("raised_at", True)
    column_filters = (
        *moment_filters(Alarm.raised_at, ALARM_LABELS["raised_at"]),
        *(
            sqla.FilterLike(Alarm.node_name, ALARM_LABELS["node_name"]),
            sqla.FilterLike(Alarm.description, ALARM_LABELS["description"]),
            EnumEqual(Alarm.kind, ALARM_LABELS["kind"], options=KIND_CHOICES),
        ),
    )
    column_formatters = {"kind": _kind, "clear": _clear_button}
    column_formatters_export = {"kind": _kind}
    can_view_details = False

    def list_condition(self, ref: NodeRef) -> Any:
        return stats.active_alarm_condition(ref)

    @expose("/clear/", methods=["POST"])
    def clear(self) -> Response:
        """Clear one active alarm: it moves to the history, audited (spec §7)."""
        back = get_redirect_target() or self.get_url(".index_view")
        ident = request.form.get("id", type=int)
        if ident is None:
            abort(400)
        commit_or_flash(
            lambda: alarms.clear_alarm(current_user, ident),
            lambda alarm: _("Alarm cleared: %(name)s", name=alarm.node_name),
        )
        return redirect(back)


class AlarmHistoryView(NodeScopedListView):
    """Alarms → History: cleared and resolved alarms, who/when they ended."""

    column_list = (
        "raised_at",
        "ended_at",
        "node_name",
        "description",
        "kind",
        "ended_by",
    )
    column_export_list = column_list
    column_labels = ALARM_LABELS
    column_sortable_list = ("raised_at", "ended_at", "node_name", "description", "kind")
    column_default_sort = ("ended_at", True)
    column_filters = (
        *moment_filters(Alarm.raised_at, ALARM_LABELS["raised_at"]),
        *moment_filters(Alarm.ended_at, ALARM_LABELS["ended_at"]),
        sqla.FilterLike(Alarm.node_name, ALARM_LABELS["node_name"]),
        sqla.FilterLike(Alarm.description, ALARM_LABELS["description"]),
        EnumEqual(Alarm.kind, ALARM_LABELS["kind"], options=KIND_CHOICES),
        EnumEqual(
            Alarm.state,
            _l("How it ended"),
            options=[
                (AlarmState.CLEARED.value, _l("cleared")),
                (AlarmState.RESOLVED.value, _l("resolved by station")),
            ],
        ),
    )
    column_formatters = {"kind": _kind, "ended_by": _ended_by}
    column_formatters_export = column_formatters
    can_view_details = False

    def list_condition(self, ref: NodeRef) -> Any:
        return stats.alarm_history_condition(ref)


def _event_kind(_view: Any, _context: Any, entry: EventLogEntry, _name: str) -> str:
    return str(EVENT_LABELS.get(entry.kind, entry.kind.value))


EVENT_COLUMNS = {
    "occurred_at": _l("When"),
    "kind": _l("Event"),
    "node_name": _l("Node name"),
    "message": _l("Message"),
}


class EventLogView(NodeScopedListView):
    """Alarms → Event log: boots, status changes, commands and results, logins, changes."""

    column_list = tuple(EVENT_COLUMNS)
    column_export_list = column_list
    column_labels = EVENT_COLUMNS
    column_sortable_list = ("occurred_at", "kind", "node_name")
    column_default_sort = ("occurred_at", True)
    column_filters = (
        *moment_filters(EventLogEntry.occurred_at, EVENT_COLUMNS["occurred_at"]),
        EnumEqual(
            EventLogEntry.kind,
            EVENT_COLUMNS["kind"],
            options=[(kind.value, label) for kind, label in EVENT_LABELS.items()],
        ),
        sqla.FilterLike(EventLogEntry.node_name, EVENT_COLUMNS["node_name"]),
        sqla.FilterLike(EventLogEntry.message, EVENT_COLUMNS["message"]),
    )
    column_formatters = {"kind": _event_kind}
    column_formatters_export = column_formatters
    can_view_details = False
