"""The domain model: one module per aggregate, all sharing one declarative Base."""

from app.models.alarms import Alarm, AlarmKind, AlarmState, EventKind, EventLogEntry
from app.models.audit import AuditEntry
from app.models.base import Base, utcnow
from app.models.charging import ChargingSession, MeterValue
from app.models.integrations import ExternalService, OutletServiceId
from app.models.messages import Direction, OcppMessage
from app.models.news import NewsItem
from app.models.topology import (
    Availability,
    ConnectPolicy,
    Floor,
    FloorPosition,
    Outlet,
    OutletMode,
    OutletStatus,
    Protocol,
    RegistrationState,
    Site,
    Station,
    StationConfigKey,
    SystemSettings,
)
from app.models.users import DashboardPanel, RfidTag, Role, User, site_grant

__all__ = [
    "Alarm",
    "AlarmKind",
    "AlarmState",
    "AuditEntry",
    "Availability",
    "Base",
    "ChargingSession",
    "ConnectPolicy",
    "DashboardPanel",
    "Direction",
    "EventKind",
    "EventLogEntry",
    "ExternalService",
    "Floor",
    "FloorPosition",
    "MeterValue",
    "NewsItem",
    "OcppMessage",
    "Outlet",
    "OutletMode",
    "OutletServiceId",
    "OutletStatus",
    "Protocol",
    "RegistrationState",
    "RfidTag",
    "Role",
    "Site",
    "Station",
    "StationConfigKey",
    "SystemSettings",
    "User",
    "site_grant",
    "utcnow",
]
