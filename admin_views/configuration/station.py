"""Station: General, Address, Control, OCPP, Message log."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    request,
)
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from admin_views.configuration.forms import (
    PROTOCOL_NAMES,
    AddressForm,
    StationGeneralForm,
    StationPasswordForm,
    _address,
)
from admin_views.configuration.screen import ConfigScreen
from admin_views.configuration.station_commands import (
    _COMMANDS,
    _error_json,
    _keys_json,
    _number,
    _result_json,
    _text,
)
from app.extensions import db
from app.models import (
    Availability,
    Protocol,
    Station,
    TagNotation,
)
from app.services import (
    commands,
    firmware,
    ftp_files,
    local_lists,
    navigator,
    places,
    station_control,
    stations,
    tags,
    topology,
)
from app.services.errors import DomainError
from app.services.nodes import NodeRef


class StationTabs(ConfigScreen):
    """Station: General, Address, Control, OCPP, Message log."""

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
        general.tag_notation.data = (
            station.tag_notation.value if station.tag_notation else ""
        )
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
            firmware_images=station_control.firmware_choices(current_user, station),
            firmware_ways=firmware.ways(),
            diagnostics=ftp_files.list_diagnostics(current_user, station),
            may_command=commands.may_command(current_user, station),
            local_list=local_lists.status_of(station) if tab == "control" else None,
        )

    @expose("/station/<int:ident>/general", methods=["POST"])
    def station_general(self, ident: int) -> Response:
        station = self._one(Station, ident)
        form = StationGeneralForm()
        ref = f"station:{station.id}"
        if not form.validate():
            return self._invalid(form, ref, "general")
        notation = (
            TagNotation(form.tag_notation.data) if form.tag_notation.data else None
        )

        def save() -> None:
            topology.update_station(
                current_user,
                station,
                name=(form.name.data or "").strip(),
                chargebox_id=form.chargebox_id.data or "",
                description=form.description.data or "",
                protocol=Protocol(form.protocol.data),
                heartbeat_interval=form.heartbeat_interval.data,
                availability=Availability(form.availability.data),
            )
            tags.set_notation(current_user, station, notation)

        return self._save(
            save,
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

    # -- outlet -----------------------------------------------------------
