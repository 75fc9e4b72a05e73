"""The firmware library in the admin: administrators upload and delete images, staff
see and download them, with the FTP and HTTP ways stations fetch each. Presentation
only: the rules are app.services.firmware."""

from __future__ import annotations

from flask import abort, flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from admin_views.base import STAFF, PortalView, commit_or_flash
from admin_views.formatting import format_moment
from app.models import Role
from app.services import firmware, ftp_files
from app.services.errors import DomainError


class FirmwareLibraryView(PortalView):
    """Firmware library: the one store of images stations are offered."""

    roles = STAFF

    @expose("/")
    def index(self) -> str:
        return self.render(
            "admin/firmware_library.html",
            images=firmware.images(current_user),
            ftp=ftp_files.ftp_settings(),
            may_upload=current_user.role is Role.ADMIN,
            max_megabytes=firmware.MAX_FIRMWARE_BYTES // (1024 * 1024),
            format_moment=format_moment,
        )

    @expose("/", methods=["POST"])
    def upload(self) -> Response:
        upload = request.files.get("image")
        if upload is None or not upload.filename:
            flash(_("Choose a firmware file."), "error")
            return redirect(url_for(".index"))
        data = upload.read()
        commit_or_flash(
            lambda: firmware.add(current_user, upload.filename or "", data),
            lambda image: _("Firmware image %(name)s added.", name=image.name),
        )
        return redirect(url_for(".index"))

    @expose("/<int:image_id>/delete", methods=["POST"])
    def delete(self, image_id: int) -> Response:
        commit_or_flash(
            lambda: firmware.delete(current_user, image_id),
            lambda name: _("Firmware image %(name)s removed.", name=name),
        )
        return redirect(url_for(".index"))

    @expose("/<int:image_id>")
    def download(self, image_id: int) -> Response:
        try:
            image, path = firmware.image_file(current_user, image_id)
        except DomainError:
            abort(404)
        return send_file(path, as_attachment=True, download_name=image.name)
