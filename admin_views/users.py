"""Provisioning: the users table (add per role, edit, delete, export) and the audit log."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Optional

from admin_views.base import PortalForm, ReadOnlyModelView, ScopedModelView
from admin_views.fields import QuerySelectMultipleField, scoped_choices
from app.models import AuditEntry, Role, Site, User
from app.services import accounts

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.SITE_ADMIN: _l("Site administrator"),
    Role.SUPPORT: _l("Support"),
    Role.EV_USER: _l("EV user"),
}


class UserForm(PortalForm):
    """Fields of spec §2; the page shows only those of the chosen role."""

    role = SelectField(
        _l("Role"),
        choices=[(role.value, label) for role, label in ROLE_LABELS.items()],
        default=Role.EV_USER.value,
    )
    first_name = StringField(_l("First name"), validators=[DataRequired()])
    last_name = StringField(_l("Last name"), validators=[DataRequired()])
    email = EmailField(_l("E-mail"), validators=[DataRequired()])
    password = PasswordField(
        _l("Password"),
        validators=[Optional()],
        description=_l(
            "At least 8 characters with letters and digits. Leave empty to keep."
        ),
    )
    tag = StringField(
        _l("RFID"),
        validators=[Optional()],
        description=_l(
            "As the card reader or app sends it, up to 20 characters; "
            "0x… or 04:A1:… is read as the hex UID."
        ),
    )
    email_at_alarm = BooleanField(_l("Email at alarm"))
    sites = QuerySelectMultipleField(
        _l("Sites"), query_factory=scoped_choices(Site, Site.name)
    )
    parking = StringField(_l("Parking"), validators=[Optional()])


def _user_input(form: UserForm) -> accounts.UserInput:
    return accounts.UserInput(
        email=form.email.data or "",
        first_name=form.first_name.data or "",
        last_name=form.last_name.data or "",
        role=Role(form.role.data),
        password=form.password.data or None,
        email_at_alarm=bool(form.email_at_alarm.data),
        site_ids=tuple(site.id for site in form.sites.data or []),
        tag=form.tag.data,
        parking=form.parking.data or "",
    )


def _tags(_view: Any, _context: Any, user: User, _name: str) -> str:
    return ", ".join(tag.tag for tag in user.tags)


def _sites(_view: Any, _context: Any, user: User, _name: str) -> str:
    return ", ".join(site.name for site in user.sites)


def _role(_view: Any, _context: Any, user: User, _name: str) -> str:
    return str(ROLE_LABELS[user.role])


class UserView(ScopedModelView):
    """Provisioning → Users (administrators only, spec §2)."""

    roles = (Role.ADMIN,)
    form = UserForm
    create_template = "admin/user_form.html"
    edit_template = "admin/user_form.html"
    column_list = (
        "email",
        "first_name",
        "last_name",
        "role",
        "tags",
        "sites",
        "parking",
        "created_at",
    )
    column_export_list = column_list
    column_labels = {
        "email": _l("E-mail"),
        "first_name": _l("First name"),
        "last_name": _l("Last name"),
        "role": _l("Role"),
        "tags": _l("RFID"),
        "sites": _l("Site"),
        "parking": _l("Parking"),
        "created_at": _l("Create date"),
        "tags.tag": _l("RFID"),
        "sites.name": _l("Site"),
    }
    column_filters = (
        "email",
        "first_name",
        "last_name",
        "role",
        "tags.tag",
        "sites.name",
        "parking",
        "created_at",
    )
    column_searchable_list = ("email", "first_name", "last_name")
    column_sortable_list = (
        "email",
        "first_name",
        "last_name",
        "role",
        "parking",
        "created_at",
    )
    column_default_sort = ("email", False)
    column_formatters = {"tags": _tags, "sites": _sites, "role": _role}
    column_formatters_export = column_formatters
    column_details_list = (*column_list, "email_at_alarm", "last_login_at")

    def on_form_prefill(self, form: UserForm, id: Any) -> None:
        user = self.get_one(id)
        form.role.data = user.role.value
        form.tag.data = user.tags[0].tag if user.tags else ""

    def create_with(self, form: UserForm) -> User:
        return accounts.create_user(current_user, _user_input(form))

    def update_with(self, form: UserForm, model: User) -> None:
        accounts.update_user(current_user, model, _user_input(form))

    def delete_with(self, model: User) -> None:
        accounts.delete_user(current_user, model)


def _changes(_view: Any, _context: Any, entry: AuditEntry, _name: str) -> Markup:
    parts = [
        Markup("<div><b>{}</b>: {} → {}</div>").format(
            field,
            escape("" if old is None else old),
            escape("" if new is None else new),
        )
        for field, (old, new) in sorted((entry.changes or {}).items())
    ]
    return Markup("").join(parts)


class AuditLogView(ReadOnlyModelView):
    """Provisioning → Audit log: who changed what, when (secrets never shown)."""

    roles = (Role.ADMIN,)
    column_list = ("at", "actor", "action", "entity", "label", "changes")
    column_labels = {
        "at": _l("When"),
        "actor": _l("Who"),
        "action": _l("Action"),
        "entity": _l("Record type"),
        "label": _l("Record"),
        "changes": _l("Changes (old → new)"),
    }
    column_filters = ("at", "actor", "action", "entity", "label")
    column_default_sort = ("at", True)
    column_formatters = {"changes": _changes}
    column_formatters_export = {
        "changes": lambda _v, _c, entry, _n: "; ".join(
            f"{field}: {old} → {new}"
            for field, (old, new) in sorted((entry.changes or {}).items())
        )
    }
