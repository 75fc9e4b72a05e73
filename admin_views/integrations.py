"""Configuration → Services: third-party services, their secret shown once (spec §8),
administrators' API tokens, and the log of webhook deliveries."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired

from admin_views.base import PortalForm, PortalView, ScopedModelView
from app.extensions import db
from app.models import ExternalService, Role, WebhookEvent
from app.services import api_access, integrations, webhooks
from app.services.errors import DomainError


class ServiceForm(PortalForm):
    provider = StringField(_l("Provider"), validators=[DataRequired()])
    description = TextAreaField(_l("Description"))
    url = StringField(
        _l("Service URL"),
        description=_l("Webhooks are posted here (leave empty for none)."),
    )
    active = BooleanField(_l("Active"))


def _secret(view: Any, _context: Any, service: ExternalService, _name: str) -> Markup:
    return Markup(
        '{} <form method="post" action="{}" class="d-inline">'
        '<input type="hidden" name="csrf_token" value="{}">'
        '<button class="btn btn-sm btn-outline-secondary">{}</button></form>'
    ).format(
        integrations.masked(service) or _("not set"),
        url_for(".rotate", id=service.id),
        view.csrf(),
        _("New secret"),
    )


class ServiceView(ScopedModelView):
    """Third-party services; administrators only (access.scope shows others none)."""

    roles = (Role.ADMIN,)
    form = ServiceForm
    list_template = "admin/config/services_list.html"
    column_list = ("provider", "description", "url", "secret", "active", "created_at")
    column_details_list = column_list
    column_export_list = ("provider", "description", "url", "active", "created_at")
    column_formatters = {"secret": _secret}
    column_formatters_detail = {
        "secret": lambda v, c, m, n: integrations.masked(m) or _("not set")
    }
    column_filters = ("provider", "active")
    column_labels = {
        "provider": _l("Provider"),
        "description": _l("Description"),
        "url": _l("Service URL"),
        "secret": _l("Secret"),
        "active": _l("Active"),
        "created_at": _l("Created"),
    }

    def csrf(self) -> str:
        from flask_wtf.csrf import generate_csrf

        return str(generate_csrf())

    def _input(self, form: ServiceForm) -> integrations.ServiceInput:
        return integrations.ServiceInput(
            provider=form.provider.data or "",
            description=form.description.data or "",
            url=form.url.data or "",
            active=bool(form.active.data),
        )

    def create_with(self, form: ServiceForm) -> ExternalService:
        return integrations.create_service(current_user, self._input(form))

    def update_with(self, form: ServiceForm, model: ExternalService) -> None:
        integrations.update_service(current_user, model, self._input(form))

    def delete_with(self, model: ExternalService) -> None:
        integrations.delete_service(current_user, model)

    def get_one(self, id: Any) -> Any:
        # The id arrives as text; PostgreSQL will not compare it with an integer key.
        try:
            ident = int(id)
        except (TypeError, ValueError):
            abort(404)
        return super().get_one(ident)

    @expose("/rotate/<int:id>", methods=("POST",))
    def rotate(self, id: int) -> Any:
        """Make a new secret and show it, with its signing secret, this once."""
        service = self.get_one(id)
        try:
            new = api_access.rotate_service_secret(current_user, service)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for(".index_view"))
        return self.render(
            "admin/config/service_secret.html",
            service=service,
            secret=new.secret,
            signing_secret=new.signing_secret,
        )


class ApiTokenView(PortalView):
    """An administrator's personal API tokens: create (shown once) and revoke."""

    roles = (Role.ADMIN,)

    @expose("/", methods=("GET", "POST"))
    def index(self) -> Any:
        created = None
        if request.method == "POST":
            try:
                created = api_access.create_api_token(
                    current_user, request.form.get("name", "")
                )
                db.session.commit()
            except DomainError as error:
                db.session.rollback()
                flash(str(error), "error")
        return self.render(
            "admin/api_tokens.html",
            tokens=api_access.own_api_tokens(current_user),
            created=created,
        )

    @expose("/revoke/<int:token_id>", methods=("POST",))
    def revoke(self, token_id: int) -> Response:
        try:
            api_access.revoke_api_token(current_user, token_id)
            db.session.commit()
            flash(_("The token was revoked."), "success")
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "error")
        return redirect(url_for(".index"))


def _service_name(_v: Any, _c: Any, event: WebhookEvent, _n: str) -> str:
    return event.service.provider if event.service else ""


def _attempts(_v: Any, _c: Any, event: WebhookEvent, _n: str) -> Markup:
    rows = Markup("").join(
        Markup("<li>{} · {} · {} · {} ms</li>").format(
            d.attempted_at.strftime("%Y-%m-%d %H:%M:%S"),
            d.status_code or "—",
            d.error,
            d.duration_ms,
        )
        for d in event.deliveries
    )
    return Markup("<ul class='mb-0'>{}</ul>").format(rows)


class WebhookEventView(ScopedModelView):
    """Every webhook event with its state and each delivery attempt (administrators)."""

    roles = (Role.ADMIN,)
    can_create = False
    can_edit = False
    can_delete = False
    column_default_sort = ("id", True)
    column_list = (
        "id",
        "service",
        "kind",
        "state",
        "attempts",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
        "next_attempt_at",
    )
    column_details_list = (*column_list, "uuid", "payload", "deliveries")
    column_export_list = column_list
    column_filters = ("kind", "state", "created_at", "service.provider")
    column_formatters = {"service": _service_name}
    column_formatters_detail = {"service": _service_name, "deliveries": _attempts}
    column_labels = {
        "id": _l("Sequence"),
        "service": _l("Service"),
        "service.provider": _l("Service"),
        "kind": _l("Event"),
        "state": _l("State"),
        "attempts": _l("Attempts"),
        "last_status_code": _l("Last answer"),
        "last_error": _l("Last error"),
        "created_at": _l("Created"),
        "delivered_at": _l("Delivered"),
        "next_attempt_at": _l("Next attempt"),
        "payload": _l("Body"),
        "deliveries": _l("Deliveries"),
    }
    action_disallowed_list = ["delete"]

    @expose("/redeliver/<int:id>", methods=("POST",))
    def redeliver(self, id: int) -> Response:
        """Queue a failed event again."""
        event = self.get_one(id)
        webhooks.redeliver(event)
        db.session.commit()
        webhooks.kick(self._app(), event.service_id)
        flash(_("The event is queued again."), "success")
        return redirect(url_for(".details_view", id=id))

    def _app(self) -> Any:
        from flask import current_app

        return current_app._get_current_object()
