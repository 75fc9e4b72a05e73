"""The navigator on the left of every admin page (spec §3), and its status endpoint.

The tree and the colours come from app.services.navigator; this module only puts
them into the page (a template global) and answers the browser's polling.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request, url_for
from flask_admin import expose
from flask_login import current_user
from werkzeug.wrappers import Response

from admin_views.base import STAFF, PortalView
from admin_views.navigation import selected_node
from app.services import navigator

# Pages that show the selected node's data stay where they are on a selection;
# from any other page (a form, a record) a selection opens the node's configuration.
_FOLLOWING_SUFFIXES = (".index", ".index_view")


class NavigatorView(PortalView):
    """The navigator's JSON: the colour of every station and outlet the user may see."""

    roles = STAFF

    def is_visible(self) -> bool:
        return False  # not a menu entry: the tree is on every page

    @expose("/")
    def index(self) -> Response:
        return jsonify(
            {
                ref: status.value
                for ref, status in navigator.node_statuses(current_user).items()
            }
        )


def _shows_navigator() -> bool:
    return bool(current_user.is_authenticated and current_user.role in STAFF)


def _tree() -> list[navigator.TreeNode]:
    return navigator.tree(current_user) if _shows_navigator() else []


def _href(ref: str) -> str:
    endpoint = request.endpoint or ""
    if endpoint.endswith(_FOLLOWING_SUFFIXES) and endpoint != "navigator.index":
        return f"{request.path}?node={ref}"
    return url_for("config.index", node=ref)


def _selected() -> str:
    return str(selected_node()) if _shows_navigator() else ""


def init_app(app: Flask) -> None:
    """Offer the navigator to the templates (portal_base.html draws it)."""

    @app.context_processor
    def navigator_globals() -> dict[str, Any]:
        return {
            "navigator_shown": _shows_navigator,
            "navigator_tree": _tree,
            "navigator_href": _href,
            "navigator_selected": _selected,
            "navigator_poll_ms": int(
                float(app.config.get("PORTAL_NAVIGATOR_POLL_SECONDS", 5)) * 1000
            ),
        }
