"""Nodes of the navigator tree (System → Site → Floor → Station → Outlet), spec §3.

A node is named by a short reference, "site:3", "floor:7", "station:12",
"outlet:40" or "system"; pages scope what they show to the selected node.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, true

from app.models import Floor, Outlet, Site, Station, User
from app.services.access import get_scoped
from app.services.errors import NotFound


class NodeKind(enum.StrEnum):
    SYSTEM = "system"
    SITE = "site"
    FLOOR = "floor"
    STATION = "station"
    OUTLET = "outlet"


NODE_MODELS: dict[NodeKind, type] = {
    NodeKind.SITE: Site,
    NodeKind.FLOOR: Floor,
    NodeKind.STATION: Station,
    NodeKind.OUTLET: Outlet,
}


@dataclass(frozen=True)
class NodeRef:
    kind: NodeKind
    id: int | None = None

    def __str__(self) -> str:
        return self.kind.value if self.id is None else f"{self.kind.value}:{self.id}"


SYSTEM = NodeRef(NodeKind.SYSTEM)


def parse_node(text: str | None) -> NodeRef:
    """Read "site:3" and the like; anything unreadable is the whole system."""
    if not text or ":" not in text:
        return SYSTEM
    kind, _sep, ident = text.partition(":")
    try:
        return NodeRef(NodeKind(kind), int(ident))
    except ValueError:
        return SYSTEM


def load_node(ref: NodeRef, user: User) -> Any:
    """Return the node's row if the user may see it (None for the system), else NotFound."""
    if ref.kind is NodeKind.SYSTEM:
        return None
    return get_scoped(NODE_MODELS[ref.kind], ref.id, user)


def station_condition(ref: NodeRef) -> ColumnElement[bool]:
    """Return a condition on Station selecting the stations under a node."""
    if ref.kind is NodeKind.SITE:
        return Station.site_id == ref.id
    if ref.kind is NodeKind.FLOOR:
        return Station.floor_id == ref.id
    if ref.kind is NodeKind.STATION:
        return Station.id == ref.id
    if ref.kind is NodeKind.OUTLET:
        return (
            Station.id
            == select(Outlet.station_id).where(Outlet.id == ref.id).scalar_subquery()
        )
    return true()


def check_node(ref: NodeRef, user: User) -> NodeRef:
    """Return the node if the user may see it, else the whole system (what they may see)."""
    try:
        load_node(ref, user)
    except NotFound:
        return SYSTEM
    return ref
