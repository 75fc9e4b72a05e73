"""Base classes of every admin view: role checks, row scope, service-backed writes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, request, stream_with_context, url_for
from flask_admin import AdminIndexView as _AdminIndexView
from flask_admin import BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import BaseForm
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response
from wtforms import Form

from admin_views.filters import PortalFilterConverter
from admin_views.formatting import TYPE_FORMATTERS
from app.extensions import db
from app.models import Role
from app.services import exports
from app.services.access import record_id, scope
from app.services.errors import DomainError, NotFound, PermissionDenied

log = logging.getLogger(__name__)

STAFF = (Role.ADMIN, Role.SITE_ADMIN, Role.SUPPORT)


class PortalForm(BaseForm):
    """Flask-Admin's form base with Flask-WTF's CSRF token (one CSRF scheme app-wide)."""

    class Meta(FlaskForm.Meta):
        pass


T = TypeVar("T")


def commit_or_flash(change: Callable[[], T], done: Callable[[T], str]) -> T | None:
    """Run one service call and commit; flash ``done(result)``, or the domain
    error (rolled back, None returned). A NotFound answers 404."""
    try:
        result = change()
        db.session.commit()
    except NotFound:
        db.session.rollback()
        abort(404)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return None
    flash(done(result), "success")
    return result


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
        try:
            key = record_id(id)
        except NotFound:
            abort(404)
        primary_key = self.model.__mapper__.primary_key[0]
        row = self.get_query().filter(primary_key == key).one_or_none()
        if row is None:
            abort(404)
        return row

    @expose("/export/<export_type>/")
    def export(self, export_type: str) -> Response:
        """Stream the filtered, sorted, scoped list as .xlsx or .csv (spec §6, §7)."""
        if not self.can_export or export_type not in self.export_types:
            abort(404)
        return _export_response(self, export_type)

    def export_query(self) -> tuple[int | None, Any]:
        """Return (row count, query) of the list as filtered and sorted in the URL.

        Built like Flask-Admin's get_list, but unpaged and with related rows loaded
        per batch (selectinload) so the query can be read with yield_per.
        """
        args = self._get_list_extra_args()
        sort = self._get_column_by_idx(args.sort)
        joins: dict[Any, Any] = {}
        count_joins: dict[Any, Any] = {}
        query, count_query = self.get_query(), self.get_count_query()
        if self._search_supported and args.search:
            query, count_query, joins, count_joins = self._apply_search(
                query, count_query, joins, count_joins, args.search
            )
        if args.filters and self._filters:
            query, count_query, joins, count_joins = self._apply_filters(
                query, count_query, joins, count_joins, args.filters
            )
        query, joins = self._apply_sorting(
            query, joins, sort[0] if sort else None, args.sort_desc
        )
        query = query.options(*(selectinload(join) for join in self._auto_joins))
        return count_query.scalar(), query

    def export_headers(self) -> list[str]:
        return [str(label) for _name, label in self._export_columns]

    def export_rows(self, query: Any) -> Iterator[Sequence[Any]]:
        """Yield the export values row by row, reading the query in batches.

        A view with many rows overrides this to read plain columns instead of
        objects (see admin_views/statistics.py).
        """
        names = [name for name, _label in self._export_columns]
        for row in query.yield_per(500):
            yield [self.get_export_value(row, name) for name in names]

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


def _export_response(view: ScopedModelView, export_type: str) -> Response:
    """Answer with the export streamed as it is written (the download starts at once).

    Beyond an Excel sheet's rows, .xlsx is refused with a message and a link to
    the same rows as CSV.
    """
    count, query = view.export_query()
    if export_type == "xlsx" and count is not None and count > exports.XLSX_MAX_ROWS:
        csv_url = view.get_url(".export", export_type="csv", **request.args)
        flash(
            Markup('{} <a href="{}" id="export-csv">{}</a>').format(
                exports.ExportTooLarge(count), csv_url, _("Export as CSV")
            ),
            "error",
        )
        return redirect(view.get_url(".index_view", **request.args))
    zone = get_timezone()
    rows = view.export_rows(query)
    if export_type == "xlsx":
        title = str(view.name)
        chunks = exports.stream_xlsx(
            view.export_headers(), rows, zone=zone, title=title, expected_rows=count
        )
        mimetype = exports.XLSX_MIMETYPE
    else:
        chunks = exports.stream_csv(view.export_headers(), rows, zone=zone)
        mimetype = exports.CSV_MIMETYPE
    filename = view.get_export_name(export_type)
    ascii_name = secure_filename(filename) or f"export.{export_type}"
    disposition = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    headers = {"Content-Disposition": disposition, "X-Accel-Buffering": "no"}
    if count is not None:
        headers["X-Export-Rows"] = str(count)
    return FlaskResponse(
        stream_with_context(chunks), mimetype=mimetype, headers=headers
    )
