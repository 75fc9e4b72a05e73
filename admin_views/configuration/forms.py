"""The forms and word tables of the configuration screens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
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

from admin_views.fields import QuerySelectField, scoped_choices
from app.models import (
    AccessRule,
    Availability,
    ConnectPolicy,
    Floor,
    Outlet,
    Protocol,
    Site,
    Station,
)
from app.services import (
    commands,
    places,
    topology,
)

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


_NOTATIONS = [
    ("exact", _l("as registered (exact)")),
    ("hex", _l("as hex UID (a decimal registration matches)")),
    ("decimal", _l("as decimal UID (a hex registration matches)")),
]


def _inherited_notation() -> SelectField:
    """A site's or station's reader notation; empty: as the level above says."""
    return SelectField(
        _l("Readers send cards"),
        choices=[("", _l("as the level above says")), *_NOTATIONS],
        default="",
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
    default_access = SelectField(
        _l("Who may charge (default)"),
        choices=[
            (AccessRule.KNOWN.value, _l("Any known tag")),
            (AccessRule.OPEN.value, _l("Open to anyone")),
        ],
        description=_l("Sites, floors, stations and outlets may say otherwise."),
    )
    alarm_digest_time = TimeField(_l("Alarm digest time"))
    backup_retention = IntegerField(
        _l("Backup retention (days)"), validators=[NumberRange(1, 3650)]
    )
    backup_time = TimeField(_l("Backup time"))
    tag_notation = SelectField(
        _l("Readers send cards"),
        choices=_NOTATIONS,
        description=_l("Sites and stations may say otherwise."),
        default="exact",
    )


class NameForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired()])


class SiteGeneralForm(NameForm):
    tag_notation = _inherited_notation()


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
    tag_notation = _inherited_notation()


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


class CreateOutletForm(FlaskForm):
    station = QuerySelectField(
        _l("Station"),
        query_factory=scoped_choices(Station, Station.chargebox_id),
        allow_blank=True,
        blank_text="—",
    )
    number = IntegerField(_l("Outlet id"), validators=[Optional(), NumberRange(1, 4)])
    connector_type = StringField(_l("Connector type"), default="Type 2")


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


def _address(form: AddressForm) -> places.Address:
    return places.Address(
        street=form.street.data or "",
        postcode=form.postcode.data or "",
        city=form.city.data or "",
        country=form.country.data or "",
        latitude=form.latitude.data,
        longitude=form.longitude.data,
    )
