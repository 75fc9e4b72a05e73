"""The built-in FTP server's files in the admin: firmware images (administrators
upload and delete, staff see and download) and the download of a station's
diagnostics uploads, for whoever may see that station. Presentation only."""

from __future__ import annotations

from flask import abort, flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from admin_views.base import STAFF, PortalView
from admin_views.formatting import format_moment
from app.extensions import db
from app.models import Role
from app.services import ftp_files
from app.services.errors import DomainError, NotFound


class FtpFilesView(PortalView):
    """FTP server: its address, the firmware images stations fetch from it."""

    roles = STAFF

    @expose("/")
    def index(self) -> str:
        return self.render(
            "admin/ftp_files.html",
            ftp=ftp_files.ftp_settings(),
            images=ftp_files.list_firmware(current_user),
            may_upload=current_user.role is Role.ADMIN,
            format_moment=format_moment,
        )

    @expose("/firmware", methods=["POST"])
    def firmware_upload(self) -> Response:
        upload = request.files.get("image")
        if upload is None or not upload.filename:
            flash(_("Choose a firmware file."), "error")
            return redirect(url_for(".index"))
        try:
            stored = ftp_files.store_firmware(
                current_user, upload.filename, upload.read()
            )
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(_("Firmware image %(name)s added.", name=stored.name), "success")
        return redirect(url_for(".index"))

    @expose("/firmware/<file_name>/delete", methods=["POST"])
    def firmware_delete(self, file_name: str) -> Response:
        try:
            ftp_files.delete_firmware(current_user, file_name)
            db.session.commit()
        except NotFound:
            db.session.rollback()
            abort(404)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(_("Firmware image %(name)s removed.", name=file_name), "success")
        return redirect(url_for(".index"))

    @expose("/firmware/<file_name>")
    def firmware_download(self, file_name: str) -> Response:
        try:
            path = ftp_files.firmware_file(current_user, file_name)
        except DomainError:
            abort(404)
        return send_file(path, as_attachment=True, download_name=file_name)

    @expose("/diagnostics/<int:station_id>/<file_name>")
    def diagnostics_download(self, station_id: int, file_name: str) -> Response:
        """One diagnostics upload of a station the user may see (else 404)."""
        try:
            path = ftp_files.diagnostics_file(current_user, station_id, file_name)
        except DomainError:
            abort(404)
        return send_file(path, as_attachment=True, download_name=file_name, max_age=0)
