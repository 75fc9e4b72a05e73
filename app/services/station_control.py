"""Station control (spec §8 Station Control, OCPP, Message log) above the command service.

What a person asks on the station's Control tab - firmware from a URL or an uploaded
image, diagnostics, the local RFID list, start and stop on an outlet - turned into
the commands of app.services.commands, plus what the OCPP and Message log tabs read.
Uploaded firmware images are kept under the instance folder, each behind an
unguessable token, and handed to the station as an HTTP URL the portal serves.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.utils import secure_filename

from app.extensions import db
from app.models import (
    ChargingSession,
    OcppMessage,
    RfidTag,
    Station,
    StationConfigKey,
    User,
    utcnow,
)
from app.services import commands, files, ftp_files, navigator, tags
from app.services.access import scope
from app.services.errors import InvalidInput, PermissionDenied
from app.services.topology import get_settings

FIRMWARE_FOLDER = "firmware"
MAX_FIRMWARE_BYTES = 64 * 1024 * 1024
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
LOCATION_SCHEMES = ("http", "https", "ftp", "ftps", "sftp")
TRIGGER_MESSAGES = (
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
)
MESSAGE_LOG_ROWS = 200


def _require_command(user: User, station: Station) -> None:
    if not commands.may_command(user, station):
        raise PermissionDenied(_l("You may not send commands to this station."))


def check_location(location: str) -> str:
    """Return a download/upload address trimmed, or raise InvalidInput."""
    location = (location or "").strip()
    parts = urlsplit(location)
    if parts.scheme not in LOCATION_SCHEMES or not parts.hostname:
        raise InvalidInput(
            _l("Give an address such as ftp://host/path or https://host/file.")
        )
    return location


def _outlet_number(station: Station, outlet: int | None, *, whole: bool) -> int:
    """Check an outlet number of the station (0 = the whole station where allowed)."""
    if outlet is None or (whole and outlet == 0):
        return 0
    if all(o.number != outlet for o in station.outlets):
        raise InvalidInput(_l("The station has no outlet %(n)s.", n=outlet))
    return outlet


# ---------------------------------------------------------------------------
# Simple commands


def restart(actor: User, station: Station, *, hard: bool) -> commands.CommandResult:
    """Restart the station, soft or hard."""
    return commands.send_command(actor, station, commands.Reset(hard=hard))


def change_availability(
    actor: User, station: Station, outlet: int | None, *, operative: bool
) -> commands.CommandResult:
    """Make an outlet (or, with 0, the whole station) operative or inoperative."""
    number = _outlet_number(station, outlet, whole=True)
    return commands.send_command(
        actor, station, commands.ChangeAvailability(number, operative)
    )


def unlock_outlet(actor: User, station: Station, outlet: int) -> commands.CommandResult:
    """Unlock the cable of an outlet."""
    number = _outlet_number(station, outlet, whole=False)
    if number == 0:
        raise InvalidInput(_l("Choose the outlet to unlock."))
    return commands.send_command(actor, station, commands.UnlockOutlet(number))


def clear_cache(actor: User, station: Station) -> commands.CommandResult:
    """Clear the station's authorisation cache."""
    return commands.send_command(actor, station, commands.ClearCache())


def trigger_message(
    actor: User, station: Station, message: str, outlet: int | None = None
) -> commands.CommandResult:
    """Ask the station to send one of its messages now."""
    if message not in TRIGGER_MESSAGES:
        raise InvalidInput(_l("No such message to trigger."))
    number = _outlet_number(station, outlet, whole=True)
    return commands.send_command(
        actor, station, commands.TriggerMessage(message, number or None)
    )


# ---------------------------------------------------------------------------
# Charging


def start_charging(
    actor: User, station: Station, outlet: int, tag: str, *, wait: float = 0.0
) -> commands.RemoteStartResult:
    """Start charging on an outlet for a tag, as registered (tags.resolve_typed)."""
    number = _outlet_number(station, outlet, whole=False)
    if number == 0:
        raise InvalidInput(_l("Choose the outlet to start."))
    return commands.remote_start(
        actor, station, tags.resolve_typed(tag, station), number, wait=wait
    )


def running_session(
    user: User, station: Station, outlet: int
) -> ChargingSession | None:
    """Return the session running on an outlet of the station, if any."""
    stmt = (
        select(ChargingSession)
        .where(
            ChargingSession.station_id == station.id,
            ChargingSession.outlet_number == outlet,
            ChargingSession.started_at >= utcnow() - navigator.RUNNING_SESSION_WINDOW,
            ChargingSession.ended_at.is_(None),
        )
        .order_by(ChargingSession.started_at.desc())
    )
    return db.session.scalars(scope(stmt, user)).first()


def stop_charging(actor: User, station: Station, outlet: int) -> commands.CommandResult:
    """Stop the session running on an outlet."""
    number = _outlet_number(station, outlet, whole=False)
    session = running_session(actor, station, number)
    if session is None:
        raise InvalidInput(_l("No charging session is running on that outlet."))
    return commands.send_command(actor, station, commands.RemoteStop(session.id))


# ---------------------------------------------------------------------------
# Firmware and diagnostics


def firmware_folder(instance: Path) -> Path:
    """Return the folder of uploaded firmware images under the instance folder."""
    return instance / FIRMWARE_FOLDER


@dataclass(frozen=True)
class FirmwareImage:
    token: str
    file_name: str


def store_firmware_image(
    actor: User, station: Station, filename: str, data: bytes, instance: Path
) -> FirmwareImage:
    """Keep an uploaded firmware image behind a new unguessable token."""
    _require_command(actor, station)
    name = secure_filename(filename or "") or "firmware.bin"
    if not data:
        raise InvalidInput(_l("The firmware file is empty."))
    if len(data) > MAX_FIRMWARE_BYTES:
        raise InvalidInput(_l("A firmware image is at most 64 MB."))
    token = secrets.token_urlsafe(24)
    files.write_atomically(firmware_folder(instance) / token / name, data)
    return FirmwareImage(token, name)


def firmware_image_path(instance: Path, token: str, file_name: str) -> Path | None:
    """Return the stored image for a token and name, or None (never outside the folder)."""
    if not _TOKEN.match(token or "") or secure_filename(file_name) != file_name:
        return None
    path = firmware_folder(instance) / token / file_name
    return path if path.is_file() else None


def update_firmware(
    actor: User, station: Station, location: str, retrieve_at: datetime | None = None
) -> commands.CommandResult:
    """Ask the station to fetch and install firmware from an address."""
    return commands.send_command(
        actor,
        station,
        commands.UpdateFirmware(check_location(location), retrieve_at or utcnow()),
    )


def default_diagnostics_location(station: Station | None = None) -> str:
    """Return where diagnostics go unless a person says otherwise: the station's
    folder on the built-in FTP server when it runs, else the system's FTP address."""
    if station is not None:
        ftp = ftp_files.ftp_settings()
        if ftp.enabled:
            return ftp_files.diagnostics_location(ftp, station)
    return get_settings().ftp_address


def firmware_locations(user: User, station: Station) -> list[tuple[str, str]]:
    """Return (image name, URL) of each firmware image on the built-in FTP server,
    newest first, as the station fetches it (empty when the server is off)."""
    ftp = ftp_files.ftp_settings()
    if not ftp.enabled or not commands.may_command(user, station):
        return []
    return [
        (image.name, ftp_files.firmware_location(ftp, station, image.name))
        for image in ftp_files.list_firmware(user)
    ]


def fetch_diagnostics(
    actor: User, station: Station, location: str | None, hours: int | None = None
) -> commands.CommandResult:
    """Ask the station to upload its diagnostics (to the system's FTP by default)."""
    target = (location or "").strip() or default_diagnostics_location(station)
    if not target:
        raise InvalidInput(
            _l("Give an upload address: the system has no FTP address set.")
        )
    start = utcnow() - timedelta(hours=hours) if hours else None
    return commands.send_command(
        actor, station, commands.GetDiagnostics(check_location(target), start=start)
    )


# ---------------------------------------------------------------------------
# The local authorisation list


def local_list_entries(
    station: Station | None = None,
) -> tuple[commands.LocalListEntry, ...]:
    """Return every tag the portal knows, with its status for a local list, each in
    the form the station's readers send it (tags.sent_form)."""
    now = utcnow()
    notation = tags.notation_of(station)
    entries = []
    for tag in db.session.scalars(select(RfidTag).order_by(RfidTag.tag)):
        if tag.blocked:
            status = "blocked"
        elif tag.expires_at is not None and tag.expires_at < now:
            status = "expired"
        else:
            status = "accepted"
        entries.append(
            commands.LocalListEntry(
                tags.sent_form(tag.tag, notation),
                status,
                tag.expires_at,
                tags.sent_form(tag.parent.tag, notation)
                if tag.parent is not None
                else None,
            )
        )
    return tuple(entries)


def send_local_list(actor: User, station: Station) -> commands.CommandResult:
    """Send the station the full list of RFID tags the portal knows."""
    _require_command(actor, station)
    # A newer list needs a higher version: seconds since 2020 stay within int32.
    version = int(utcnow().timestamp()) - 1_577_836_800
    return commands.send_command(
        actor,
        station,
        commands.SendLocalList(version, full=True, entries=local_list_entries(station)),
    )


def fetch_local_list_version(actor: User, station: Station) -> commands.CommandResult:
    """Ask the station which version of the local list it holds."""
    return commands.send_command(actor, station, commands.GetLocalListVersion())


# ---------------------------------------------------------------------------
# What the OCPP and Message log tabs read


def config_keys(user: User, station: Station) -> list[StationConfigKey]:
    """Return the station's key table as last reported."""
    stmt = (
        select(StationConfigKey)
        .where(StationConfigKey.station_id == station.id)
        .order_by(StationConfigKey.key)
    )
    return list(db.session.scalars(scope(stmt, user)))


def recent_messages(
    user: User, station: Station, limit: int = MESSAGE_LOG_ROWS
) -> list[OcppMessage]:
    """Return the station's most recent OCPP messages, newest first."""
    stmt = (
        select(OcppMessage)
        .where(OcppMessage.chargebox_id == station.chargebox_id)
        .order_by(OcppMessage.at.desc(), OcppMessage.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(scope(stmt, user)))
