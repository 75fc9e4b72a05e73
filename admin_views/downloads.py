"""Files the portal serves to stations without a login: the firmware library's
images over HTTP.

Each image sits behind an unguessable token (app.services.firmware); the station
gets the URL in UpdateFirmware and fetches it over plain HTTP(S).
"""

from __future__ import annotations

from flask import Blueprint, abort, send_file
from werkzeug.wrappers import Response

from app.services import firmware as library

firmware = Blueprint("firmware", __name__)


@firmware.get("/firmware/<token>/<file_name>")
def download(token: str, file_name: str) -> Response:
    """Serve one library image to the station that was told its URL."""
    path = library.served_file(token, file_name)
    if path is None:
        abort(404)
    return send_file(path, mimetype="application/octet-stream", as_attachment=True)
