"""Files the portal serves to stations without a login: uploaded firmware images.

Each image sits behind an unguessable token (app.services.station_control); the
station gets the URL in UpdateFirmware and fetches it over plain HTTP(S).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_file
from werkzeug.wrappers import Response

from app.services import station_control

firmware = Blueprint("firmware", __name__)


@firmware.get("/firmware/<token>/<file_name>")
def download(token: str, file_name: str) -> Response:
    """Serve one uploaded firmware image to the station that was told its URL."""
    path = station_control.firmware_image_path(
        Path(current_app.instance_path), token, file_name
    )
    if path is None:
        abort(404)
    return send_file(path, mimetype="application/octet-stream", as_attachment=True)
