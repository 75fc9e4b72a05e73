"""The firmware library (spec §8 Station Control): one store of firmware images.

The store is one folder, the built-in FTP server's firmware folder (FTP_FOLDER/
firmware, see app.services.ftp_files), and one table (FirmwareImage: name, size,
SHA-256, who uploaded it and when, the token it is served under over HTTP).
Administrators add and delete images; staff list and download them. A station is
offered an image from the same store either way:

- FTP: ftp://<chargebox id>:<its password>@host:port/firmware/<name>
  (the FTP server serves the folder read-only);
- HTTP: <portal>/firmware/<token>/<name>, no login, the token unguessable.

The Control tab's firmware update picks an image and the way (app.services.
station_control.update_firmware_from_library).
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.utils import secure_filename

from app.extensions import db
from app.models import EventKind, FirmwareImage, Role, Station, User
from app.services import events, files, ftp_files
from app.services.access import require_role
from app.services.errors import Conflict, InvalidInput, NotFound

MAX_FIRMWARE_BYTES = 64 * 1024 * 1024
VIA = ("ftp", "http")  # the ways a station may be offered an image


def library_folder() -> Path:
    """Return the one folder the images are kept in (the FTP firmware folder)."""
    return ftp_files.firmware_folder(ftp_files.ftp_settings())


def images(user: User) -> list[FirmwareImage]:
    """Return the library, newest first. Staff only."""
    require_role(user, *ftp_files.STAFF)
    stmt = select(FirmwareImage).order_by(
        FirmwareImage.uploaded_at.desc(), FirmwareImage.name
    )
    return list(db.session.scalars(stmt))


def get_image(user: User, image_id: Any) -> FirmwareImage:
    """Return one image of the library, else NotFound. Staff only."""
    require_role(user, *ftp_files.STAFF)
    try:
        image = db.session.get(FirmwareImage, int(image_id))
    except (TypeError, ValueError):
        image = None
    if image is None:
        raise NotFound(_l("No such firmware image."))
    return image


def image_path(image: FirmwareImage) -> Path:
    """Return where an image's bytes are."""
    return library_folder() / image.name


def image_file(user: User, image_id: Any) -> tuple[FirmwareImage, Path]:
    """Return an image and its file for staff to download, else NotFound."""
    image = get_image(user, image_id)
    path = image_path(image)
    if not path.is_file():
        raise NotFound(_l("No such firmware image."))
    return image, path


def add(actor: User, filename: str, data: bytes) -> FirmwareImage:
    """Add an uploaded image to the library. Administrators only.

    Raises:
        InvalidInput: no name, empty, over 64 MB.
        Conflict: an image of that name is in the library.
        StorageUnavailable: the disk is full or not writable (nothing kept).
    """
    require_role(actor, Role.ADMIN)
    name = secure_filename(filename or "")
    if not name or name.endswith(ftp_files.PARTIAL):
        raise InvalidInput(_l("Give the firmware file a name."))
    if not data:
        raise InvalidInput(_l("The firmware file is empty."))
    if len(data) > MAX_FIRMWARE_BYTES:
        raise InvalidInput(_l("A firmware image is at most 64 MB."))
    taken = db.session.scalar(
        select(FirmwareImage.id).where(FirmwareImage.name == name)
    )
    path = library_folder() / name
    if taken is not None or path.exists():
        raise Conflict(_l("A firmware image of that name exists: delete it first."))
    files.write_atomically(path, data)
    image = FirmwareImage(
        name=name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        token=secrets.token_urlsafe(24),
        uploaded_by=actor,
    )
    db.session.add(image)
    db.session.flush()
    events.record_event(
        EventKind.FIRMWARE,
        f"firmware image {name} added to the library ({len(data)} bytes)",
        user=actor,
        details={"file": name, "bytes": len(data), "sha256": image.sha256},
    )
    return image


def delete(actor: User, image_id: Any) -> str:
    """Remove an image from the library (record and file). Administrators only."""
    require_role(actor, Role.ADMIN)
    image = get_image(actor, image_id)
    name = image.name
    image_path(image).unlink(missing_ok=True)
    db.session.delete(image)
    events.record_event(
        EventKind.FIRMWARE,
        f"firmware image {name} removed from the library",
        user=actor,
    )
    return name


def served_file(token: str, file_name: str) -> Path | None:
    """Return the file an HTTP firmware URL names, or None (no login: the token is
    the secret, and only a file of the library is ever served)."""
    if not token or secure_filename(file_name or "") != file_name:
        return None
    image = db.session.scalars(
        select(FirmwareImage).where(FirmwareImage.token == token)
    ).first()
    if image is None:  # the name is the station's to keep the file under
        return None
    path = image_path(image)
    return path if path.is_file() else None


def ways() -> tuple[str, ...]:
    """Return the ways a station may be offered an image: FTP while the built-in
    server is on, HTTP always."""
    return VIA if ftp_files.ftp_settings().enabled else ("http",)


def _portal_base() -> str:
    base = str(current_app.config.get("PORTAL_URL") or "").strip()
    if not base and has_request_context():
        base = request.host_url
    if not base:
        raise InvalidInput(
            _l("Set PORTAL_URL so stations can fetch firmware over HTTP.")
        )
    return base.rstrip("/")


def location(image: FirmwareImage, station: Station, via: str) -> str:
    """Return the URL the station fetches the image from, over FTP or HTTP."""
    if via == "ftp":
        settings = ftp_files.ftp_settings()
        if not settings.enabled:
            raise InvalidInput(
                _l("The built-in FTP server is off: offer it over HTTP.")
            )
        return ftp_files.firmware_location(settings, station, image.name)
    if via == "http":
        return f"{_portal_base()}/firmware/{image.token}/{quote(image.name)}"
    raise InvalidInput(_l("Choose FTP or HTTP."))
