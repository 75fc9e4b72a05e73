"""Files behind the built-in FTP server (spec §8, §9): each station's diagnostics
uploads in a folder of its own, and the firmware library's folder
(app.services.firmware), which stations fetch from read-only.

Layout under FTP_FOLDER (default instance/ftp):

    diagnostics/<station folder>/<file>   written by that station only
    firmware/<file>                       the firmware library (app.services.firmware)

Credentials: the user name is the chargebox id; the password is derived from
FTP_PASSWORD_KEY (or SECRET_KEY) and the chargebox id with HMAC-SHA256, so the
portal can put it into every GetDiagnostics / UpdateFirmware URL it sends without
keeping it anywhere, each station's differs, and changing the key changes them all.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import socket
from base64 import b32encode
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.utils import secure_filename

from app.extensions import db
from app.models import EventKind, Role, Station, User
from app.services import events
from app.services.access import get_scoped
from app.services.errors import NotFound

DIAGNOSTICS = "diagnostics"
FIRMWARE = "firmware"
PARTIAL = ".part"  # an upload still in progress (renamed when complete)
_PLAIN_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,47}$")
_WILDCARD = ("", "0.0.0.0", "::")  # noqa: S104 - compared, not bound
STAFF = (Role.ADMIN, Role.SITE_ADMIN, Role.SUPPORT)


@dataclass(frozen=True)
class FtpSettings:
    """The built-in FTP server as stations see it."""

    enabled: bool
    root: Path
    host: str  # the public host name stations connect to
    port: int
    key: bytes
    max_upload_bytes: int

    @property
    def address(self) -> str:
        """Return the server's address as shown to people: ftp://host:port/."""
        return f"ftp://{_host_in_url(self.host)}:{self.port}/"


def _host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def ftp_settings(
    config: Any = None, *, instance: Path | None = None, bound_port: int | None = None
) -> FtpSettings:
    """Read the FTP_* keys (and the port the running server bound, if any).

    Without arguments: the current app's, with the port its server bound.
    """
    if config is None:
        config = current_app.config
        server = current_app.extensions.get("ftp_server")
        bound_port = bound_port or (server.port if server is not None else None)
        instance = Path(current_app.instance_path)
    instance = instance or Path(".")
    root = Path(config.get("FTP_FOLDER") or instance / "ftp")
    port = int(bound_port or config.get("FTP_PORT") or 21)
    public = str(config.get("FTP_PUBLIC_ADDRESS") or "").strip()
    if public:
        parts = urlsplit("//" + public)
        host = parts.hostname or public
        port = parts.port or port
    else:
        listen = str(config.get("FTP_HOST") or "")
        portal_host = urlsplit(str(config.get("PORTAL_URL") or "")).hostname
        host = portal_host or listen
        if host in _WILDCARD:
            host = _machine_name() if config.get("FTP_ENABLED") else "localhost"
    secret = str(config.get("FTP_PASSWORD_KEY") or config.get("SECRET_KEY") or "")
    key = hmac.new(secret.encode(), b"charge-portal ftp passwords", "sha256").digest()
    return FtpSettings(
        enabled=bool(config.get("FTP_ENABLED")),
        root=root,
        host=host,
        port=port,
        key=key,
        max_upload_bytes=int(config.get("FTP_MAX_UPLOAD_BYTES") or 0),
    )


@functools.cache
def _machine_name() -> str:
    """Return this machine's name once (a DNS look-up may be slow)."""
    return socket.getfqdn()


# ---------------------------------------------------------------------------
# Credentials and addresses


def station_password(settings: FtpSettings, chargebox_id: str) -> str:
    """Return a station's FTP password (26 lower-case letters and digits)."""
    digest = hmac.new(settings.key, chargebox_id.encode(), hashlib.sha256).digest()
    return b32encode(digest[:16]).decode().rstrip("=").lower()


def check_password(settings: FtpSettings, chargebox_id: str, password: str) -> bool:
    """Tell whether a password is the station's (in constant time)."""
    expected = station_password(settings, chargebox_id)
    return hmac.compare_digest(expected.encode(), (password or "").encode())


def authenticate(settings: FtpSettings, chargebox_id: str, password: str) -> bool:
    """Tell whether a known station logs in with its own FTP password."""
    if not chargebox_id or not check_password(settings, chargebox_id, password):
        return False
    found = db.session.scalar(
        select(Station.id).where(Station.chargebox_id == chargebox_id)
    )
    return found is not None


def station_folder_name(chargebox_id: str) -> str:
    """Return the folder name of a station's uploads (never a path of its own)."""
    if _PLAIN_ID.match(chargebox_id) and ".." not in chargebox_id:
        return chargebox_id
    return "station-" + hashlib.sha256(chargebox_id.encode()).hexdigest()[:16]


def station_folder(settings: FtpSettings, chargebox_id: str) -> Path:
    """Return the folder where a station's diagnostics land."""
    return settings.root / DIAGNOSTICS / station_folder_name(chargebox_id)


def firmware_folder(settings: FtpSettings) -> Path:
    """Return the folder of the firmware images stations may fetch."""
    return settings.root / FIRMWARE


def prepare_folders(settings: FtpSettings) -> None:
    """Create the FTP root with its diagnostics and firmware folders."""
    (settings.root / DIAGNOSTICS).mkdir(parents=True, exist_ok=True)
    firmware_folder(settings).mkdir(parents=True, exist_ok=True)


def _url(settings: FtpSettings, chargebox_id: str, path: str) -> str:
    user = quote(chargebox_id, safe="")
    password = station_password(settings, chargebox_id)
    host = _host_in_url(settings.host)
    return f"ftp://{user}:{password}@{host}:{settings.port}/{path}"


def diagnostics_location(settings: FtpSettings, station: Station) -> str:
    """Return the URL a station uploads its diagnostics to (GetDiagnostics)."""
    folder = quote(station_folder_name(station.chargebox_id))
    return _url(settings, station.chargebox_id, f"{DIAGNOSTICS}/{folder}/")


def firmware_location(settings: FtpSettings, station: Station, file_name: str) -> str:
    """Return the URL a station fetches a firmware image from (UpdateFirmware)."""
    return _url(settings, station.chargebox_id, f"{FIRMWARE}/{quote(file_name)}")


# ---------------------------------------------------------------------------
# What the admin shows


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int
    modified: datetime


def _files(folder: Path) -> list[StoredFile]:
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        if path.is_file() and not path.name.endswith(PARTIAL):
            info = path.stat()
            moment = datetime.fromtimestamp(info.st_mtime, UTC)
            found.append(StoredFile(path.name, info.st_size, moment))
    return sorted(found, key=lambda f: (f.modified, f.name), reverse=True)


def list_diagnostics(user: User, station: Station) -> list[StoredFile]:
    """Return a station's uploaded diagnostics, newest first (scoped, spec §1)."""
    visible = get_scoped(Station, station.id, user)
    return _files(station_folder(ftp_settings(), visible.chargebox_id))


def _stored(folder: Path, name: str) -> Path:
    if secure_filename(name) != name or name.endswith(PARTIAL):
        raise NotFound(_l("No such file."))
    path = folder / name
    if not path.is_file():
        raise NotFound(_l("No such file."))
    return path


def diagnostics_file(user: User, station_id: Any, name: str) -> Path:
    """Return one diagnostics file of a station the user may see, else NotFound."""
    station = get_scoped(Station, station_id, user)
    return _stored(station_folder(ftp_settings(), station.chargebox_id), name)


def record_upload(chargebox_id: str, name: str, size: int) -> None:
    """Note in the event log that a station uploaded a diagnostics file."""
    station = db.session.scalars(
        select(Station).where(Station.chargebox_id == chargebox_id)
    ).first()
    events.record_event(
        EventKind.DIAGNOSTICS,
        f"diagnostics file {name} uploaded over FTP ({size} bytes)",
        station=station,
        node_name=chargebox_id,
        details={"file": name, "bytes": size},
    )
