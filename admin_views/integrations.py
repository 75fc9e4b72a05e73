"""Configuration → Services: third-party services with a write-only secret (spec §8)."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired

from admin_views.base import PortalForm, ScopedModelView
from app.models import ExternalService, Role
from app.services import integrations


class ServiceForm(PortalForm):
    provider = StringField(_l("Provider"), validators=[DataRequired()])
    description = TextAreaField(_l("Description"))
    url = StringField(_l("Service URL"))
    secret = PasswordField(
        _l("Secret"),
        description=_l("Write-only: leave empty to keep the stored secret."),
    )
    active = BooleanField(_l("Active"))


def _secret(_view: Any, _context: Any, service: ExternalService, _name: str) -> str:
    return integrations.masked(service.secret)


class ServiceView(ScopedModelView):
    """Third-party services; administrators only (access.scope shows others none)."""

    roles = (Role.ADMIN,)
    form = ServiceForm
    list_template = "admin/config/services_list.html"
    column_list = ("provider", "description", "url", "secret", "active", "created_at")
    column_details_list = column_list
    column_export_list = ("provider", "description", "url", "active", "created_at")
    column_formatters = {"secret": _secret}
    column_formatters_detail = {"secret": _secret}
    column_filters = ("provider", "active")
    column_labels = {
        "provider": _l("Provider"),
        "description": _l("Description"),
        "url": _l("Service URL"),
        "secret": _l("Secret"),
        "active": _l("Active"),
        "created_at": _l("Created"),
    }

    def _input(self, form: ServiceForm) -> integrations.ServiceInput:
        return integrations.ServiceInput(
            provider=form.provider.data or "",
            description=form.description.data or "",
            url=form.url.data or "",
            secret=form.secret.data or None,
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

    def on_form_prefill(self, form: ServiceForm, id: Any) -> None:
        form.secret.data = ""  # never sent back to the browser
