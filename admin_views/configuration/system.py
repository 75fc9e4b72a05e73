"""System: General, Topology, Policies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    abort,
    flash,
    request,
    url_for,
)
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from admin_views.configuration.forms import (
    _DELETABLE,
    CreateFloorForm,
    CreateOutletForm,
    CreateSiteForm,
    CreateStationForm,
    GeneralForm,
    MoveStationForm,
    PoliciesForm,
)
from admin_views.configuration.screen import ConfigScreen
from app.models import (
    AccessRule,
    ConnectPolicy,
    Floor,
    Outlet,
    Protocol,
    Site,
    Station,
    TagNotation,
)
from app.services import (
    ftp_files,
    integrations,
    navigator,
    settings,
    topology,
)
from app.services.nodes import NodeRef


class SystemTabs(ConfigScreen):
    """System: General, Topology, Policies."""

    def _system_page(self, ref: NodeRef, _row: Any, tab: str) -> str:
        readable = settings.may_read_settings(current_user)
        tabs: list[tuple[str, Any]] = []
        if readable:
            tabs.append(("general", _l("General")))
        tabs.append(("topology", _l("Topology")))
        if readable:
            tabs.append(("policies", _l("Policies")))
        kwargs: dict[str, Any] = {
            "lists": navigator.topology_lists(current_user),
            "may_change": settings.may_change_settings(current_user),
            "services_url": url_for("services.index_view")
            if integrations.may_manage_services(current_user)
            else None,
            "forms": {
                "site": CreateSiteForm(prefix="site"),
                "floor": CreateFloorForm(prefix="floor"),
                "station": CreateStationForm(prefix="station"),
                "outlet": CreateOutletForm(prefix="outlet"),
                "move": MoveStationForm(prefix="move"),
            },
        }
        if readable:
            current = settings.read_settings(current_user)
            kwargs["settings"] = current
            kwargs["addresses"] = settings.server_addresses(
                request.scheme, request.host
            )
            kwargs["builtin_ftp"] = ftp_files.ftp_settings()
            kwargs["general"] = GeneralForm(obj=current, formdata=None)
            policies = PoliciesForm(obj=current, formdata=None)
            policies.connect_policy.data = current.connect_policy.value
            policies.default_access.data = current.default_access.value
            policies.tag_notation.data = current.tag_notation.value
            kwargs["policies"] = policies
        return self._render("admin/config/system.html", ref, tabs, tab, **kwargs)

    # -- system -----------------------------------------------------------
    @expose("/system/general", methods=["POST"])
    def system_general(self) -> Response:
        form = GeneralForm()
        if not form.validate():
            return self._invalid(form, "system", "general")
        return self._save(
            lambda: settings.update_general(
                current_user,
                system_name=form.system_name.data or "",
                description=form.description.data or "",
                ftp_address=form.ftp_address.data or "",
            ),
            "system",
            "general",
            _("The general settings are saved."),
        )

    @expose("/system/policies", methods=["POST"])
    def system_policies(self) -> Response:
        form = PoliciesForm()
        if not form.validate():
            return self._invalid(form, "system", "policies")
        policies = settings.Policies(
            connect_policy=ConnectPolicy(form.connect_policy.data),
            offline_threshold=form.offline_threshold.data or 0,
            default_heartbeat_interval=form.default_heartbeat_interval.data or 0,
            default_access=AccessRule(form.default_access.data),
            alarm_digest_time=form.alarm_digest_time.data,
            backup_retention=form.backup_retention.data or 0,
            backup_time=form.backup_time.data,
            tag_notation=TagNotation(form.tag_notation.data),
        )
        return self._save(
            lambda: settings.update_policies(current_user, policies),
            "system",
            "policies",
            _("The policies are saved."),
        )

    # -- topology ---------------------------------------------------------
    @expose("/topology/create/<kind>", methods=["POST"])
    def topology_create(self, kind: str) -> Response:
        creators: dict[
            str, Callable[[], tuple[FlaskForm, Callable[[FlaskForm], Any]]]
        ] = {
            "site": lambda: (CreateSiteForm(prefix="site"), self._create_site),
            "floor": lambda: (CreateFloorForm(prefix="floor"), self._create_floor),
            "station": lambda: (
                CreateStationForm(prefix="station"),
                self._create_station,
            ),
            "outlet": lambda: (CreateOutletForm(prefix="outlet"), self._create_outlet),
        }
        if kind not in creators:
            abort(404)
        form, create = creators[kind]()
        if not form.validate():
            return self._invalid(form, "system", "topology")
        return self._save(
            lambda: create(form),
            "system",
            "topology",
            _("Created."),
        )

    @staticmethod
    def _create_site(form: Any) -> Site:
        return topology.create_site(current_user, form.name.data or "")

    @staticmethod
    def _create_floor(form: Any) -> Floor:
        return topology.create_floor(current_user, form.site.data, form.name.data or "")

    @staticmethod
    def _create_station(form: Any) -> Station:
        data = topology.StationInput(
            chargebox_id=form.chargebox_id.data or "",
            name=form.name.data or "",
            protocol=Protocol(form.protocol.data),
            outlets=form.outlets.data or 1,
        )
        return topology.create_station(
            current_user, data, site=form.site.data, floor=form.floor.data
        )

    @staticmethod
    def _create_outlet(form: Any) -> Outlet:
        return topology.create_outlet(
            current_user,
            form.station.data,
            number=form.number.data,
            connector_type=form.connector_type.data or "Type 2",
        )

    @expose("/topology/delete/<kind>/<int:ident>", methods=["POST"])
    def topology_delete(self, kind: str, ident: int) -> Response:
        if kind not in _DELETABLE:
            abort(404)
        model, delete = _DELETABLE[kind]
        row = self._one(model, ident)
        label = str(row)
        return self._save(
            lambda: delete(current_user, row),
            "system",
            "topology",
            _("Removed: %(name)s", name=label),
        )

    @expose("/topology/move", methods=["POST"])
    def topology_move(self) -> Response:
        form = MoveStationForm(prefix="move")
        if not form.validate():
            return self._invalid(form, "system", "topology")
        station = form.station.data
        if station is None:
            flash(_("Choose the station to move."), "error")
            return self._back("system", "topology")
        return self._save(
            lambda: topology.move_station(
                current_user, station, site=form.site.data, floor=form.floor.data
            ),
            "system",
            "topology",
            _("Moved: %(name)s", name=str(station)),
        )

    # -- site -------------------------------------------------------------
