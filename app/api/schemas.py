"""The JSON shapes of the REST API (marshmallow): they validate input and, through
apispec, write the OpenAPI document."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from app.models import CommandKind, CommandState, OutletStatus


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class ProblemSchema(ma.Schema):
    """An error, as RFC 9457 problem details (application/problem+json)."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String(metadata={"example": "Not Found"})
    status = fields.Integer(metadata={"example": 404})
    detail = fields.String(metadata={"example": "No such outlet."})
    errors = fields.Dict(
        metadata={"description": "Input errors by location and field."}
    )


class SiteSchema(ma.Schema):
    uuid = fields.String()
    name = fields.String()


class AddressSchema(ma.Schema):
    street = fields.String()
    postcode = fields.String()
    city = fields.String()
    country = fields.String()


class PositionSchema(ma.Schema):
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)


class StationRefSchema(ma.Schema):
    uuid = fields.String()
    name = fields.String()
    online = fields.Boolean()
    availability = fields.String(
        metadata={"description": "public or private (spec §8 Station)."}
    )


class OutletSchema(ma.Schema):
    uuid = fields.String(metadata={"description": "The outlet's UUID."})
    id = fields.String(
        allow_none=True,
        metadata={"description": "Your own id for this outlet (services)."},
    )
    number = fields.Integer(metadata={"description": "The station's outlet number."})
    connector_type = fields.String()
    parking = fields.String()
    mode = fields.String(
        metadata={
            "description": "OPEN (anyone may charge) or RFID (a tag is needed); "
            "`access` says which tags."
        }
    )
    access = fields.String(
        metadata={
            "description": "Who may charge (the outlet's effective access policy): "
            "OPEN (anyone), KNOWN (any known tag) or GROUPS (members of groups).",
            "enum": ["OPEN", "KNOWN", "GROUPS"],
        }
    )
    status = fields.String(metadata={"enum": [status.value for status in OutletStatus]})
    available = fields.Boolean(
        metadata={"description": "Online and free: a start can begin now."}
    )
    status_at = fields.DateTime(allow_none=True)
    station = fields.Nested(StationRefSchema)
    site = fields.Nested(SiteSchema)
    address = fields.Nested(AddressSchema)
    position = fields.Nested(PositionSchema)


class OutletPageSchema(ma.Schema):
    items = fields.List(fields.Nested(OutletSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class OutletQuerySchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    site = fields.String(
        validate=validate.Length(max=36), metadata={"description": "A site UUID."}
    )
    status = fields.String(validate=validate.OneOf([s.value for s in OutletStatus]))
    available = fields.Boolean()


class ServiceQuerySchema(StrictSchema):
    service = fields.String(
        validate=validate.Length(max=120),
        metadata={"description": "Administrators' tokens: the service's provider."},
    )


class OutletBriefSchema(ma.Schema):
    uuid = fields.String()
    id = fields.String(allow_none=True)
    number = fields.Integer()
    connector_type = fields.String()
    status = fields.String()
    available = fields.Boolean()
    status_at = fields.DateTime(allow_none=True)


class StationSchema(ma.Schema):
    uuid = fields.String()
    name = fields.String()
    online = fields.Boolean()
    last_seen_at = fields.DateTime(allow_none=True)
    availability = fields.String()
    vendor = fields.String()
    model = fields.String()
    firmware_version = fields.String()
    site = fields.Nested(SiteSchema)
    address = fields.Nested(AddressSchema)
    position = fields.Nested(PositionSchema)
    outlets = fields.List(fields.Nested(OutletBriefSchema))


class SessionOutletSchema(ma.Schema):
    uuid = fields.String()
    id = fields.String(allow_none=True)
    number = fields.Integer()


class SessionSchema(ma.Schema):
    id = fields.Integer(metadata={"description": "The charging session id."})
    status = fields.String(metadata={"enum": ["charging", "ended"]})
    outlet = fields.Nested(SessionOutletSchema)
    station = fields.Nested(SiteSchema)
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    meter_start_kwh = fields.Float()
    meter_kwh = fields.Float(metadata={"description": "The latest meter reading."})
    energy_kwh = fields.Float(metadata={"description": "Energy so far (kWh)."})
    stop_reason = fields.String(allow_none=True)
    authentication = fields.String(metadata={"enum": ["anonymous", "rfid"]})
    started_by_you = fields.Boolean()
    url = fields.String()


class CommandSchema(ma.Schema):
    id = fields.String(metadata={"description": "The command's id (a UUID)."})
    kind = fields.String(metadata={"enum": [kind.value for kind in CommandKind]})
    state = fields.String(
        metadata={
            "enum": [state.value for state in CommandState],
            "description": "pending and accepted are still open; done means the "
            "session started (start) or ended (stop).",
        }
    )
    detail = fields.String()
    outlet = fields.String(metadata={"description": "The outlet's UUID."})
    session_id = fields.Integer(allow_none=True)
    session_url = fields.String(allow_none=True)
    status_url = fields.String()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class StartSchema(StrictSchema):
    tag = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={
            "description": "The tag (OCPP idTag, 1-20 printable characters) to "
            "charge for, as registered or as the station's readers send it; `0x…` "
            "and `04:A1:…` are read as a hex UID. Leave it out for an anonymous "
            "start (services only)."
        },
    )


class StopSchema(StrictSchema):
    pass
