"""Floor: General (with the floor map), Station positions."""

from __future__ import annotations

from pathlib import Path

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    request,
    send_file,
)
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from admin_views import maps
from admin_views.configuration.forms import (
    FloorMapForm,
    NameForm,
)
from admin_views.configuration.screen import ConfigScreen
from admin_views.configuration.station_commands import _error_json, _number
from app.extensions import db
from app.models import (
    Floor,
)
from app.services import (
    places,
    topology,
)
from app.services.errors import DomainError, NotFound
from app.services.nodes import NodeRef


class FloorTabs(ConfigScreen):
    """Floor: General (with the floor map), Station positions."""

    def _floor_page(self, ref: NodeRef, floor: Floor, tab: str) -> str:
        tabs = [("general", _l("General")), ("positions", _l("Station positions"))]
        return self._render(
            "admin/config/floor.html",
            ref,
            tabs,
            tab,
            floor=floor,
            general=NameForm(obj=floor, formdata=None),
            map_form=FloorMapForm(),
            placed=places.floor_stations(current_user, floor),
        )

    @expose("/floor/<int:ident>/general", methods=["POST"])
    def floor_general(self, ident: int) -> Response:
        floor = self._one(Floor, ident)
        form = NameForm()
        ref = f"floor:{floor.id}"
        if not form.validate():
            return self._invalid(form, ref, "general")
        return self._save(
            lambda: topology.update_floor(
                current_user, floor, name=form.name.data or ""
            ),
            ref,
            "general",
            _("The floor is saved."),
        )

    @expose("/floor/<int:ident>/map", methods=["POST"])
    def floor_map_upload(self, ident: int) -> Response:
        floor = self._one(Floor, ident)
        ref = f"floor:{floor.id}"
        upload = request.files.get("floor_map")
        if upload is None or not upload.filename:
            flash(_("Choose a .jpg file to upload."), "error")
            return self._back(ref, "general")
        instance = Path(current_app.instance_path)
        try:
            stored = places.store_floor_map(
                current_user, floor, upload.filename, upload.read(), instance
            )
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(_("The floor map was refused: %(reason)s", reason=str(exc)), "error")
            return self._back(ref, "general")
        except Exception:
            db.session.rollback()
            raise
        places.remove_map_file(instance, stored.replaced)
        flash(_("The floor map is saved."), "success")
        return self._back(ref, "positions")

    @expose("/floor/<int:ident>/map.jpg")
    def floor_map_image(self, ident: int) -> Response:
        floor = self._one(Floor, ident)
        try:
            path = places.floor_map_path(floor, Path(current_app.instance_path))
        except NotFound:
            abort(404)
        return send_file(path, mimetype="image/jpeg", max_age=0)

    @expose("/floor/<int:ident>/site-map")
    def floor_site_map(self, ident: int) -> str:
        """The site's map with the floor's stations to drag (a floor without a map)."""
        floor = self._one(Floor, ident)
        site = floor.site
        centre = (
            (site.latitude, site.longitude)
            if site.latitude is not None and site.longitude is not None
            else None
        )
        dots = []
        for index, placed in enumerate(places.floor_stations(current_user, floor)):
            lat, lng = placed.latitude, placed.longitude
            if lat is None or lng is None:
                # Not placed yet: lined up near the site's centre, ready to drag.
                base = centre or maps.DEFAULT_CENTRE
                lat, lng = base[0] - 0.0002, base[1] - 0.0006 + index * 0.0002
            dots.append(
                {
                    "id": placed.id,
                    "label": placed.name,
                    "status": placed.status.value,
                    "lat": lat,
                    "lng": lng,
                }
            )
        return maps.place_stations_page(centre, dots)

    @expose("/floor/<int:ident>/position", methods=["POST"])
    def floor_position(self, ident: int) -> Response | tuple[Response, int]:
        """Save where a station was dropped: on the floor map (x, y) or the site's map."""
        floor = self._one(Floor, ident)
        args = request.get_json(silent=True) or {}
        try:
            station_id = _number(args, "station") or 0
            if "x" in args:
                places.place_on_floor_map(
                    current_user, floor, station_id, float(args["x"]), float(args["y"])
                )
            else:
                places.place_on_site_map(
                    current_user,
                    floor,
                    station_id,
                    float(args["lat"]),
                    float(args["lng"]),
                )
            db.session.commit()
        except NotFound:
            db.session.rollback()
            abort(404)
        except DomainError as exc:
            db.session.rollback()
            return _error_json(exc)
        except (KeyError, TypeError, ValueError):
            db.session.rollback()
            return jsonify(status="error", text=_("A position is two numbers.")), 400
        return jsonify(status="saved", text=_("Position saved."))

    # -- station ----------------------------------------------------------
