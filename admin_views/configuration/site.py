"""Site: General, Address; the site map."""

from __future__ import annotations

from flask import (
    abort,
)
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from admin_views import maps
from admin_views.configuration.forms import (
    AddressForm,
    SiteGeneralForm,
    _address,
)
from admin_views.configuration.screen import ConfigScreen
from app.models import (
    Site,
    Station,
    TagNotation,
)
from app.services import (
    places,
    tags,
    topology,
)
from app.services.nodes import NodeRef


class SiteTabs(ConfigScreen):
    """Site: General, Address; the site map."""

    def _site_page(self, ref: NodeRef, site: Site, tab: str) -> str:
        tabs = [("general", _l("General")), ("address", _l("Address"))]
        return self._render(
            "admin/config/site.html",
            ref,
            tabs,
            tab,
            site=site,
            general=_general_form(site),
            address=AddressForm(obj=site, formdata=None),
        )

    @expose("/site/<int:ident>/general", methods=["POST"])
    def site_general(self, ident: int) -> Response:
        site = self._one(Site, ident)
        form = SiteGeneralForm()
        ref = f"site:{site.id}"
        if not form.validate():
            return self._invalid(form, ref, "general")
        notation = (
            TagNotation(form.tag_notation.data) if form.tag_notation.data else None
        )

        def save() -> None:
            topology.update_site(current_user, site, name=form.name.data or "")
            tags.set_notation(current_user, site, notation)

        return self._save(
            save,
            ref,
            "general",
            _("The site is saved."),
        )

    @expose("/site/<int:ident>/address", methods=["POST"])
    def site_address(self, ident: int) -> Response:
        site = self._one(Site, ident)
        form = AddressForm()
        ref = f"site:{site.id}"
        if not form.validate():
            return self._invalid(form, ref, "address")
        return self._save(
            lambda: places.update_site_address(current_user, site, _address(form)),
            ref,
            "address",
            _("The address is saved."),
        )

    @expose("/map/<kind>/<int:ident>")
    def map_page(self, kind: str, ident: int) -> str:
        """A folium map in an iframe: pick a site's or station's position."""
        models = {"site": Site, "station": Station}
        if kind not in models:
            abort(404)
        row = self._one(models[kind], ident)
        position = (
            (row.latitude, row.longitude)
            if row.latitude is not None and row.longitude is not None
            else None
        )
        site = row if kind == "site" else row.site
        centre = (
            (site.latitude, site.longitude)
            if site is not None
            and site.latitude is not None
            and site.longitude is not None
            else None
        )
        return maps.pick_position_page(position, centre)

    # -- floor ------------------------------------------------------------


def _general_form(site: Site) -> SiteGeneralForm:
    form = SiteGeneralForm(obj=site, formdata=None)
    form.tag_notation.data = site.tag_notation.value if site.tag_notation else ""
    return form
