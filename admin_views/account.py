"""User settings: change one's own name, language and password (spec §2)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo

from admin_views.base import PortalView
from app.extensions import db
from app.models import Role
from app.services import accounts, dashboard
from app.services.errors import DomainError

LANGUAGES = [("", _l("As the browser says")), ("en", "English"), ("sv", "Svenska")]


class ProfileForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired()])
    last_name = StringField(_l("Last name"), validators=[DataRequired()])
    language = SelectField(_l("Language"), choices=LANGUAGES)


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired()])
    repeat = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(),
            EqualTo("new", message=_l("The passwords differ.")),
        ],
    )


class PanelsForm(FlaskForm):
    """The four dashboard panels (spec §4), one widget each."""

    slot1 = SelectField(_l("Panel 1"))
    slot2 = SelectField(_l("Panel 2"))
    slot3 = SelectField(_l("Panel 3"))
    slot4 = SelectField(_l("Panel 4"))

    def slots(self) -> list[SelectField]:
        return [self.slot1, self.slot2, self.slot3, self.slot4]


def _panels_form(**kwargs: object) -> PanelsForm:
    form = PanelsForm(prefix="panels", **kwargs)
    choices = [(w.value, str(title)) for w, title in dashboard.WIDGET_TITLES.items()]
    for field in form.slots():
        field.choices = choices
    return form


class SettingsView(PortalView):
    """User settings, open to every role for their own account."""

    roles = (Role.ADMIN, Role.SITE_ADMIN, Role.SUPPORT, Role.EV_USER)

    @expose("/", methods=["GET", "POST"])
    def index(self) -> Response | str:
        profile = ProfileForm(prefix="profile", obj=current_user)
        password = PasswordForm(prefix="password")
        panels = _panels_form()
        if "profile-first_name" in request.form and profile.validate_on_submit():
            return self._save_profile(profile)
        if "password-current" in request.form and password.validate_on_submit():
            return self._save_password(password)
        if "panels-slot1" in request.form and panels.validate_on_submit():
            return self._save_panels(panels)
        if not profile.is_submitted():
            profile.language.data = current_user.language or ""
        if not panels.is_submitted():
            for field, widget in zip(
                panels.slots(), dashboard.panels_of(current_user), strict=True
            ):
                field.data = widget.value
        return self.render(
            "admin/settings.html",
            profile=profile,
            password=password,
            panels=panels,
            has_dashboard=dashboard.has_dashboard(current_user),
        )

    def _save_panels(self, form: PanelsForm) -> Response:
        try:
            dashboard.set_panels(current_user, [f.data or "" for f in form.slots()])
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for(".index"))
        db.session.commit()
        flash(_("Your dashboard panels are saved."), "success")
        return redirect(url_for(".index"))

    def _save_profile(self, form: ProfileForm) -> Response:
        accounts.update_profile(
            current_user,
            first_name=form.first_name.data or "",
            last_name=form.last_name.data or "",
            language=form.language.data or None,
        )
        db.session.commit()
        flash(_("Your settings are saved."), "success")
        return redirect(url_for(".index"))

    def _save_password(self, form: PasswordForm) -> Response | str:
        try:
            accounts.change_own_password(
                current_user, form.current.data or "", form.new.data or ""
            )
        except DomainError as exc:
            db.session.rollback()
            form.new.errors = [*form.new.errors, str(exc)]
            profile = ProfileForm(prefix="profile", obj=current_user, formdata=None)
            return self.render(
                "admin/settings.html",
                profile=profile,
                password=form,
                panels=_panels_form(formdata=None),
                has_dashboard=dashboard.has_dashboard(current_user),
            )
        db.session.commit()
        # This login stays; every other one carries the old session version and ends.
        login_user(current_user._get_current_object(), fresh=True)
        flash(_("Your password is changed. Other logins have ended."), "success")
        return redirect(url_for(".index"))
