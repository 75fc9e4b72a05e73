"""Provisioning → RFID tags: the tag register, its import (dry run, then confirm)
and its export in the import's format (app/services/tag_export.py).

Who may: administrators see every tag and import; site administrators see the
tags of the users of their sites and of their sites' groups (access.scope), read
only; support sees every tag, read only (to help a driver whose card is refused);
EV users have their own tags on My charging, not this page.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, request
from flask_admin import expose
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from admin_views.base import STAFF, ReadOnlyModelView
from app.extensions import db
from app.models import RfidTag, Role
from app.services import tag_export, tag_files, tag_import, tags
from app.services.errors import InvalidInput

_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_KEEP_SECONDS = 3600  # an upload not confirmed within an hour is dropped
_PREVIEW_ROWS = 500  # rows of the dry run listed on the page (the counts cover all)


def _other_form(_view: Any, _context: Any, tag: RfidTag, _name: str) -> str:
    return tags.describe(tag.tag)


def _groups(_view: Any, _context: Any, tag: RfidTag, _name: str) -> str:
    return "; ".join(group.name for group in tag.groups)


def _blocked(_view: Any, _context: Any, tag: RfidTag, _name: str) -> Markup:
    return (
        Markup('<span class="badge badge-danger">{}</span>').format(_("Blocked"))
        if tag.blocked
        else Markup("")
    )


class TagRegisterView(ReadOnlyModelView):
    """The tag register: list, search, filters, export; import for administrators."""

    roles = STAFF
    list_template = "admin/tag_register.html"
    column_list = ("tag", "other", "user", "parent", "expires_at", "blocked", "groups")
    column_labels = {
        "tag": _l("Tag"),
        "other": _l("Other notation"),
        "user": _l("User"),
        "user.email": _l("User"),
        "parent": _l("Parent"),
        "parent.tag": _l("Parent"),
        "expires_at": _l("Expires"),
        "blocked": _l("Blocked"),
        "groups": _l("Groups"),
        "groups.name": _l("Group"),
        "created_at": _l("Create date"),
    }
    column_searchable_list = ("tag", "user.email")
    column_filters = (
        "tag",
        "user.email",
        "parent.tag",
        "expires_at",
        "blocked",
        "groups.name",
    )
    column_sortable_list = ("tag", "expires_at", "blocked", ("user", "user.email"))
    column_default_sort = ("tag_key", False)
    column_formatters = {"other": _other_form, "groups": _groups, "blocked": _blocked}
    column_details_list = (*column_list, "created_at")

    # The export is the import's format (tag, user, parent, expiry, blocked, groups).
    def export_headers(self) -> list[str]:
        return list(tag_export.HEADERS)

    def export_rows(self, query: Any) -> Iterator[Sequence[Any]]:
        ids = [row.id for row in query.with_entities(RfidTag.id)]
        return tag_export.export_rows(ids)

    def get_export_name(self, export_type: str = "csv") -> str:
        return f"tags.{export_type}"

    # Import: upload → dry run shown → confirm (the stored upload is applied).
    def _folder(self) -> Path:
        """Where an upload waits for its confirm; one left over an hour goes."""
        folder = Path(current_app.instance_path) / "tag_imports"
        folder.mkdir(parents=True, exist_ok=True)
        stale = time.time() - _KEEP_SECONDS
        for path in folder.iterdir():
            if path.stat().st_mtime < stale:
                path.unlink(missing_ok=True)
        return folder

    def _stored(self, token: str) -> tuple[Path, str]:
        """The upload kept for the dry run of this administrator, and its name."""
        if not _TOKEN.fullmatch(token):
            abort(404)
        found = sorted(self._folder().glob(f"{current_user.id}-{token}.*"))
        if not found:
            abort(404)
        path = found[0]
        return path, f"upload.{path.suffix.lstrip('.')}"

    def _require_admin(self) -> None:
        if current_user.role is not Role.ADMIN:
            abort(403)

    @expose("/import/", methods=("GET", "POST"))
    def import_view(self) -> Any:
        """Upload a tag file and see what it would change (nothing is written)."""
        self._require_admin()
        context: dict[str, Any] = {
            "max_megabytes": tag_files.MAX_BYTES // 2**20,
            "columns": tag_files.COLUMNS,
        }
        if request.method == "POST":
            upload = request.files.get("file")
            try:
                if upload is None or not upload.filename:
                    raise InvalidInput(_l("Choose a .csv or .xlsx file."))
                content = upload.read(tag_files.MAX_BYTES + 1)
                data = tag_files.read(upload.filename, content)
                result = tag_import.plan(current_user, data, zone=get_timezone())
            except InvalidInput as exc:
                db.session.rollback()
                context["refused"] = str(exc)
                return self.render("admin/tag_import.html", **context), 400
            context.update(file_name=upload.filename, plan=result)
            if result.ok:
                token = secrets.token_urlsafe(24)
                extension = tag_files.extension_of(upload.filename)
                path = self._folder() / f"{current_user.id}-{token}.{extension}"
                path.write_bytes(content)
                context["token"] = token
            context["listed"] = [
                row for row in result.rows if row.action != tag_import.UNCHANGED
            ][:_PREVIEW_ROWS]
            context["preview_rows"] = _PREVIEW_ROWS
        return self.render("admin/tag_import.html", **context)

    @expose("/import/confirm", methods=("POST",))
    def import_confirm(self) -> Response:
        """Import the file of the dry run: all of it, or (a row refused) nothing."""
        self._require_admin()
        path, name = self._stored(request.form.get("token", ""))
        try:
            data = tag_files.read(name, path.read_bytes())
            result = tag_import.apply(current_user, data, zone=get_timezone())
            db.session.commit()
        except InvalidInput as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(self.get_url(".import_view"))
        finally:
            path.unlink(missing_ok=True)
        flash(
            _(
                "Imported: %(new)d new, %(changed)d changed, %(unchanged)d unchanged.",
                new=result.count(tag_import.NEW),
                changed=result.count(tag_import.CHANGED),
                unchanged=result.count(tag_import.UNCHANGED),
            ),
            "success",
        )
        return redirect(self.get_url(".index_view"))
