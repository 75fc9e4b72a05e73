"""Who calls the REST API and what it may see (spec §8 Services, outlet UUID).

Two kinds of caller authenticate with a bearer token: an external service with its
secret, or an administrator with a personal API token. Only SHA-256 digests of
tokens are stored (the tokens are 256-bit random, so a fast digest is enough and
lets the lookup use an index). A service sees exactly the outlets that have an id
for it, and the stations and sessions of those outlets; an administrator's token
sees what the administrator sees.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from app.extensions import db
from app.models import (
    ApiToken,
    ChargingSession,
    ExternalService,
    Outlet,
    OutletServiceId,
    OutletStatus,
    Role,
    Site,
    Station,
    User,
    utcnow,
)
from app.services import audit
from app.services.access import require_role
from app.services.errors import InvalidInput, NotFound
from app.services.navigator import RUNNING_SESSION_WINDOW

SERVICE_TOKEN_PREFIX = "cps_"  # noqa: S105 (a prefix, not a secret)
ADMIN_TOKEN_PREFIX = "cpa_"  # noqa: S105
SIGNING_PREFIX = "whsec_"
MAX_TOKEN_LENGTH = 200
# last_used_at is written at most this often per token (a write per call is waste).
_LAST_USED_GRANULARITY = timedelta(minutes=1)


def hash_token(token: str) -> str:
    """Return the stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def _hint(token: str) -> str:
    return token[:8] + "…"


class CallerKind(enum.StrEnum):
    SERVICE = "service"
    ADMIN = "administrator"


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one API request (plain values, no ORM rows)."""

    kind: CallerKind
    name: str
    service_id: int | None = None
    user_id: int | None = None
    token_id: int | None = None

    @property
    def key(self) -> str:
        """A stable name for counters and idempotency records (never the token)."""
        if self.service_id is not None:
            return f"service:{self.service_id}"
        return f"token:{self.token_id}"

    @property
    def is_service(self) -> bool:
        return self.kind is CallerKind.SERVICE


def authenticate(token: str | None) -> Caller | None:
    """Return the caller a bearer token belongs to, or None (unknown, revoked, inactive)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    digest = hash_token(token)
    if token.startswith(ADMIN_TOKEN_PREFIX):
        row = db.session.scalars(
            select(ApiToken).where(
                ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)
            )
        ).first()
        if row is None or not row.user.active or row.user.role is not Role.ADMIN:
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at > _LAST_USED_GRANULARITY:
            row.last_used_at = now
        return Caller(
            CallerKind.ADMIN, row.user.email, user_id=row.user_id, token_id=row.id
        )
    service = db.session.scalars(
        select(ExternalService).where(
            ExternalService.secret_hash == digest, ExternalService.active.is_(True)
        )
    ).first()
    if service is None:
        return None
    return Caller(CallerKind.SERVICE, service.provider, service_id=service.id)


def acting_user(caller: Caller) -> User | None:
    """Return the user behind a caller (administrators), None for a service."""
    if caller.user_id is None:
        return None
    return db.session.get(User, caller.user_id)


# ---------------------------------------------------------------------------
# Secrets of services and administrators' tokens


@dataclass(frozen=True)
class NewServiceSecret:
    """What an administrator is shown once after a rotation."""

    secret: str
    signing_secret: str


def signing_secret(service: ExternalService) -> str:
    """Return the key the service's webhooks are signed with.

    Derived, never stored: HMAC-SHA256(SECRET_KEY, "webhook-signing:<id>:<salt>").
    A rotation draws a new salt, so the signing secret changes with the secret.
    """
    key = str(current_app.config["SECRET_KEY"]).encode()
    message = f"webhook-signing:{service.id}:{service.signing_salt}".encode()
    return SIGNING_PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest()


def rotate_service_secret(actor: User, service: ExternalService) -> NewServiceSecret:
    """Give a service a new secret and signing secret; the old ones stop working."""
    require_role(actor, Role.ADMIN)
    secret = SERVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    service.secret_hash = hash_token(secret)
    service.secret_hint = _hint(secret)
    service.signing_salt = secrets.token_hex(16)
    service.secret_rotated_at = utcnow()
    db.session.flush()
    audit.record_change(actor, "update", service, {}, secret_changed=True)
    return NewServiceSecret(secret, signing_secret(service))


@dataclass(frozen=True)
class NewApiToken:
    token: ApiToken
    secret: str  # shown once


def create_api_token(actor: User, name: str) -> NewApiToken:
    """Create a personal API token for an administrator (shown once)."""
    require_role(actor, Role.ADMIN)
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise InvalidInput(_l("Name the token (at most 80 characters)."))
    secret = ADMIN_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=actor.id, name=name, token_hash=hash_token(secret), hint=_hint(secret)
    )
    db.session.add(token)
    db.session.flush()
    return NewApiToken(token, secret)


def own_api_tokens(actor: User) -> list[ApiToken]:
    """Return the administrator's own tokens, newest first."""
    require_role(actor, Role.ADMIN)
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == actor.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_api_token(actor: User, token_id: int) -> ApiToken:
    """Revoke one of the administrator's own tokens."""
    require_role(actor, Role.ADMIN)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.id:
        raise NotFound(_l("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
    return token


# ---------------------------------------------------------------------------
# What a caller sees: outlets, stations, sessions


def _outlets(caller: Caller) -> Select[Any]:
    # Only placed stations: one awaiting adoption belongs to no site yet.
    stmt = select(Outlet).join(Outlet.station).where(Station.site_id.is_not(None))
    if caller.service_id is not None:
        stmt = stmt.join(
            OutletServiceId,
            (OutletServiceId.outlet_id == Outlet.id)
            & (OutletServiceId.service_id == caller.service_id),
        )
    return stmt


def external_ids(caller: Caller, outlet_ids: Sequence[int]) -> dict[int, str]:
    """Return {outlet id: the caller's own id for it} (services only)."""
    if caller.service_id is None or not outlet_ids:
        return {}
    rows = db.session.execute(
        select(OutletServiceId.outlet_id, OutletServiceId.external_id).where(
            OutletServiceId.service_id == caller.service_id,
            OutletServiceId.outlet_id.in_(list(outlet_ids)),
        )
    )
    return {int(outlet_id): str(external) for outlet_id, external in rows}


def external_ids_by_service(
    outlet_id: int, service_ids: Sequence[int]
) -> dict[int, str]:
    """Return {service id: that service's id for the outlet}."""
    rows = db.session.execute(
        select(OutletServiceId.service_id, OutletServiceId.external_id).where(
            OutletServiceId.outlet_id == outlet_id,
            OutletServiceId.service_id.in_(list(service_ids)),
        )
    )
    return {int(service_id): str(external) for service_id, external in rows}


@dataclass(frozen=True)
class OutletFilter:
    site_uuid: str | None = None
    status: OutletStatus | None = None
    available: bool | None = None


def list_outlets(
    caller: Caller, filters: OutletFilter, *, page: int, per_page: int
) -> tuple[list[Outlet], int]:
    """Return one page of the caller's outlets and how many there are in all."""
    stmt = _outlets(caller)
    if filters.site_uuid:
        stmt = stmt.join(Site, Site.id == Station.site_id).where(
            Site.uuid == filters.site_uuid
        )
    if filters.status is not None:
        stmt = stmt.where(Outlet.status == filters.status)
    if filters.available is not None:
        free = (Outlet.status == OutletStatus.AVAILABLE) & Station.online.is_(True)
        stmt = stmt.where(free if filters.available else ~free)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(Outlet.id).offset((page - 1) * per_page).limit(per_page)
    )
    return list(rows), total


def is_available(outlet: Outlet) -> bool:
    """Tell whether someone could start charging on the outlet now."""
    return outlet.station.online and outlet.status is OutletStatus.AVAILABLE


def get_outlet(caller: Caller, outlet_uuid: str) -> Outlet:
    """Return the outlet with this UUID if the caller may see it, else NotFound."""
    outlet: Outlet | None = db.session.scalars(
        _outlets(caller).where(Outlet.uuid == (outlet_uuid or "").lower())
    ).first()
    if outlet is None:
        raise NotFound(_l("No such outlet."))
    return outlet


def get_outlet_by_external_id(
    caller: Caller, external_id: str, service_provider: str | None = None
) -> Outlet:
    """Return the outlet a service knows by its own id.

    A service uses its own ids; an administrator names the service.
    """
    service_id = caller.service_id
    if service_id is None:
        service_id = db.session.scalar(
            select(ExternalService.id).where(
                func.lower(ExternalService.provider) == (service_provider or "").lower()
            )
        )
        if service_id is None:
            raise NotFound(_l("No such service."))
    outlet: Outlet | None = db.session.scalars(
        _outlets(caller).where(
            Outlet.id.in_(
                select(OutletServiceId.outlet_id).where(
                    OutletServiceId.service_id == service_id,
                    OutletServiceId.external_id == external_id,
                )
            )
        )
    ).first()
    if outlet is None:
        raise NotFound(_l("No such outlet."))
    return outlet


def get_station(caller: Caller, station_uuid: str) -> tuple[Station, list[Outlet]]:
    """Return a station the caller sees and the outlets of it the caller sees."""
    outlets = list(
        db.session.scalars(
            _outlets(caller)
            .where(Station.uuid == (station_uuid or "").lower())
            .order_by(Outlet.number)
        )
    )
    if not outlets:
        raise NotFound(_l("No such station."))
    return outlets[0].station, outlets


def get_session(caller: Caller, session_id: int) -> ChargingSession:
    """Return a charging session on one of the caller's outlets, else NotFound."""
    session = db.session.get(ChargingSession, session_id)
    if session is None or not _sees_outlet(caller, session.outlet_id):
        raise NotFound(_l("No such charging session."))
    return session


def _sees_outlet(caller: Caller, outlet_id: int) -> bool:
    return (
        db.session.scalar(
            select(func.count()).select_from(
                _outlets(caller).where(Outlet.id == outlet_id).subquery()
            )
        )
        or 0
    ) > 0


def running_session(outlet: Outlet) -> ChargingSession | None:
    """Return the session running on the outlet, if any."""
    return db.session.scalars(
        select(ChargingSession)
        .where(
            ChargingSession.outlet_id == outlet.id,
            ChargingSession.ended_at.is_(None),
            ChargingSession.started_at >= utcnow() - RUNNING_SESSION_WINDOW,
        )
        .order_by(ChargingSession.started_at.desc())
    ).first()
