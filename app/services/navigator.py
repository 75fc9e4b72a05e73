"""The navigator: the tree a user may see and the status colour of each node (spec §3).

Status colours: black = online, available, idle; blue = charging; red = fault;
grey (faded) = not online. The rule lives here (station_status / outlet_status),
not in a template or in JavaScript.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Alarm,
    AlarmKind,
    AlarmState,
    ChargingSession,
    Floor,
    Outlet,
    OutletStatus,
    Site,
    Station,
    User,
    utcnow,
)
from app.services.access import scope
from app.services.nodes import NodeKind
from app.services.topology import get_settings


class NodeStatus(enum.StrEnum):
    """The navigator's colours, by meaning."""

    ONLINE = "online"  # black: online, available, idle
    CHARGING = "charging"  # blue
    FAULT = "fault"  # red
    OFFLINE = "offline"  # grey, faded


# Outlet states that mean energy flows or is about to (spec §3 "charging").
_CHARGING_STATES = frozenset({OutletStatus.CHARGING, OutletStatus.SUSPENDED})
# Alarms that say nothing about a fault of the hardware itself.
_NOT_FAULTS = (AlarmKind.NO_NETWORK, AlarmKind.NOT_REGISTERED)
# A session still open after this long is taken as a lost stop, not as charging;
# it also keeps the poll on the started_at index instead of scanning every session.
RUNNING_SESSION_WINDOW = timedelta(days=7)


def outlet_status(
    station_online: bool, status: OutletStatus, *, session_open: bool, alarm: bool
) -> NodeStatus:
    """Return an outlet's colour: offline first, then fault, then charging, else idle."""
    if not station_online:
        return NodeStatus.OFFLINE
    if alarm or status is OutletStatus.FAULTED:
        return NodeStatus.FAULT
    if session_open or status in _CHARGING_STATES:
        return NodeStatus.CHARGING
    return NodeStatus.ONLINE


def station_status(
    online: bool, outlets: Iterable[NodeStatus], *, alarm: bool
) -> NodeStatus:
    """Return a station's colour: a fault or a charging outlet colours the station."""
    if not online:
        return NodeStatus.OFFLINE
    found = set(outlets)
    if alarm or NodeStatus.FAULT in found:
        return NodeStatus.FAULT
    if NodeStatus.CHARGING in found:
        return NodeStatus.CHARGING
    return NodeStatus.ONLINE


@dataclass
class TreeNode:
    """One node of the navigator: its reference ("site:3"), label and colour."""

    ref: str
    kind: NodeKind
    label: str
    status: NodeStatus | None = None
    children: list[TreeNode] = field(default_factory=list)


@dataclass(frozen=True)
class _Facts:
    """What the colours are computed from, read in a few scoped queries."""

    online: dict[int, bool]
    outlets: list[tuple[int, int, OutletStatus]]  # (outlet id, station id, status)
    open_outlets: set[int]
    station_alarms: set[int]
    outlet_alarms: set[int]


def _facts(user: User, station_ids: Iterable[int] | None = None) -> _Facts:
    stations: Any = select(Station.id, Station.online)
    outlets: Any = select(Outlet.id, Outlet.station_id, Outlet.status)
    if station_ids is not None:
        ids = list(station_ids)
        stations = stations.where(Station.id.in_(ids))
        outlets = outlets.where(Outlet.station_id.in_(ids))
    online: dict[int, bool] = {
        ident: bool(flag)
        for ident, flag in db.session.execute(scope(stations, user, Station))
    }
    outlet_rows = [
        (ident, station_id, status)
        for ident, station_id, status in db.session.execute(
            scope(outlets, user, Outlet)
        )
    ]
    running: Any = select(ChargingSession.outlet_id).where(
        ChargingSession.started_at >= utcnow() - RUNNING_SESSION_WINDOW,
        ChargingSession.ended_at.is_(None),
    )
    open_outlets = set(db.session.scalars(scope(running, user, ChargingSession)))
    alarms: Any = select(Alarm.station_id, Alarm.outlet_id).where(
        Alarm.state == AlarmState.ACTIVE,
        Alarm.station_id.is_not(None),
        Alarm.kind.not_in(_NOT_FAULTS),
    )
    station_alarms: set[int] = set()
    outlet_alarms: set[int] = set()
    for station_id, outlet_id in db.session.execute(scope(alarms, user, Alarm)):
        if outlet_id is None:
            station_alarms.add(station_id)
        else:
            outlet_alarms.add(outlet_id)
    return _Facts(online, outlet_rows, open_outlets, station_alarms, outlet_alarms)


def node_statuses(
    user: User, station_ids: Iterable[int] | None = None
) -> dict[str, NodeStatus]:
    """Return the colour of every station and outlet the user may see, by reference."""
    facts = _facts(user, station_ids)
    result: dict[str, NodeStatus] = {}
    per_station: dict[int, list[NodeStatus]] = {}
    for outlet_id, station_id, status in facts.outlets:
        colour = outlet_status(
            facts.online.get(station_id, False),
            status,
            session_open=outlet_id in facts.open_outlets,
            alarm=outlet_id in facts.outlet_alarms,
        )
        result[f"outlet:{outlet_id}"] = colour
        per_station.setdefault(station_id, []).append(colour)
    for station_id, online in facts.online.items():
        result[f"station:{station_id}"] = station_status(
            online,
            per_station.get(station_id, []),
            alarm=station_id in facts.station_alarms,
        )
    return result


def station_colour(user: User, station: Station) -> NodeStatus:
    """Return one station's colour (as the navigator shows it)."""
    return node_statuses(user, [station.id]).get(
        f"station:{station.id}", NodeStatus.OFFLINE
    )


def tree(user: User) -> list[TreeNode]:
    """Return System → Site → Floor → Station → Outlet as far as the user may see.

    A station on no floor hangs under its site; one on no site (a pending station
    awaiting adoption) under the system.
    """
    sites = db.session.scalars(scope(select(Site).order_by(Site.name), user)).all()
    floors = db.session.scalars(scope(select(Floor).order_by(Floor.name), user)).all()
    stations = db.session.scalars(
        scope(select(Station).order_by(Station.name, Station.chargebox_id), user)
    ).all()
    outlets = db.session.scalars(
        scope(select(Outlet).order_by(Outlet.station_id, Outlet.number), user)
    ).all()
    statuses = node_statuses(user)

    outlet_nodes: dict[int, list[TreeNode]] = {}
    for outlet in outlets:
        ref = f"outlet:{outlet.id}"
        outlet_nodes.setdefault(outlet.station_id, []).append(
            TreeNode(
                ref,
                NodeKind.OUTLET,
                str(_l("Connector: %(n)d", n=outlet.number)),
                statuses.get(ref),
            )
        )
    site_nodes = {
        site.id: TreeNode(f"site:{site.id}", NodeKind.SITE, site.name) for site in sites
    }
    floor_nodes: dict[int, TreeNode] = {}
    for floor in floors:
        node = TreeNode(f"floor:{floor.id}", NodeKind.FLOOR, floor.name)
        floor_nodes[floor.id] = node
        if floor.site_id in site_nodes:
            site_nodes[floor.site_id].children.append(node)
    root = TreeNode("system", NodeKind.SYSTEM, get_settings().system_name)
    for station in stations:
        ref = f"station:{station.id}"
        node = TreeNode(
            ref,
            NodeKind.STATION,
            f"{station.name} ({station.chargebox_id})"
            if station.name != station.chargebox_id
            else station.chargebox_id,
            statuses.get(ref, NodeStatus.OFFLINE),
            outlet_nodes.get(station.id, []),
        )
        parent = (
            floor_nodes.get(station.floor_id)
            if station.floor_id is not None
            else site_nodes.get(station.site_id)
            if station.site_id is not None
            else root
        )
        (parent or root).children.append(node)
    root.children = [*site_nodes.values(), *root.children]
    return [root]


@dataclass(frozen=True)
class TopologyLists:
    """The four columns of the Topology tab (spec §8), as far as the user may see."""

    sites: list[Site]
    floors: list[Floor]
    stations: list[Station]
    outlets: list[Outlet]


def topology_lists(user: User) -> TopologyLists:
    """Return the user's sites, floors, stations and outlets for the Topology tab."""
    return TopologyLists(
        list(db.session.scalars(scope(select(Site).order_by(Site.name), user))),
        list(
            db.session.scalars(
                scope(
                    select(Floor).join(Floor.site).order_by(Site.name, Floor.name), user
                )
            )
        ),
        list(
            db.session.scalars(
                scope(select(Station).order_by(Station.chargebox_id), user)
            )
        ),
        list(
            db.session.scalars(
                scope(
                    select(Outlet)
                    .join(Outlet.station)
                    .order_by(Station.chargebox_id, Outlet.number),
                    user,
                )
            )
        ),
    )
