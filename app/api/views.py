"""The endpoints of /api/v1: unpack, call one service, write JSON (style.md §4)."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import current_app, g, request, url_for
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from app.api.problems import json_response, problem, problem_response, status_of
from app.api.schemas import (
    CommandSchema,
    OutletPageSchema,
    OutletQuerySchema,
    OutletSchema,
    ServiceQuerySchema,
    SessionSchema,
    StartSchema,
    StationSchema,
    StopSchema,
)
from app.extensions import db, limiter
from app.models import ApiCommand, ChargingSession, Outlet, OutletStatus, Station
from app.services import access_policies, api_access, idempotency, remote_charging
from app.services.api_access import Caller
from app.services.errors import DomainError
from app.services.idempotency import Answer

blp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Outlets, charging sessions and remote start/stop.",
)


def _rate_key() -> str:
    """Count per bearer token (its digest: tokens never reach the counters' store)."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return "api-token:" + api_access.hash_token(header[7:].strip())[:32]
    return "api-ip:" + (request.remote_addr or "?")


# Declared once, on the blueprint (not per app: limits on a blueprint accumulate).
limiter.limit(
    lambda: str(current_app.config["API_RATE_LIMIT"]),
    key_func=_rate_key,
    error_message="Too many requests for this token; slow down.",
)(blp)

MAX_ID = 2**31 - 1
IDEMPOTENCY_HEADER = {
    "Idempotency-Key": {
        "description": "Repeat a request safely: the first answer is stored and "
        "returned again for the same key (24 h); the action runs once.",
        "schema": {"type": "string", "maxLength": 255},
        "required": False,
    }
}
_ERRORS = (401, 404, 422, 429)


def _errors(*codes: int) -> Callable[[Any], Any]:
    """Document the problem+json answers of an endpoint."""

    def decorate(view: Any) -> Any:
        for code in sorted({*_ERRORS, *codes}):
            name = HTTPStatus(code).name  # a problem+json response (PortalApi)
            view = blp.alt_response(code, response=name, success=False)(view)
        return view

    return decorate


def _sends_command(view: Any) -> Any:
    """Document a call that sends a station a command: idempotent, 202 while it runs."""
    view = _errors(403, 409, 413, 502, 504)(view)
    view = blp.doc(
        parameters=[
            {"in": "header", "name": k, **v} for k, v in IDEMPOTENCY_HEADER.items()
        ]
    )(view)
    return blp.alt_response(
        202, schema=CommandSchema, description="Sent; follow status_url."
    )(view)


# ---------------------------------------------------------------------------
# Request handling: bearer token, body size, errors


@blp.before_request
def _authenticate() -> ResponseReturnValue | None:
    limit = int(current_app.config["API_MAX_BODY_BYTES"])
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        return problem_response(413, f"The request body is larger than {limit} bytes.")
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    caller = (
        api_access.authenticate(token.strip()) if scheme.lower() == "bearer" else None
    )
    if caller is None:
        db.session.rollback()
        return problem_response(
            401,
            "Give a valid bearer token: Authorization: Bearer <token>."
            if not header
            else "The bearer token is not valid.",
            headers={"WWW-Authenticate": 'Bearer realm="Charge Portal API"'},
        )
    db.session.commit()  # last_used_at of an administrator's token
    g.api_caller = caller
    return None


def _caller() -> Caller:
    caller: Caller = g.api_caller
    return caller


@blp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> ResponseReturnValue:
    db.session.rollback()
    return problem_response(status_of(error), str(error))


@blp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> ResponseReturnValue:
    db.session.rollback()
    data = getattr(error, "data", None) or {}
    errors = data.get("messages") or data.get("errors")
    detail = data.get("message") or error.description
    if errors and error.code == 422:
        detail = "The request has invalid fields."
    headers = dict(error.get_headers()) if error.code in (405, 429) else {}
    headers.pop("Content-Type", None)
    return problem_response(error.code or 500, detail, errors, headers)


# ---------------------------------------------------------------------------
# Representations (presentation only: what the JSON shows of a row)


def _iso_site(station: Station) -> dict[str, Any]:
    site = station.site
    return {"uuid": site.uuid, "name": site.name} if site else {}


def _address(station: Station) -> dict[str, str]:
    own = station.floor_id is None and (station.street or station.city)
    place: Any = station if own or station.site is None else station.site
    return {
        "street": place.street,
        "postcode": place.postcode,
        "city": place.city,
        "country": place.country,
    }


def _position(station: Station) -> dict[str, float | None]:
    if station.latitude is not None and station.longitude is not None:
        return {"latitude": station.latitude, "longitude": station.longitude}
    site = station.site
    return {
        "latitude": site.latitude if site else None,
        "longitude": site.longitude if site else None,
    }


def _outlet_brief(outlet: Outlet, ids: dict[int, str]) -> dict[str, Any]:
    return {
        "uuid": outlet.uuid,
        "id": ids.get(outlet.id),
        "number": outlet.number,
        "connector_type": outlet.connector_type,
        "status": outlet.status.value,
        "available": api_access.is_available(outlet),
        "status_at": outlet.status_at,
    }


def _access(outlet: Outlet) -> dict[str, str]:
    rule = access_policies.node_policy(outlet).rule
    return {"mode": "OPEN" if rule.value == "OPEN" else "RFID", "access": rule.value}


def _outlet(outlet: Outlet, ids: dict[int, str]) -> dict[str, Any]:
    station = outlet.station
    return {
        **_outlet_brief(outlet, ids),
        "parking": outlet.parking,
        **_access(outlet),
        "station": {
            "uuid": station.uuid,
            "name": station.name,
            "online": station.online,
            "availability": station.availability.value,
        },
        "site": _iso_site(station),
        "address": _address(station),
        "position": _position(station),
    }


def _session(session: ChargingSession, caller: Caller) -> dict[str, Any]:
    ids = api_access.external_ids(caller, [session.outlet_id])
    started_by_you = caller.service_id is not None and remote_charging.started_by(
        session, caller.service_id
    )
    return {
        "id": session.id,
        "status": "ended" if session.ended_at else "charging",
        "outlet": {
            "uuid": session.outlet.uuid,
            "id": ids.get(session.outlet_id),
            "number": session.outlet_number,
        },
        "station": {"uuid": session.station.uuid, "name": session.station.name},
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "meter_start_kwh": session.meter_start_kwh,
        "meter_kwh": session.meter_kwh,
        "energy_kwh": session.energy_kwh,
        "stop_reason": session.stop_reason or None,
        "authentication": "rfid" if session.authentication else "anonymous",
        "started_by_you": started_by_you,
        "url": url_for("api.session", session_id=session.id),
    }


def _command(command: ApiCommand) -> dict[str, Any]:
    return {
        "id": command.uuid,
        "kind": command.kind.value,
        "state": command.state.value,
        "detail": command.detail,
        "outlet": command.outlet.uuid,
        "session_id": command.session_id,
        "session_url": url_for("api.session", session_id=command.session_id)
        if command.session_id
        else None,
        "status_url": url_for("api.command", command_id=command.uuid),
        "created_at": command.created_at,
        "finished_at": command.finished_at,
    }


# ---------------------------------------------------------------------------
# Outlets and stations


@blp.route("/outlets")
@blp.arguments(OutletQuerySchema, location="query", as_kwargs=True)
@blp.response(200, OutletPageSchema)
@_errors()
def outlets(
    page: int,
    per_page: int,
    site: str | None = None,
    status: str | None = None,
    available: bool | None = None,
) -> dict[str, Any]:
    """List your outlets with their status (for map services).

    A service sees the outlets that have an id for it; an administrator's token
    sees every outlet of a placed station.
    """
    caller = _caller()
    filters = api_access.OutletFilter(
        site_uuid=site,
        status=OutletStatus(status) if status else None,
        available=available,
    )
    rows, total = api_access.list_outlets(caller, filters, page=page, per_page=per_page)
    ids = api_access.external_ids(caller, [row.id for row in rows])
    return {
        "items": [_outlet(row, ids) for row in rows],
        "total": total,
        "page": page,
        "per_page": per_page,
    }


@blp.route("/outlets/<string:outlet_uuid>")
@blp.response(200, OutletSchema)
@_errors()
def outlet(outlet_uuid: str) -> dict[str, Any]:
    """Read one outlet by its UUID."""
    caller = _caller()
    row = api_access.get_outlet(caller, outlet_uuid)
    return _outlet(row, api_access.external_ids(caller, [row.id]))


@blp.route("/outlets/by-service-id/<string:external_id>")
@blp.arguments(ServiceQuerySchema, location="query", as_kwargs=True)
@blp.response(200, OutletSchema)
@_errors()
def outlet_by_service_id(external_id: str, service: str | None = None) -> Any:
    """Read one outlet by your own id for it.

    A service uses its own ids; an administrator's token names the service with
    `?service=<provider>`.
    """
    caller = _caller()
    row = api_access.get_outlet_by_external_id(caller, external_id, service)
    return _outlet(row, api_access.external_ids(caller, [row.id]))


@blp.route("/stations/<string:station_uuid>")
@blp.response(200, StationSchema)
@_errors()
def station(station_uuid: str) -> dict[str, Any]:
    """Read a station's status and the status of its outlets you see."""
    caller = _caller()
    row, visible = api_access.get_station(caller, station_uuid)
    ids = api_access.external_ids(caller, [o.id for o in visible])
    return {
        "uuid": row.uuid,
        "name": row.name,
        "online": row.online,
        "last_seen_at": row.last_seen_at,
        "availability": row.availability.value,
        "vendor": row.vendor,
        "model": row.model,
        "firmware_version": row.firmware_version,
        "site": _iso_site(row),
        "address": _address(row),
        "position": _position(row),
        "outlets": [_outlet_brief(o, ids) for o in visible],
    }


# ---------------------------------------------------------------------------
# Start, stop, sessions, commands


def _wait() -> float:
    return float(current_app.config["API_START_WAIT"])


def _answer_of(outcome: remote_charging.Outcome, caller: Caller, ok: int) -> Answer:
    """A finished start/stop: the session; still open: 202 and the command."""
    command = outcome.command
    if outcome.done and outcome.session is not None:
        return Answer(ok, SessionSchema().dump(_session(outcome.session, caller)))
    assert command is not None
    body = CommandSchema().dump(_command(command))
    failures = {"rejected": 409, "offline": 409, "timed_out": 504, "failed": 502}
    if command.state.value in failures:
        status = failures[command.state.value]
        detail = {
            "rejected": "The station rejected the command.",
            "offline": "The station is offline.",
            "timed_out": "The station did not answer in time.",
        }.get(command.state.value, command.detail or "The command failed.")
        return Answer(status, {**problem(status, detail), "command": body})
    return Answer(202, body)


def _idempotent(produce: Callable[[], Answer]) -> ResponseReturnValue:
    """Run a start/stop once per Idempotency-Key; errors are answers too."""

    def guarded() -> Answer:
        try:
            return produce()
        except DomainError as error:
            db.session.rollback()
            status = status_of(error)
            return Answer(status, problem(status, str(error)))

    key = request.headers.get("Idempotency-Key")
    if key is None:
        answer = guarded()
    else:
        answer = idempotency.once(
            _caller().key,
            key,
            idempotency.fingerprint(
                request.method, request.path, request.get_data(cache=True)
            ),
            guarded,
        )
    headers = {}
    if answer.status == 201:
        headers["Location"] = answer.body["url"]
    elif answer.status == 202:
        headers["Location"] = answer.body["status_url"]
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(answer.body, answer.status, headers)


def _start(outlet_row: Outlet, tag: str | None) -> ResponseReturnValue:
    caller = _caller()

    def produce() -> Answer:
        outcome = remote_charging.start_charging(caller, outlet_row, tag, wait=_wait())
        return _answer_of(outcome, caller, 201)

    return _idempotent(produce)


@blp.route("/outlets/<string:outlet_uuid>/start", methods=["POST"])
@blp.arguments(StartSchema, required=False)
@blp.response(201, SessionSchema, description="Started: the charging session.")
@_sends_command
def start(data: dict[str, Any], outlet_uuid: str) -> ResponseReturnValue:
    """Start charging on an outlet (by UUID) for a tag, or anonymously (services).

    Answers 201 with the session once the station has started it, or 202 with a
    command to follow when the station takes longer than the wait.
    """
    return _start(api_access.get_outlet(_caller(), outlet_uuid), data.get("tag"))


@blp.route("/outlets/by-service-id/<string:external_id>/start", methods=["POST"])
@blp.arguments(StartSchema, required=False)
@blp.response(201, SessionSchema, description="Started: the charging session.")
@_sends_command
def start_by_service_id(data: dict[str, Any], external_id: str) -> ResponseReturnValue:
    """Start charging on an outlet named by your own id for it (services)."""
    row = api_access.get_outlet_by_external_id(_caller(), external_id)
    return _start(row, data.get("tag"))


@blp.route("/sessions/<int(max=2147483647):session_id>", endpoint="session")
@blp.response(200, SessionSchema)
@_errors()
def session_view(session_id: int) -> dict[str, Any]:
    """Read a charging session with its energy so far."""
    caller = _caller()
    return _session(api_access.get_session(caller, session_id), caller)


@blp.route("/sessions/<int(max=2147483647):session_id>/stop", methods=["POST"])
@blp.arguments(StopSchema, required=False)
@blp.response(200, SessionSchema, description="Stopped: the ended session.")
@_sends_command
def stop(_data: dict[str, Any], session_id: int) -> ResponseReturnValue:
    """Stop a charging session (a service: only the sessions it started)."""
    caller = _caller()
    row = api_access.get_session(caller, session_id)

    def produce() -> Answer:
        outcome = remote_charging.stop_charging(caller, row, wait=_wait())
        return _answer_of(outcome, caller, 200)

    return _idempotent(produce)


@blp.route("/commands/<string:command_id>", endpoint="command")
@blp.response(200, CommandSchema)
@_errors()
def command_view(command_id: str) -> dict[str, Any]:
    """Follow a start or stop that was answered 202."""
    outcome = remote_charging.get_command(_caller(), command_id)
    assert outcome.command is not None
    return _command(outcome.command)
