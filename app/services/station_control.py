"""Station control (spec §8 Station Control, OCPP, Message log) above the command service.

What a person asks on the station's Control tab - firmware from the library or a
URL, diagnostics, the local RFID list, start and stop on an outlet - turned into the
commands of app.services.commands, plus what the OCPP and Message log tabs read.
Firmware comes from the firmware library (app.services.firmware) over FTP or
HTTP, or from any address a person types.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import (
    ChargingSession,
    FirmwareImage,
    OcppMessage,
    Station,
    StationConfigKey,
    User,
    utcnow,
)
from app.services import commands, firmware, ftp_files, local_lists, navigator, tags
from app.services.access import scope
from app.services.errors import InvalidInput, PermissionDenied
from app.services.topology import get_settings

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


def update_firmware_from_library(
    actor: User,
    station: Station,
    image_id: Any,
    via: str,
    retrieve_at: datetime | None = None,
) -> commands.CommandResult:
    """Ask the station to install an image of the firmware library, fetched over
    FTP or HTTP from the library's one store (app.services.firmware)."""
    _require_command(actor, station)
    image = firmware.get_image(actor, image_id)
    return update_firmware(
        actor, station, firmware.location(image, station, via), retrieve_at
    )


def firmware_choices(user: User, station: Station) -> list[FirmwareImage]:
    """Return the library's images the Control tab offers (none to a user who may
    not command the station)."""
    if not commands.may_command(user, station):
        return []
    return firmware.images(user)


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


def send_local_list(actor: User, station: Station) -> commands.CommandResult:
    """Send the station its whole local list (the tags its policies admit); from
    then on the portal keeps it up to date with differences (app/services/local_lists)."""
    _require_command(actor, station)
    return local_lists.send_full(actor, station)


def fetch_local_list_version(actor: User, station: Station) -> commands.CommandResult:
    """Ask the station which version of the local list it holds."""
    return local_lists.fetch_version(actor, station)


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
