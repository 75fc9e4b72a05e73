"""System configuration: General and Policies of spec §8 System level, audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

from app.models import (
    AccessRule,
    ConnectPolicy,
    Role,
    SystemSettings,
    TagNotation,
    User,
)
from app.services import audit
from app.services.access import require_role
from app.services.errors import InvalidInput
from app.services.topology import get_settings

# Who may read the system's own settings; site administrators see their sites only.
READERS = (Role.ADMIN, Role.SUPPORT)
FTP_SCHEMES = ("ftp", "ftps", "sftp")


@dataclass(frozen=True)
class ServerAddresses:
    """Where stations reach this portal (spec §8 General), as the request saw it."""

    ocpp15: str
    ocpp16: str


def server_addresses(scheme: str, host: str) -> ServerAddresses:
    """Return the OCPP addresses this server serves for a request's scheme and host.

    The 1.6 address ends with the station's chargebox id, shown as <chargebox id>.
    """
    secure = scheme == "https"
    return ServerAddresses(
        ocpp15=f"{'https' if secure else 'http'}://{host}/Ocpp/CentralSystemService15",
        ocpp16=f"{'wss' if secure else 'ws'}://{host}/Ocpp/websocket/<chargebox id>",
    )


def may_read_settings(user: User | None) -> bool:
    """Tell whether a user may see the system's settings (administrators, support)."""
    return user is not None and user.active and user.role in READERS


def may_change_settings(user: User | None) -> bool:
    """Tell whether a user may change the system's settings (administrators)."""
    return user is not None and user.active and user.role is Role.ADMIN


def read_settings(user: User | None) -> SystemSettings:
    """Return the system settings for someone allowed to see them."""
    require_role(user, *READERS)
    return get_settings()


def check_ftp_address(address: str) -> str:
    """Return an FTP address trimmed, or raise InvalidInput; empty means none."""
    address = (address or "").strip()
    if not address:
        return ""
    parts = urlsplit(address)
    if parts.scheme not in FTP_SCHEMES or not parts.hostname:
        raise InvalidInput(
            _l("The FTP address is written ftp://host/path (or ftps://, sftp://).")
        )
    return address


def update_general(
    actor: User, *, system_name: str, description: str, ftp_address: str
) -> SystemSettings:
    """Change the system's name, description and FTP address. Administrators only."""
    require_role(actor, Role.ADMIN)
    name = (system_name or "").strip()
    if not name:
        raise InvalidInput(_l("The system needs a name."))
    if len(name) > 120:
        raise InvalidInput(_l("The system name is at most 120 characters."))
    settings = get_settings()
    before = audit.snapshot(settings)
    settings.system_name = name
    settings.description = (description or "").strip()
    settings.ftp_address = check_ftp_address(ftp_address)
    audit.record_update(actor, settings, before)
    return settings


@dataclass(frozen=True)
class Policies:
    """The system-wide policies and defaults (spec §8 Policies)."""

    connect_policy: ConnectPolicy
    offline_threshold: int
    default_heartbeat_interval: int
    default_access: AccessRule  # OPEN or KNOWN (access_policies.DEFAULT_RULES)
    alarm_digest_time: time
    backup_retention: int
    backup_time: time | None = None  # None: unchanged
    # How readers send a card's UID where a site or station says nothing (tags.py).
    tag_notation: TagNotation | None = None  # None: unchanged


# (field, lowest, highest, message) for the numeric policies.
_RANGES = (
    (
        "offline_threshold",
        60,
        7 * 86400,
        _l("The offline threshold is 60 seconds to 7 days."),
    ),
    (
        "default_heartbeat_interval",
        10,
        86400,
        _l("The heartbeat interval is 10 to 86400 seconds."),
    ),
    ("backup_retention", 1, 3650, _l("Backups are kept 1 to 3650 days.")),
)


def update_policies(actor: User, policies: Policies) -> SystemSettings:
    """Change the policies and system-wide defaults. Administrators only."""
    require_role(actor, Role.ADMIN)
    for name, low, high, message in _RANGES:
        if not low <= getattr(policies, name) <= high:
            raise InvalidInput(message)
    settings = get_settings()
    before = audit.snapshot(settings)
    settings.connect_policy = policies.connect_policy
    settings.offline_threshold = policies.offline_threshold
    settings.default_heartbeat_interval = policies.default_heartbeat_interval
    if policies.default_access not in (AccessRule.OPEN, AccessRule.KNOWN):
        raise InvalidInput(_l("The system default is open or any known tag."))
    settings.default_access = policies.default_access
    settings.alarm_digest_time = policies.alarm_digest_time
    settings.backup_retention = policies.backup_retention
    if policies.backup_time is not None:
        settings.backup_time = policies.backup_time
    if policies.tag_notation is not None:
        settings.tag_notation = policies.tag_notation
    audit.record_update(actor, settings, before)
    return settings
