"""Configuration → Sites, Floors, Stations, Outlets: the topology of spec §3 and §8 as
lists, for what a list adds: filters, search, sorting, details and export (.xlsx,
.csv), each scoped to what the user may see.

Creating, editing, moving and deleting happen in one place only, the configuration
screens (admin_views/configuration/: the Topology tab and each node's General tab),
with their forms and the services.topology rules; each row here links to its
node's screen.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from admin_views.base import STAFF, ReadOnlyModelView


def _to_screen(kind: str, attribute: str) -> Any:
    """A column formatter: the value as a link to the node's configuration screen."""

    def link(_view: Any, _context: Any, row: Any, _name: str) -> Markup:
        target = url_for("config.index", node=f"{kind}:{row.id}")
        return Markup('<a href="{}" class="to-screen">{}</a>').format(
            target, getattr(row, attribute)
        )

    return link


class TopologyListView(ReadOnlyModelView):
    """A read-only topology list; the writes are the configuration screens'."""

    roles = STAFF
    column_formatters_export: dict[str, Any] = {}  # plain values, no links
    list_template = "admin/topology_list.html"


class SiteView(TopologyListView):
    column_list = ("name", "city", "country", "uuid", "created_at")
    column_filters = ("name", "city", "country")
    column_searchable_list = ("name",)
    column_default_sort = "name"
    column_labels = {
        "name": _l("Name"),
        "city": _l("City"),
        "country": _l("Country"),
        "uuid": _l("Id"),
        "created_at": _l("Created"),
    }
    column_formatters = {"name": _to_screen("site", "name")}


class FloorView(TopologyListView):
    column_list = ("site", "name", "uuid", "created_at")
    column_filters = ("site.name", "name")
    column_sortable_list = (("site", "site.name"), "name", "created_at")
    column_default_sort = "name"
    column_labels = {
        "site": _l("Site"),
        "site.name": _l("Site"),
        "name": _l("Name"),
        "uuid": _l("Floor UUID"),
        "created_at": _l("Created"),
    }
    column_formatters = {"name": _to_screen("floor", "name")}


class StationView(TopologyListView):
    column_list = (
        "chargebox_id",
        "name",
        "site",
        "floor",
        "protocol",
        "online",
        "last_seen_at",
        "firmware_version",
    )
    column_filters = (
        "chargebox_id",
        "name",
        "site.name",
        "floor.name",
        "protocol",
        "online",
    )
    column_searchable_list = ("chargebox_id", "name")
    column_sortable_list = (
        "chargebox_id",
        "name",
        ("site", "site.name"),
        ("floor", "floor.name"),
        "protocol",
        "online",
        "last_seen_at",
    )
    column_default_sort = "chargebox_id"
    column_labels = {
        "chargebox_id": _l("Node identity"),
        "name": _l("Station"),
        "site": _l("Site"),
        "site.name": _l("Site"),
        "floor": _l("Floor"),
        "floor.name": _l("Floor"),
        "protocol": _l("Protocol"),
        "online": _l("Online"),
        "last_seen_at": _l("Last seen"),
        "firmware_version": _l("Firmware"),
    }
    column_details_exclude_list = ("auth_password_hash",)
    column_formatters = {"chargebox_id": _to_screen("station", "chargebox_id")}


class OutletView(TopologyListView):
    column_list = (
        "station",
        "number",
        "connector_type",
        "status",
        "parking",
        "uuid",
    )
    column_filters = (
        "station.chargebox_id",
        "number",
        "connector_type",
        "status",
        "parking",
    )
    column_sortable_list = (
        ("station", "station.chargebox_id"),
        "number",
        "connector_type",
        "status",
        "parking",
    )
    column_labels = {
        "station": _l("Station"),
        "station.chargebox_id": _l("Node identity"),
        "number": _l("Outlet id"),
        "connector_type": _l("Connector type"),
        "status": _l("Status"),
        "parking": _l("Parking"),
        "uuid": _l("UUID"),
    }
    column_formatters = {"number": _to_screen("outlet", "number")}
