"""Configuration → Sites, Floors, Stations, Outlets: the topology of spec §3 and §8."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, NumberRange, Optional

from admin_views.base import STAFF, PortalForm, ScopedModelView
from admin_views.fields import QuerySelectField, scoped_choices
from app.models import (
    Availability,
    Floor,
    Outlet,
    Protocol,
    Role,
    Site,
    Station,
)
from app.services import topology


def _enum_choices(enum_cls: type) -> list[tuple[str, str]]:
    return [(member.value, member.value) for member in enum_cls]


class SiteForm(PortalForm):
    name = StringField(_l("Name"), validators=[DataRequired()])
    street = StringField(_l("Street"))
    postcode = StringField(_l("Postcode"))
    city = StringField(_l("City"))
    country = StringField(_l("Country"))
    latitude = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField(
        _l("Longitude"), validators=[Optional(), NumberRange(-180, 180)]
    )


def _site_fields(form: SiteForm) -> dict[str, Any]:
    text = {
        name: form[name].data or ""
        for name in ("street", "postcode", "city", "country")
    }
    return text | {"latitude": form.latitude.data, "longitude": form.longitude.data}


class SiteView(ScopedModelView):
    roles = STAFF
    form = SiteForm
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

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return bool(current_user.is_authenticated and current_user.role is Role.ADMIN)

    can_delete = can_create

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return bool(
            current_user.is_authenticated
            and current_user.role in (Role.ADMIN, Role.SITE_ADMIN)
        )

    def create_with(self, form: SiteForm) -> Site:
        return topology.create_site(
            current_user, form.name.data or "", **_site_fields(form)
        )

    def update_with(self, form: SiteForm, model: Site) -> None:
        topology.update_site(
            current_user, model, name=form.name.data or "", **_site_fields(form)
        )

    def delete_with(self, model: Site) -> None:
        topology.delete_site(current_user, model)


class FloorCreateForm(PortalForm):
    site = QuerySelectField(
        _l("Site"),
        query_factory=scoped_choices(Site, Site.name),
        allow_blank=True,
        blank_text="—",
    )
    name = StringField(_l("Name"), validators=[DataRequired()])


class FloorEditForm(PortalForm):
    name = StringField(_l("Name"), validators=[DataRequired()])


class FloorView(ScopedModelView):
    roles = STAFF
    form = FloorEditForm
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

    @property
    def _manages(self) -> bool:
        return bool(
            current_user.is_authenticated
            and current_user.role in (Role.ADMIN, Role.SITE_ADMIN)
        )

    can_create = can_edit = can_delete = _manages  # type: ignore[assignment]

    def get_create_form(self) -> type[PortalForm]:
        return FloorCreateForm

    def create_with(self, form: FloorCreateForm) -> Floor:
        return topology.create_floor(current_user, form.site.data, form.name.data or "")

    def update_with(self, form: FloorEditForm, model: Floor) -> None:
        topology.update_floor(current_user, model, name=form.name.data or "")

    def delete_with(self, model: Floor) -> None:
        topology.delete_floor(current_user, model)


class StationCreateForm(PortalForm):
    chargebox_id = StringField(
        _l("Chargebox id"),
        validators=[DataRequired()],
        description=_l("Must equal the identity the station presents."),
    )
    name = StringField(_l("Station name"))
    protocol = SelectField(
        _l("Protocol"),
        choices=_enum_choices(Protocol),
        default=Protocol.OCPP16_JSON.value,
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
    description = TextAreaField(_l("Description"))


class StationEditForm(PortalForm):
    name = StringField(_l("Station name"), validators=[DataRequired()])
    chargebox_id = StringField(_l("Chargebox id"), validators=[DataRequired()])
    protocol = SelectField(_l("Protocol"), choices=_enum_choices(Protocol))
    description = TextAreaField(_l("Description"))
    heartbeat_interval = IntegerField(
        _l("Heartbeat interval (s)"), validators=[NumberRange(10, 86400)]
    )
    availability = SelectField(_l("Availability"), choices=_enum_choices(Availability))
    site = QuerySelectField(_l("Site"), query_factory=scoped_choices(Site, Site.name))
    floor = QuerySelectField(
        _l("Floor"),
        query_factory=scoped_choices(Floor, Floor.name),
        allow_blank=True,
        blank_text="—",
    )


class StationView(ScopedModelView):
    roles = STAFF
    form = StationEditForm
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

    @property
    def _manages(self) -> bool:
        return bool(
            current_user.is_authenticated
            and current_user.role in (Role.ADMIN, Role.SITE_ADMIN)
        )

    can_create = can_delete = _manages  # type: ignore[assignment]
    can_edit = True

    def get_create_form(self) -> type[PortalForm]:
        return StationCreateForm

    def create_with(self, form: StationCreateForm) -> Station:
        data = topology.StationInput(
            chargebox_id=form.chargebox_id.data or "",
            name=form.name.data or "",
            protocol=Protocol(form.protocol.data),
            outlets=form.outlets.data or 1,
            description=form.description.data or "",
        )
        return topology.create_station(
            current_user, data, site=form.site.data, floor=form.floor.data
        )

    def update_with(self, form: StationEditForm, model: Station) -> None:
        if form.site.data != model.site or form.floor.data != model.floor:
            topology.move_station(
                current_user, model, site=form.site.data, floor=form.floor.data
            )
        topology.update_station(
            current_user,
            model,
            name=form.name.data or "",
            chargebox_id=form.chargebox_id.data or "",
            protocol=Protocol(form.protocol.data),
            description=form.description.data or "",
            heartbeat_interval=form.heartbeat_interval.data,
            availability=Availability(form.availability.data),
        )

    def delete_with(self, model: Station) -> None:
        topology.delete_station(current_user, model)


class OutletCreateForm(PortalForm):
    station = QuerySelectField(
        _l("Station"),
        query_factory=scoped_choices(Station, Station.chargebox_id),
        allow_blank=True,
        blank_text="—",
    )
    number = IntegerField(
        _l("Outlet id"),
        validators=[Optional(), NumberRange(1, 4)],
        description=_l("1-4; the lowest free number when empty."),
    )
    connector_type = StringField(_l("Connector type"), default="Type 2")


class OutletEditForm(PortalForm):
    connector_type = StringField(_l("Connector type"))
    parking = StringField(_l("Parking"))


class OutletView(ScopedModelView):
    roles = STAFF
    form = OutletEditForm
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

    @property
    def _manages(self) -> bool:
        return bool(
            current_user.is_authenticated
            and current_user.role in (Role.ADMIN, Role.SITE_ADMIN)
        )

    can_create = can_delete = _manages  # type: ignore[assignment]
    can_edit = True

    def get_create_form(self) -> type[PortalForm]:
        return OutletCreateForm

    def create_with(self, form: OutletCreateForm) -> Outlet:
        return topology.create_outlet(
            current_user,
            form.station.data,
            number=form.number.data,
            connector_type=form.connector_type.data or "",
        )

    def update_with(self, form: OutletEditForm, model: Outlet) -> None:
        topology.update_outlet(
            current_user,
            model,
            connector_type=form.connector_type.data or "",
            parking=form.parking.data or "",
        )

    def delete_with(self, model: Outlet) -> None:
        topology.delete_outlet(current_user, model)
