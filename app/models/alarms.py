"""Alarms (active, then history) and the event log of everything that happened."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, text_enum, utcnow

if TYPE_CHECKING:
    from app.models.users import User


class AlarmKind(enum.StrEnum):
    """Alarm kinds of spec §7, and a few more stations report."""

    NOT_REGISTERED = "not_registered"
    HARDWARE_FAILURE = "hardware_failure"
    HARDWARE_MISMATCH = "hardware_mismatch"
    OVER_CURRENT = "over_current"
    TEMPERATURE = "temperature"
    NO_NETWORK = "no_network"
    CONNECTOR_LOCK_FAILURE = "connector_lock_failure"
    POWER_METER_FAILURE = "power_meter_failure"
    POWER_SWITCH_FAILURE = "power_switch_failure"
    GROUND_FAILURE = "ground_failure"
    READER_FAILURE = "reader_failure"
    INTERNAL_ERROR = "internal_error"
    OTHER = "other"


class AlarmState(enum.StrEnum):
    ACTIVE = "active"
    CLEARED = "cleared"  # by a person
    RESOLVED = "resolved"  # by the station reporting it back to normal


class Alarm(Base):
    __tablename__ = "alarm"
    __table_args__ = (
        # At most one active alarm of a kind per node: a repeated report refreshes it.
        Index(
            "uq_alarm_active_node",
            "kind",
            "subject",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
        Index("ix_alarm_state_raised", "state", "raised_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AlarmKind] = mapped_column(text_enum(AlarmKind, 30))
    state: Mapped[AlarmState] = mapped_column(
        text_enum(AlarmState), default=AlarmState.ACTIVE
    )
    # The node it is about, as a stable key ("station:12", "outlet:40", "identity:XYZ").
    subject: Mapped[str] = mapped_column(String(80))
    # As shown to people, e.g. "000004082 Connector: 1" (kept if the node is renamed).
    node_name: Mapped[str] = mapped_column(String(160))
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("site.id", ondelete="SET NULL"), index=True
    )
    station_id: Mapped[int | None] = mapped_column(
        ForeignKey("station.id", ondelete="SET NULL"), index=True
    )
    outlet_id: Mapped[int | None] = mapped_column(
        ForeignKey("outlet.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(Text, default="")
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    cleared_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )

    cleared_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.node_name}: {self.description}"


class EventKind(enum.StrEnum):
    BOOT = "boot"
    STATUS = "status"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    COMMAND_SENT = "command_sent"
    COMMAND_RESULT = "command_result"
    FIRMWARE = "firmware"
    DIAGNOSTICS = "diagnostics"
    DATA_TRANSFER = "data_transfer"
    REJECTED = "rejected"
    ALARM = "alarm"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    CONFIG_CHANGE = "config_change"
    SECURITY = "security"  # a station's security event (OCPP 2.0.1)


class EventLogEntry(Base):
    """Something a station or the portal reported (spec §7 Event log)."""

    __tablename__ = "event_log"
    __table_args__ = (Index("ix_event_log_site_at", "site_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[EventKind] = mapped_column(text_enum(EventKind, 30))
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("site.id", ondelete="SET NULL")
    )
    station_id: Mapped[int | None] = mapped_column(
        ForeignKey("station.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    node_name: Mapped[str] = mapped_column(String(160), default="")
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
