"""The node selected in the navigator: which sessions, alarms and events lie under it
within the user's scope, how it reads on a page, the sites a filter offers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, select, true
from sqlalchemy.orm import QueryableAttribute

from app.extensions import db
from app.models import (
    Alarm,
    AlarmState,
    ChargingSession,
    EventLogEntry,
    Site,
    Station,
    User,
)
from app.services.access import scope
from app.services.nodes import NodeKind, NodeRef, load_node, station_condition


def _stations_under(ref: NodeRef) -> Select[Any]:
    return select(Station.id).where(station_condition(ref))


def _rows_under(
    ref: NodeRef,
    site_id: QueryableAttribute[Any],
    station_id: QueryableAttribute[Any],
    outlet_id: QueryableAttribute[Any] | None = None,
) -> ColumnElement[bool]:
    """Select rows that name their site, station and maybe outlet, under a node.

    Sites, stations and outlets by the row's own (indexed) columns; a floor, and an
    outlet for rows that name none, through the stations under the node.
    """
    if ref.kind is NodeKind.SITE:
        return site_id == ref.id
    if ref.kind is NodeKind.STATION:
        return station_id == ref.id
    if ref.kind is NodeKind.OUTLET and outlet_id is not None:
        return outlet_id == ref.id
    if ref.kind in (NodeKind.FLOOR, NodeKind.OUTLET):
        return station_id.in_(_stations_under(ref))
    return true()


def session_condition(ref: NodeRef) -> ColumnElement[bool]:
    """Return the condition selecting the sessions under a node (indexed columns)."""
    # The session's own site: it keeps the site it happened at (model docstring).
    return _rows_under(
        ref,
        ChargingSession.site_id,
        ChargingSession.station_id,
        ChargingSession.outlet_id,
    )


def alarm_condition(ref: NodeRef) -> ColumnElement[bool]:
    """Return the condition selecting the alarms raised on or under a node."""
    return _rows_under(ref, Alarm.site_id, Alarm.station_id, Alarm.outlet_id)


def event_condition(ref: NodeRef) -> ColumnElement[bool]:
    """Return the condition selecting the event log entries of a node (events name stations)."""
    return _rows_under(ref, EventLogEntry.site_id, EventLogEntry.station_id)


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
