"""The schedule (spec §6b): charging windows, power caps, capacity and allocations.

A rule hangs on exactly one node (site, floor, station or outlet); outlets inherit
the rules of the nearest node above them that has rules of the same kind.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Time,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, text_enum, utcnow


class RuleKind(enum.StrEnum):
    WINDOW = "window"  # when charging is allowed
    CAP = "cap"  # the most current an outlet (or a station) may draw


class WindowAction(enum.StrEnum):
    """What happens outside a charging window."""

    REFUSE = "refuse"  # starts are refused (Authorize / StartTransaction / remote)
    UNAVAILABLE = "unavailable"  # the outlet is made Unavailable (and starts refused)


class CapScope(enum.StrEnum):
    """What a cap limits: each outlet, or each station as a whole."""

    OUTLET = "outlet"  # OCPP 1.6 TxDefaultProfile
    STATION = "station"  # OCPP 1.6 ChargePointMaxProfile


def _exactly_one(*columns: str) -> str:
    """SQL (SQLite and PostgreSQL) true when exactly one of the columns is set."""
    return (
        " + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE 1 END)" for c in columns)
        + " = 1"
    )


# Monday = bit 0 … Sunday = bit 6 (date.weekday()).
ALL_DAYS = 0b1111111
WEEKDAYS = 0b0011111


class ScheduleRule(Base):
    """A weekly rule (days + hours) or, with `on_date`, an exception for one date.

    start == end means the whole day; end before start runs past midnight.
    Date exceptions of a node replace that node's weekly rules of the same kind on
    their date; `allowed` False closes a window node for the day.
    """

    __tablename__ = "schedule_rule"
    __table_args__ = (
        CheckConstraint(
            _exactly_one("site_id", "floor_id", "station_id", "outlet_id"),
            name="one_node",
        ),
        CheckConstraint("days BETWEEN 0 AND 127", name="days_mask"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("site.id", ondelete="CASCADE"), index=True
    )
    floor_id: Mapped[int | None] = mapped_column(
        ForeignKey("floor.id", ondelete="CASCADE"), index=True
    )
    station_id: Mapped[int | None] = mapped_column(
        ForeignKey("station.id", ondelete="CASCADE"), index=True
    )
    outlet_id: Mapped[int | None] = mapped_column(
        ForeignKey("outlet.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[RuleKind] = mapped_column(text_enum(RuleKind))
    days: Mapped[int] = mapped_column(Integer, default=ALL_DAYS)
    on_date: Mapped[date | None] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time, default=time(0, 0))
    end_time: Mapped[time] = mapped_column(Time, default=time(0, 0))
    # Windows: what happens outside; a date exception may close the day.
    action: Mapped[WindowAction] = mapped_column(
        text_enum(WindowAction), default=WindowAction.REFUSE
    )
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    # Caps: amperes per phase, and whether per outlet or per station.
    limit_a: Mapped[float | None] = mapped_column(Float)
    cap_scope: Mapped[CapScope] = mapped_column(
        text_enum(CapScope), default=CapScope.OUTLET
    )
    note: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __str__(self) -> str:
        return f"Schedule rule {self.id} ({self.kind.value})"


class NodeCapacity(Base):
    """The most current per phase a site or a floor may draw (its connection's fuse)."""

    __tablename__ = "node_capacity"
    __table_args__ = (
        CheckConstraint(_exactly_one("site_id", "floor_id"), name="one_node"),
        CheckConstraint("max_current_a > 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("site.id", ondelete="CASCADE"), unique=True
    )
    floor_id: Mapped[int | None] = mapped_column(
        ForeignKey("floor.id", ondelete="CASCADE"), unique=True
    )
    max_current_a: Mapped[float] = mapped_column(Float)


class OutletSchedule(Base):
    """An outlet's own schedule state: its priority in capacity sharing (1 = normal,
    higher is served first and gets a larger share) and whether the schedule made it
    Unavailable (so only the schedule makes it Operative again)."""

    __tablename__ = "outlet_schedule"
    __table_args__ = (CheckConstraint("priority BETWEEN 1 AND 10", name="priority"),)

    outlet_id: Mapped[int] = mapped_column(
        ForeignKey("outlet.id", ondelete="CASCADE"), primary_key=True
    )
    priority: Mapped[int] = mapped_column(Integer, default=1)
    closed_by_schedule: Mapped[bool] = mapped_column(Boolean, default=False)


class OutletAllocation(Base):
    """The current the portal last gave a running session under a site's capacity."""

    __tablename__ = "outlet_allocation"

    outlet_id: Mapped[int] = mapped_column(
        ForeignKey("outlet.id", ondelete="CASCADE"), primary_key=True
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("charging_session.id", ondelete="CASCADE"), index=True
    )
    current_a: Mapped[float] = mapped_column(Float)
    # True when the session waits at 0 A because the budget cannot give it 6 A.
    queued: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
