"""The configuration page of the selected node and the form handling shared by every level."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    abort,
    flash,
    redirect,
    request,
    url_for,
)
from flask_admin import expose
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from admin_views.base import STAFF, PortalView, commit_or_flash
from admin_views.formatting import format_moment
from admin_views.navigation import selected_node
from app.services import access_policies
from app.services.access import get_scoped
from app.services.errors import NotFound
from app.services.nodes import NodeKind, NodeRef, load_node


class ConfigScreen(PortalView):
    """The shared part of the configuration screens: the page of the node
    selected in the navigator, and the form handling every level uses. Each
    level (system, site, floor, station, outlet) is a subclass with its page
    and POST routes."""

    roles = STAFF

    @expose("/")
    def index(self) -> str:
        ref = selected_node()
        row = load_node(ref, current_user)
        tab = request.args.get("tab", "")
        page = {
            NodeKind.SYSTEM: self._system_page,
            NodeKind.SITE: self._site_page,
            NodeKind.FLOOR: self._floor_page,
            NodeKind.STATION: self._station_page,
            NodeKind.OUTLET: self._outlet_page,
        }[ref.kind]
        return page(ref, row, tab)

    def _system_page(self, ref: NodeRef, row: Any, tab: str) -> str:
        raise NotImplementedError

    def _site_page(self, ref: NodeRef, row: Any, tab: str) -> str:
        raise NotImplementedError

    def _floor_page(self, ref: NodeRef, row: Any, tab: str) -> str:
        raise NotImplementedError

    def _station_page(self, ref: NodeRef, row: Any, tab: str) -> str:
        raise NotImplementedError

    def _outlet_page(self, ref: NodeRef, row: Any, tab: str) -> str:
        raise NotImplementedError

    def _render(
        self,
        template: str,
        ref: NodeRef,
        tabs: list[tuple[str, Any]],
        tab: str,
        **kwargs: Any,
    ) -> str:
        names = [name for name, _label in tabs]
        current = tab if tab in names else names[0]
        node = load_node(ref, current_user)
        return self.render(
            template,
            ref=str(ref),
            tabs=tabs,
            tab=current,
            format_moment=format_moment,
            # Who may charge at the node, on its General tab (spec §8 Policies).
            access=access_policies.describe(access_policies.node_policy(node)),
            **kwargs,
        )

    # -- helpers ------------------------------------------------------------
    def _back(self, ref: str, tab: str) -> Response:
        return redirect(url_for(".index", node=ref, tab=tab))

    def _save(
        self, change: Callable[[], Any], ref: str, tab: str, done: str
    ) -> Response:
        """Run one service call, commit, and flash the outcome."""
        commit_or_flash(change, lambda _result: done)
        return self._back(ref, tab)

    def _invalid(self, form: FlaskForm, ref: str, tab: str) -> Response:
        for field in form:
            for error in field.errors:
                flash(f"{field.label.text}: {error}", "error")
        return self._back(ref, tab)

    @staticmethod
    def _one(model: type, ident: int) -> Any:
        try:
            return get_scoped(model, ident, current_user)
        except NotFound:
            abort(404)
