"""The domain model: one module per aggregate, all sharing one declarative Base."""

from app.models.alarms import Alarm, AlarmKind, AlarmState, EventKind, EventLogEntry
from app.models.api import (
    ApiCommand,
    ApiToken,
    CommandKind,
    CommandState,
    IdempotencyRecord,
)
from app.models.audit import AuditEntry
from app.models.base import Base, utcnow
from app.models.charging import ChargingSession, MeterValue
from app.models.firmware import FirmwareImage
from app.models.integrations import ExternalService, OutletServiceId
from app.models.local_lists import LocalListTag, StationLocalList
from app.models.messages import Direction, OcppMessage
from app.models.news import NewsItem
from app.models.operations import AlarmDigest, DigestState
from app.models.policies import (
    AccessPolicy,
    AccessRule,
    UserGroup,
    access_policy_group,
    user_group_tag,
    user_group_user,
)
from app.models.schedule import (
    ALL_DAYS,
    WEEKDAYS,
    CapScope,
    NodeCapacity,
    OutletAllocation,
    OutletSchedule,
    RuleKind,
    ScheduleRule,
    WindowAction,
)
from app.models.topology import (
    KEY_LENGTH,
    Availability,
    ConnectPolicy,
    Floor,
    FloorPosition,
    Outlet,
    OutletStatus,
    Protocol,
    RegistrationState,
    Site,
    Station,
    StationConfigKey,
    SystemSettings,
)
from app.models.users import (
    DashboardPanel,
    RfidTag,
    Role,
    TagNotation,
    User,
    site_grant,
    tag_key,
)
from app.models.webhooks import (
    DeliveryState,
    WebhookDelivery,
    WebhookEvent,
    WebhookLease,
)

__all__ = [
    "ALL_DAYS",
    "KEY_LENGTH",
    "WEEKDAYS",
    "AccessPolicy",
    "AccessRule",
    "Alarm",
    "AlarmDigest",
    "AlarmKind",
    "AlarmState",
    "ApiCommand",
    "ApiToken",
    "AuditEntry",
    "Availability",
    "Base",
    "CapScope",
    "ChargingSession",
    "CommandKind",
    "CommandState",
    "ConnectPolicy",
    "DashboardPanel",
    "DeliveryState",
    "DigestState",
    "Direction",
    "EventKind",
    "EventLogEntry",
    "ExternalService",
    "FirmwareImage",
    "Floor",
    "FloorPosition",
    "IdempotencyRecord",
    "LocalListTag",
    "MeterValue",
    "NewsItem",
    "NodeCapacity",
    "OcppMessage",
    "Outlet",
    "OutletAllocation",
    "OutletSchedule",
    "OutletServiceId",
    "OutletStatus",
    "Protocol",
    "RegistrationState",
    "RfidTag",
    "Role",
    "RuleKind",
    "ScheduleRule",
    "Site",
    "Station",
    "StationConfigKey",
    "StationLocalList",
    "SystemSettings",
    "TagNotation",
    "User",
    "UserGroup",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookLease",
    "WindowAction",
    "access_policy_group",
    "site_grant",
    "tag_key",
    "user_group_tag",
    "user_group_user",
    "utcnow",
]
