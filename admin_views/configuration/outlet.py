"""Outlet: General with its ids at the active services."""

from __future__ import annotations

from flask import (
    abort,
    request,
)
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from admin_views.configuration.forms import (
    OutletGeneralForm,
)
from admin_views.configuration.screen import ConfigScreen
from app.models import (
    Outlet,
)
from app.services import (
    integrations,
    topology,
)
from app.services.nodes import NodeRef


class OutletTabs(ConfigScreen):
    """Outlet: General with its ids at the active services."""

    def _outlet_page(self, ref: NodeRef, outlet: Outlet, tab: str) -> str:
        general = OutletGeneralForm(obj=outlet, formdata=None)
        return self._render(
            "admin/config/outlet.html",
            ref,
            [("general", _l("General"))],
            tab,
            outlet=outlet,
            general=general,
            services=integrations.outlet_services(outlet),
        )

    @expose("/outlet/<int:ident>/general", methods=["POST"])
    def outlet_general(self, ident: int) -> Response:
        outlet = self._one(Outlet, ident)
        form = OutletGeneralForm()
        ref = f"outlet:{outlet.id}"
        if not form.validate():
            return self._invalid(form, ref, "general")
        return self._save(
            lambda: topology.update_outlet(
                current_user,
                outlet,
                connector_type=(form.connector_type.data or "").strip(),
                parking=(form.parking.data or "").strip(),
            ),
            ref,
            "general",
            _("The outlet is saved."),
        )

    @expose("/outlet/<int:ident>/services", methods=["POST"])
    def outlet_services(self, ident: int) -> Response:
        outlet = self._one(Outlet, ident)
        ids: dict[int, str] = {}
        for key, value in request.form.items():
            if key.startswith("service-"):
                try:
                    ids[int(key.removeprefix("service-"))] = value
                except ValueError:
                    abort(400)
        return self._save(
            lambda: integrations.set_outlet_service_ids(current_user, outlet, ids),
            f"outlet:{outlet.id}",
            "general",
            _("The ids at the services are saved."),
        )
