"""The built-in FTP server in the admin: its address, and the download of a
station's diagnostics uploads for whoever may see that station. The firmware
images it serves are the firmware library's (admin_views.firmware_library). Presentation
only."""

from __future__ import annotations

from flask import abort, send_file
from flask_admin import expose
from flask_login import current_user
from werkzeug.wrappers import Response

from admin_views.base import STAFF, PortalView
from app.services import ftp_files
from app.services.errors import DomainError


class FtpFilesView(PortalView):
    """FTP server: its address; the firmware library is a page of its own."""

    roles = STAFF

    @expose("/")
    def index(self) -> str:
        return self.render("admin/ftp_files.html", ftp=ftp_files.ftp_settings())

    @expose("/diagnostics/<int:station_id>/<file_name>")
    def diagnostics_download(self, station_id: int, file_name: str) -> Response:
        """One diagnostics upload of a station the user may see (else 404)."""
        try:
            path = ftp_files.diagnostics_file(current_user, station_id, file_name)
        except DomainError:
            abort(404)
        return send_file(path, as_attachment=True, download_name=file_name, max_age=0)
