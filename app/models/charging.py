"""Charging sessions (one row per session, spec §6) and the meter samples behind them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow

if TYPE_CHECKING:
    from app.models.topology import Outlet, Site, Station
    from app.models.users import User


class ChargingSession(Base):
    """A charging session; its id is also the OCPP transaction id given to the station.

    site_id is copied from the station when the session starts, so a session keeps
    the site it happened at when the station is later moved.
    """

    __tablename__ = "charging_session"
    __table_args__ = (
        Index("ix_charging_session_site_started", "site_id", "started_at"),
        Index("ix_charging_session_station_started", "station_id", "started_at"),
        Index("ix_charging_session_user_started", "user_id", "started_at"),
        # OCPP 2.0.1: the station names its transactions (app/services/transactions.py)
        Index(
            "ix_charging_session_station_transaction",
            "station_id",
            "transaction_ref",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"))
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlet.id"), index=True)
    outlet_number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(index=True)
    # Indexed (like every sortable column of the statistics, spec §6) so the
    # first page of a sort over millions of sessions reads 50 index entries.
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    # When the portal received the session's data (server log date).
    logged_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # 0 = anonymous, 1 = RFID (spec §6 authentication).
    authentication: Mapped[int] = mapped_column(Integer, default=0)
    tag: Mapped[str | None] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    meter_start_kwh: Mapped[float] = mapped_column(Float, default=0.0)
    # The latest meter reading of the session (kWh); the stop value once ended.
    meter_kwh: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    energy_kwh: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    stop_reason: Mapped[str] = mapped_column(String(40), default="")
    reservation_id: Mapped[int | None]
    # OCPP 2.0.1: the station's own transaction id (1.5 and 1.6 use this row's id),
    # the highest seqNo of its TransactionEvents handled so far, and whether the
    # meter start is still to come (the Started event carried no energy reading).
    transaction_ref: Mapped[str | None] = mapped_column(String(36))
    transaction_seq_no: Mapped[int | None]
    meter_start_pending: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    site: Mapped[Site | None] = relationship()
    station: Mapped[Station] = relationship()
    outlet: Mapped[Outlet] = relationship()
    user: Mapped[User | None] = relationship()
    meter_values: Mapped[list[MeterValue]] = relationship(
        back_populates="session", order_by="MeterValue.sampled_at"
    )

    @property
    def duration_seconds(self) -> int | None:
        if self.ended_at is None:
            return None
        return int((self.ended_at - self.started_at).total_seconds())


class MeterValue(Base):
    """One sampled value (energy register, power, current…) reported by a station."""

    __tablename__ = "meter_value"
    __table_args__ = (
        # A MeterValues looks for repeats of its samples by outlet and time
        # (charging.record_meter_values): this index keeps that a few entries read,
        # however long the outlet's history; it serves lookups by outlet alone too.
        Index("ix_meter_value_outlet_sampled", "outlet_id", "sampled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("charging_session.id"), index=True
    )
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlet.id"))
    sampled_at: Mapped[datetime]
    measurand: Mapped[str] = mapped_column(String(60))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(12), default="")
    phase: Mapped[str] = mapped_column(String(10), default="")
    context: Mapped[str] = mapped_column(String(30), default="")

    session: Mapped[ChargingSession | None] = relationship(
        back_populates="meter_values"
    )
