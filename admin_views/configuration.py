"""Configuration of the node selected in the navigator (spec §8), tab by tab.

System: General, Services, Topology, Policies. Site: General, Address. Floor:
General (with the floor map), Station positions. Station: General, Address,
Control, OCPP, Message log. Outlet: General with its ids at the active services.

Presentation only: each form or JSON request is unpacked here and handed to one
service call (app.services.*), which checks the role; the result or the domain
error goes back as a flash or as JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    send_file,
    url_for,
)
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.wrappers import Response
from wtforms import (
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, NumberRange, Optional

from admin_views import maps
from admin_views.base import STAFF, PortalView
from admin_views.fields import QuerySelectField, scoped_choices
from admin_views.formatting import format_moment
from admin_views.navigation import selected_node
from app.extensions import db
from app.models import (
    Availability,
    ConnectPolicy,
    Floor,
    Outlet,
    OutletMode,
    Protocol,
    Site,
    Station,
)
from app.services import (
    commands,
    ftp_files,
    integrations,
    navigator,
    places,
    settings,
    station_control,
    stations,
    topology,
)
from app.services.access import get_scoped
from app.services.errors import DomainError, NotFound, PermissionDenied
from app.services.nodes import NodeKind, NodeRef, load_node

COMMAND_WORDS = {
    commands.CommandStatus.ACCEPTED: _l("accepted"),
    commands.CommandStatus.REJECTED: _l("rejected"),
    commands.CommandStatus.OFFLINE: _l("station offline"),
    commands.CommandStatus.TIMED_OUT: _l("timed out"),
    commands.CommandStatus.ERROR: _l("error"),
}
POLICY_WORDS = {
    ConnectPolicy.KNOWN_ONLY: _l("Known stations only"),
    ConnectPolicy.PENDING: _l("Unknown stations wait for adoption (pending)"),
    ConnectPolicy.AUTO_REGISTER: _l("Unknown stations are registered automatically"),
}


#: how the station page names the protocol a station speaks (proper names)
PROTOCOL_NAMES = {
    Protocol.OCPP15_SOAP.value: "OCPP 1.5 SOAP",
    Protocol.OCPP16_JSON.value: "OCPP 1.6 JSON",
    Protocol.OCPP201_JSON.value: "OCPP 2.0.1 JSON",
}


def _choices(enum_cls: type) -> list[tuple[str, str]]:
    return [(member.value, member.value) for member in enum_cls]


# ---------------------------------------------------------------------------
# Forms


class GeneralForm(FlaskForm):
    system_name = StringField(_l("System name"), validators=[DataRequired()])
    description = TextAreaField(_l("Description"))
    ftp_address = StringField(
        _l("FTP server address"),
        description=_l(
            "ftp://host/path: where stations upload diagnostics and fetch firmware."
        ),
    )


class PoliciesForm(FlaskForm):
    connect_policy = SelectField(
        _l("Who may connect"),
        choices=[(k.value, v) for k, v in POLICY_WORDS.items()],
    )
    offline_threshold = IntegerField(
        _l("Offline threshold (s)"), validators=[NumberRange(60, 7 * 86400)]
    )
    default_heartbeat_interval = IntegerField(
        _l("Default heartbeat interval (s)"), validators=[NumberRange(10, 86400)]
    )
    default_outlet_mode = SelectField(
        _l("Default outlet mode"), choices=_choices(OutletMode)
    )
    alarm_digest_time = TimeField(_l("Alarm digest time"))
    backup_retention = IntegerField(
        _l("Backup retention (days)"), validators=[NumberRange(1, 3650)]
    )
    backup_time = TimeField(_l("Backup time"))


class NameForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired()])


class AddressForm(FlaskForm):
    street = StringField(_l("Street"))
    postcode = StringField(_l("Postcode"))
    city = StringField(_l("City"))
    country = StringField(_l("Country"))
    latitude = FloatField(_l("Latitude"), validators=[Optional()])
    longitude = FloatField(_l("Longitude"), validators=[Optional()])


class FloorMapForm(FlaskForm):
    floor_map = FileField(_l("Floor map"), description=_l(".jpg only, at most 2 MB."))


class StationGeneralForm(FlaskForm):
    name = StringField(_l("Station name"), validators=[DataRequired()])
    chargebox_id = StringField(
        _l("Chargebox id"),
        validators=[DataRequired()],
        description=_l("Must equal the identity the station presents."),
    )
    description = TextAreaField(_l("Description"))
    protocol = SelectField(_l("Protocol"), choices=_choices(Protocol))
    heartbeat_interval = IntegerField(
        _l("Heartbeat interval (s)"), validators=[NumberRange(10, 86400)]
    )
    availability = SelectField(_l("Availability"), choices=_choices(Availability))


class StationPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New station password"),
        description=_l(
            "HTTP Basic (security profile 1): user name = chargebox id; "
            "at least 16 characters."
        ),
    )


class OutletGeneralForm(FlaskForm):
    connector_type = StringField(_l("Connector type"), validators=[DataRequired()])
    parking = StringField(_l("Parking"))
    mode = SelectField(_l("Mode"), choices=_choices(OutletMode))


class CreateSiteForm(FlaskForm):
    name = StringField(_l("Site name"), validators=[DataRequired()])


class CreateFloorForm(FlaskForm):
    site = QuerySelectField(
        _l("Site"),
        query_factory=scoped_choices(Site, Site.name),
        allow_blank=True,
        blank_text="—",
    )
    name = StringField(_l("Floor name"), validators=[DataRequired()])


class CreateStationForm(FlaskForm):
    chargebox_id = StringField(_l("Chargebox id"), validators=[DataRequired()])
    name = StringField(_l("Station name"))
    protocol = SelectField(
        _l("Protocol"), choices=_choices(Protocol), default=Protocol.OCPP16_JSON.value
    )
    site = QuerySelectField(
        _l("Site"),
        query_factory=scoped_choices(Site, Site.name),
        allow_blank=True,
        blank_text="—",
    )
    floor = QuerySelectField(
        _l("Floor"),
        query_factory=scoped_choices(Floor, Floor.name),
        allow_blank=True,
        blank_text="—",
    )
    outlets = IntegerField(_l("Outlets"), default=1, validators=[NumberRange(1, 4)])
    mode = SelectField(_l("Outlet mode"), choices=_choices(OutletMode))


class CreateOutletForm(FlaskForm):
    station = QuerySelectField(
        _l("Station"),
        query_factory=scoped_choices(Station, Station.chargebox_id),
        allow_blank=True,
        blank_text="—",
    )
    number = IntegerField(_l("Outlet id"), validators=[Optional(), NumberRange(1, 4)])
    connector_type = StringField(_l("Connector type"), default="Type 2")
    mode = SelectField(_l("Mode"), choices=_choices(OutletMode))


class MoveStationForm(FlaskForm):
    station = QuerySelectField(
        _l("Station"),
        query_factory=scoped_choices(Station, Station.chargebox_id),
        allow_blank=True,
        blank_text="—",
    )
    site = QuerySelectField(
        _l("To site"),
        query_factory=scoped_choices(Site, Site.name),
        allow_blank=True,
        blank_text="—",
    )
    floor = QuerySelectField(
        _l("To floor"),
        query_factory=scoped_choices(Floor, Floor.name),
        allow_blank=True,
        blank_text="—",
    )


_DELETABLE: dict[str, tuple[type, Callable[[Any, Any], None]]] = {
    "site": (Site, topology.delete_site),
    "floor": (Floor, topology.delete_floor),
    "station": (Station, topology.delete_station),
    "outlet": (Outlet, topology.delete_outlet),
}


# ---------------------------------------------------------------------------
# JSON: the station's Control and OCPP tabs


def _text(args: dict[str, Any], name: str) -> str:
    return str(args.get(name) or "").strip()


def _number(args: dict[str, Any], name: str) -> int | None:
    value = args.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DomainError(_("%(name)s must be a number.", name=name)) from None


def _flag(args: dict[str, Any], name: str) -> bool:
    return str(args.get(name)).lower() in (
        "1",
        "true",
        "on",
        "yes",
        "hard",
        "operative",
    )


# name → (user, station, arguments) → CommandResult
_COMMANDS: dict[str, Callable[[Any, Station, dict[str, Any]], Any]] = {
    "reset": lambda user, st, a: station_control.restart(
        user, st, hard=_text(a, "type") == "hard"
    ),
    "availability": lambda user, st, a: station_control.change_availability(
        user, st, _number(a, "outlet"), operative=_flag(a, "operative")
    ),
    "unlock": lambda user, st, a: station_control.unlock_outlet(
        user, st, _number(a, "outlet") or 0
    ),
    "clear_cache": lambda user, st, a: station_control.clear_cache(user, st),
    "trigger": lambda user, st, a: station_control.trigger_message(
        user, st, _text(a, "message"), _number(a, "outlet")
    ),
    "stop": lambda user, st, a: station_control.stop_charging(
        user, st, _number(a, "outlet") or 0
    ),
    "firmware": lambda user, st, a: station_control.update_firmware(
        user, st, _text(a, "location")
    ),
    "diagnostics": lambda user, st, a: station_control.fetch_diagnostics(
        user, st, _text(a, "location")
    ),
    "send_local_list": lambda user, st, a: station_control.send_local_list(user, st),
    "get_local_list_version": lambda user, st, a: (
        station_control.fetch_local_list_version(user, st)
    ),
    "change_configuration": lambda user, st, a: commands.change_configuration(
        user, st, _text(a, "key"), str(a.get("value") or "")
    ),
    "get_configuration": lambda user, st, a: commands.fetch_configuration(user, st),
}


def _result_json(result: commands.CommandResult, **extra: Any) -> Response:
    return jsonify(
        status=result.status.value,
        text=str(COMMAND_WORDS[result.status]),
        detail=result.detail,
        data=result.data,
        **extra,
    )


def _error_json(exc: DomainError) -> tuple[Response, int]:
    code = 403 if isinstance(exc, PermissionDenied) else 400
    return jsonify(status="error", text=str(exc), detail=""), code


def _keys_json(station: Station) -> list[dict[str, Any]]:
    return [
        {"key": row.key, "value": row.value, "readonly": row.readonly}
        for row in station_control.config_keys(current_user, station)
    ]


# ---------------------------------------------------------------------------


class ConfigurationView(PortalView):
    """Configuration: the tabs of the node selected in the navigator."""

    roles = STAFF

    # -- pages ------------------------------------------------------------
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
        return self.render(
            template,
            ref=str(ref),
            tabs=tabs,
            tab=current,
            format_moment=format_moment,
            **kwargs,
        )

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
            policies.default_outlet_mode.data = current.default_outlet_mode.value
            kwargs["policies"] = policies
        return self._render("admin/config/system.html", ref, tabs, tab, **kwargs)

    def _site_page(self, ref: NodeRef, site: Site, tab: str) -> str:
        tabs = [("general", _l("General")), ("address", _l("Address"))]
        return self._render(
            "admin/config/site.html",
            ref,
            tabs,
            tab,
            site=site,
            general=NameForm(obj=site, formdata=None),
            address=AddressForm(obj=site, formdata=None),
        )

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

    def _station_page(self, ref: NodeRef, station: Station, tab: str) -> str:
        tabs = [
            ("general", _l("General")),
            ("address", _l("Address")),
            ("control", _l("Control")),
            ("ocpp", _l("OCPP")),
            ("log", _l("Message log")),
        ]
        general = StationGeneralForm(obj=station, formdata=None)
        general.protocol.data = station.protocol.value
        general.availability.data = station.availability.value
        return self._render(
            "admin/config/station.html",
            ref,
            tabs,
            tab,
            station=station,
            protocol_names=PROTOCOL_NAMES,
            colour=navigator.station_colour(current_user, station),
            general=general,
            password=StationPasswordForm(),
            address=AddressForm(obj=station, formdata=None),
            address_editable=places.may_edit_station_address(station),
            keys=station_control.config_keys(current_user, station),
            messages=station_control.recent_messages(current_user, station)
            if tab == "log"
            else [],
            triggers=station_control.TRIGGER_MESSAGES,
            ftp_address=station_control.default_diagnostics_location(station),
            firmware_images=station_control.firmware_locations(current_user, station),
            diagnostics=ftp_files.list_diagnostics(current_user, station),
            may_command=commands.may_command(current_user, station),
        )

    def _outlet_page(self, ref: NodeRef, outlet: Outlet, tab: str) -> str:
        general = OutletGeneralForm(obj=outlet, formdata=None)
        general.mode.data = outlet.mode.value
        return self._render(
            "admin/config/outlet.html",
            ref,
            [("general", _l("General"))],
            tab,
            outlet=outlet,
            general=general,
            services=integrations.outlet_services(outlet),
        )

    # -- helpers ------------------------------------------------------------
    def _back(self, ref: str, tab: str) -> Response:
        return redirect(url_for(".index", node=ref, tab=tab))

    def _save(
        self, change: Callable[[], Any], ref: str, tab: str, done: str
    ) -> Response:
        """Run one service call, commit, and flash the outcome."""
        try:
            change()
            db.session.commit()
        except NotFound:
            db.session.rollback()
            abort(404)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(done, "success")
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
            default_outlet_mode=OutletMode(form.default_outlet_mode.data),
            alarm_digest_time=form.alarm_digest_time.data,
            backup_retention=form.backup_retention.data or 0,
            backup_time=form.backup_time.data,
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
            mode=OutletMode(form.mode.data),
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
            mode=OutletMode(form.mode.data),
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
    @expose("/site/<int:ident>/general", methods=["POST"])
    def site_general(self, ident: int) -> Response:
        site = self._one(Site, ident)
        form = NameForm()
        ref = f"site:{site.id}"
        if not form.validate():
            return self._invalid(form, ref, "general")
        return self._save(
            lambda: topology.update_site(current_user, site, name=form.name.data or ""),
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
    @expose("/station/<int:ident>/general", methods=["POST"])
    def station_general(self, ident: int) -> Response:
        station = self._one(Station, ident)
        form = StationGeneralForm()
        ref = f"station:{station.id}"
        if not form.validate():
            return self._invalid(form, ref, "general")
        return self._save(
            lambda: topology.update_station(
                current_user,
                station,
                name=(form.name.data or "").strip(),
                chargebox_id=form.chargebox_id.data or "",
                description=form.description.data or "",
                protocol=Protocol(form.protocol.data),
                heartbeat_interval=form.heartbeat_interval.data,
                availability=Availability(form.availability.data),
            ),
            ref,
            "general",
            _("The station is saved."),
        )

    @expose("/station/<int:ident>/password", methods=["POST"])
    def station_password(self, ident: int) -> Response:
        station = self._one(Station, ident)
        form = StationPasswordForm()
        remove = request.form.get("action") == "remove"
        ref = f"station:{station.id}"
        if not remove and not form.password.data:
            flash(_("Type the new station password."), "error")
            return self._back(ref, "general")
        return self._save(
            lambda: stations.set_station_password(
                current_user, station, None if remove else form.password.data
            ),
            ref,
            "general",
            _("The station password is removed.")
            if remove
            else _("The station password is set."),
        )

    @expose("/station/<int:ident>/address", methods=["POST"])
    def station_address(self, ident: int) -> Response:
        station = self._one(Station, ident)
        form = AddressForm()
        ref = f"station:{station.id}"
        if not form.validate():
            return self._invalid(form, ref, "address")
        return self._save(
            lambda: places.update_station_address(
                current_user, station, _address(form)
            ),
            ref,
            "address",
            _("The address is saved."),
        )

    @expose("/station/<int:ident>/command/<command>", methods=["POST"])
    def station_command(
        self, ident: int, command: str
    ) -> Response | tuple[Response, int]:
        """Send one command and answer its result as JSON (the page stays)."""
        station = self._one(Station, ident)
        args = request.get_json(silent=True) or {}
        try:
            if command == "start":
                started = station_control.start_charging(
                    current_user,
                    station,
                    _number(args, "outlet") or 0,
                    _text(args, "tag"),
                    wait=min(5.0, float(current_app.config["OCPP_COMMAND_TIMEOUT"])),
                )
                return _result_json(started.result, session_id=started.session_id)
            if command not in _COMMANDS:
                abort(404)
            result = _COMMANDS[command](current_user, station, args)
        except DomainError as exc:
            db.session.rollback()
            return _error_json(exc)
        extra: dict[str, Any] = {}
        if command == "get_configuration":
            extra["keys"] = _keys_json(station)
        return _result_json(result, **extra)

    @expose("/station/<int:ident>/firmware", methods=["POST"])
    def station_firmware(self, ident: int) -> Response | tuple[Response, int]:
        """Keep an uploaded firmware image and tell the station where to fetch it."""
        station = self._one(Station, ident)
        upload = request.files.get("image")
        if upload is None or not upload.filename:
            return jsonify(status="error", text=_("Choose a firmware file.")), 400
        try:
            image = station_control.store_firmware_image(
                current_user,
                station,
                upload.filename,
                upload.read(),
                Path(current_app.instance_path),
            )
            location = url_for(
                "firmware.download",
                token=image.token,
                file_name=image.file_name,
                _external=True,
            )
            result = station_control.update_firmware(current_user, station, location)
        except DomainError as exc:
            db.session.rollback()
            return _error_json(exc)
        return _result_json(result, location=location)

    # -- outlet -----------------------------------------------------------
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
                mode=OutletMode(form.mode.data),
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


def _address(form: AddressForm) -> places.Address:
    return places.Address(
        street=form.street.data or "",
        postcode=form.postcode.data or "",
        city=form.city.data or "",
        country=form.country.data or "",
        latitude=form.latitude.data,
        longitude=form.longitude.data,
    )
