"""Base classes of every admin view: role checks, row scope, service-backed writes."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from flask import abort, flash, redirect, request, url_for
from flask_admin import AdminIndexView as _AdminIndexView
from flask_admin import BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import BaseForm
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response
from wtforms import Form

from admin_views.filters import PortalFilterConverter
from admin_views.formatting import TYPE_FORMATTERS
from app.extensions import db
from app.models import Role
from app.services.access import scope
from app.services.errors import DomainError, NotFound, PermissionDenied

log = logging.getLogger(__name__)

STAFF = (Role.ADMIN, Role.SITE_ADMIN, Role.SUPPORT)


class PortalForm(BaseForm):
    """Flask-Admin's form base with Flask-WTF's CSRF token (one CSRF scheme app-wide)."""

    class Meta(FlaskForm.Meta):
        pass


class RoleGuard:
    """Mixin: which roles may open a view; anonymous → login, others → 403."""

    roles: ClassVar[tuple[Role, ...]] = (Role.ADMIN,)

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and current_user.role in self.roles)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)

    def handle_view_exception(self, exc: Exception) -> bool:
        """Show a domain error as a flash on the form; never show a traceback."""
        db.session.rollback()
        if isinstance(exc, NotFound):
            abort(404)
        if isinstance(exc, DomainError):
            flash(str(exc), "error")
            return True
        if isinstance(exc, SQLAlchemyError):
            log.exception("database error in %s", type(self).__name__)
            flash(_("The change could not be saved. Nothing was changed."), "error")
            return True
        return bool(super().handle_view_exception(exc))  # type: ignore[misc]


class PortalView(RoleGuard, BaseView):
    """A custom admin page (BaseView with @expose) guarded by role."""


class PortalIndexView(RoleGuard, _AdminIndexView):
    """The admin landing page, open to every logged-in role."""

    roles = (Role.ADMIN, Role.SITE_ADMIN, Role.SUPPORT, Role.EV_USER)


class ScopedModelView(RoleGuard, ModelView):
    """A model view whose list, count, single-row read and export go through scope().

    Flask-Admin's own docstring: override get_query, get_count_query and get_one
    together. Writes go through the service functions a subclass names in
    create_with/update_with/delete_with, then the view commits.
    """

    form_base_class = PortalForm
    filter_converter = PortalFilterConverter()
    column_type_formatters = TYPE_FORMATTERS
    named_filter_urls = True
    page_size = 50
    can_set_page_size = True
    can_view_details = True
    can_export = True
    export_types = ["xlsx", "csv"]

    def get_query(self) -> Any:
        return scope(super().get_query(), current_user, self.model)

    def get_count_query(self) -> Any:
        return scope(super().get_count_query(), current_user, self.model)

    def get_one(self, id: Any) -> Any:
        primary_key = self.model.__mapper__.primary_key[0]
        row = self.get_query().filter(primary_key == id).one_or_none()
        if row is None:
            abort(404)
        return row

    @expose("/export/<export_type>/")
    def export(self, export_type: str) -> Response:
        """Stream .xlsx ourselves (typed cells, no row cap); csv as Flask-Admin does."""
        if export_type == "xlsx" and self.can_export and "xlsx" in self.export_types:
            return _xlsx_response(self)
        return super().export(export_type)  # type: ignore[no-any-return]

    # Writes: each subclass maps the form onto one service call.
    def create_with(self, form: Form) -> Any:
        raise PermissionDenied(_("Records of this kind are not created here."))

    def update_with(self, form: Form, model: Any) -> None:
        raise PermissionDenied(_("Records of this kind are not changed here."))

    def delete_with(self, model: Any) -> None:
        raise PermissionDenied(_("Records of this kind are not deleted here."))

    def create_model(self, form: Form) -> Any:
        try:
            model = self.create_with(form)
            db.session.commit()
        except Exception as exc:
            if not self.handle_view_exception(exc):
                raise
            return False
        self.after_model_change(form, model, True)
        return model

    def update_model(self, form: Form, model: Any) -> bool:
        try:
            self.update_with(form, model)
            db.session.commit()
        except Exception as exc:
            if not self.handle_view_exception(exc):
                raise
            return False
        self.after_model_change(form, model, False)
        return True

    def delete_model(self, model: Any) -> bool:
        try:
            self.delete_with(model)
            db.session.commit()
        except Exception as exc:
            if not self.handle_view_exception(exc):
                raise
            return False
        self.after_model_delete(model)
        return True


class ReadOnlyModelView(ScopedModelView):
    """A scoped list with filters and Excel export, no create/edit/delete."""

    can_create = False
    can_edit = False
    can_delete = False


def _xlsx_response(view: ScopedModelView) -> Response:
    """Export the view's filtered, sorted, scoped rows as .xlsx (Flask-Admin's filters)."""
    from flask import Response as FlaskResponse
    from flask import stream_with_context

    from app.services.exports import xlsx_chunks

    _count, rows = view._export_data()
    columns = view._export_columns
    headers = [str(label) for _name, label in columns]
    data = (
        [view.get_export_value(row, name) for name, _label in columns] for row in rows
    )
    filename = view.get_export_name("xlsx")
    return FlaskResponse(
        stream_with_context(xlsx_chunks(headers, data)),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
