"""Third-party services (spec §8 Services) and each outlet's id at each service.

The secret of a service is its bearer token for the REST API: the portal makes
it (api_access.rotate_service_secret), shows it once and keeps only its digest.
Only administrators manage services; whoever may configure an outlet sets its id
at the active services.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.extensions import db
from app.models import ExternalService, Outlet, OutletServiceId, Role, User
from app.services import audit, webhooks
from app.services.access import require_role, require_site_manager
from app.services.errors import Conflict, InvalidInput, NotFound

MASK = "••••••••"


@dataclass(frozen=True)
class ServiceInput:
    """The fields of a service as a person types them (the secret is made, not typed)."""

    provider: str
    description: str = ""
    url: str = ""
    active: bool = False


def may_manage_services(user: User | None) -> bool:
    """Tell whether a user may see and change the services (administrators only)."""
    return user is not None and user.active and user.role is Role.ADMIN


def masked(service: ExternalService) -> str:
    """Return how a secret is shown: its first characters and a mask, or nothing."""
    if not service.secret_hash:
        return ""
    return f"{service.secret_hint or ''}{MASK}"


def _check(data: ServiceInput, service_id: int | None) -> tuple[str, str]:
    provider = (data.provider or "").strip()
    if not provider:
        raise InvalidInput(_l("The service needs a provider name."))
    url = (data.url or "").strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(_l("The service URL is written http(s)://host/path."))
    clash = db.session.scalars(
        select(ExternalService.id).where(
            func.lower(ExternalService.provider) == provider.lower(),
            ExternalService.id != (service_id or 0),
        )
    ).first()
    if clash is not None:
        raise Conflict(
            _l("A service of provider %(name)s already exists.", name=provider)
        )
    return provider, url


def create_service(actor: User, data: ServiceInput) -> ExternalService:
    """Add a service. Administrators only (spec §8: the operator activates services)."""
    require_role(actor, Role.ADMIN)
    provider, url = _check(data, None)
    service = ExternalService(
        provider=provider,
        description=(data.description or "").strip(),
        url=url,
        active=data.active,
    )
    db.session.add(service)
    audit.record_create(actor, service)
    webhooks.subscribers_changed()
    return service


def update_service(
    actor: User, service: ExternalService, data: ServiceInput
) -> ExternalService:
    """Change a service; an empty secret keeps the stored one."""
    require_role(actor, Role.ADMIN)
    provider, url = _check(data, service.id)
    before = audit.snapshot(service)
    service.provider = provider
    service.description = (data.description or "").strip()
    service.url = url
    service.active = data.active
    db.session.flush()
    audit.record_update(actor, service, before)
    webhooks.subscribers_changed()
    return service


def delete_service(actor: User, service: ExternalService) -> None:
    """Remove a service and the outlet ids known at it."""
    require_role(actor, Role.ADMIN)
    audit.record_delete(actor, service, audit.snapshot(service))
    db.session.delete(service)
    db.session.flush()
    webhooks.subscribers_changed()


@dataclass(frozen=True)
class OutletAtService:
    """One row of an outlet's table of active services (spec §8 Outlet level)."""

    service_id: int
    provider: str
    external_id: str


def outlet_services(outlet: Outlet) -> list[OutletAtService]:
    """Return every active service with the outlet's id there ("" when not set)."""
    stmt = (
        select(
            ExternalService.id, ExternalService.provider, OutletServiceId.external_id
        )
        .outerjoin(
            OutletServiceId,
            (OutletServiceId.service_id == ExternalService.id)
            & (OutletServiceId.outlet_id == outlet.id),
        )
        .where(ExternalService.active.is_(True))
        .order_by(ExternalService.provider)
    )
    return [
        OutletAtService(ident, provider, external or "")
        for ident, provider, external in db.session.execute(stmt)
    ]


def _require_outlet_manager(actor: User, outlet: Outlet) -> None:
    # Support configures every station (spec §1); site administrators their sites.
    if actor.role is not Role.SUPPORT:
        require_site_manager(actor, outlet.station.site_id)


def set_outlet_service_ids(
    actor: User, outlet: Outlet, ids: dict[int, str]
) -> list[OutletAtService]:
    """Set the outlet's id at each active service; an empty id removes it."""
    _require_outlet_manager(actor, outlet)
    active = {
        service.id: service
        for service in db.session.scalars(
            select(ExternalService).where(ExternalService.active.is_(True))
        )
    }
    existing = {
        row.service_id: row
        for row in db.session.scalars(
            select(OutletServiceId).where(OutletServiceId.outlet_id == outlet.id)
        )
    }
    changes: dict[str, list[str | None]] = {}
    for service_id, raw in ids.items():
        service = active.get(service_id)
        if service is None:
            raise NotFound(_l("No such active service."))
        external = (raw or "").strip()
        if len(external) > 120:
            raise InvalidInput(_l("An id at a service is at most 120 characters."))
        row = existing.get(service_id)
        old = row.external_id if row else None
        if external == (old or ""):
            continue
        if external and _taken(service_id, external, outlet.id):
            raise Conflict(
                _l(
                    "%(service)s already knows another outlet by the id %(id)s.",
                    service=service.provider,
                    id=external,
                )
            )
        if row is None:
            db.session.add(
                OutletServiceId(
                    outlet_id=outlet.id, service_id=service_id, external_id=external
                )
            )
        elif external:
            row.external_id = external
        else:
            db.session.delete(row)
        changes[f"id at {service.provider}"] = [old, external or None]
    db.session.flush()
    if changes:
        audit.record_change(
            actor, "update", outlet, changes, site_id=outlet.station.site_id
        )
        webhooks.subscribers_changed()
    return outlet_services(outlet)


def _taken(service_id: int, external: str, outlet_id: int) -> bool:
    return (
        db.session.scalars(
            select(OutletServiceId.id).where(
                OutletServiceId.service_id == service_id,
                OutletServiceId.external_id == external,
                OutletServiceId.outlet_id != outlet_id,
            )
        ).first()
        is not None
    )
