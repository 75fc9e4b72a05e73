"""The OCPP message log: every frame or SOAP message in and out, per station."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, text_enum, utcnow


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class OcppMessage(Base):
    __tablename__ = "ocpp_message"
    __table_args__ = (Index("ix_ocpp_message_chargebox_at", "chargebox_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    station_id: Mapped[int | None] = mapped_column(
        ForeignKey("station.id", ondelete="CASCADE")
    )
    chargebox_id: Mapped[str] = mapped_column(String(48))
    direction: Mapped[Direction] = mapped_column(text_enum(Direction, 3))
    action: Mapped[str] = mapped_column(String(60), default="")
    unique_id: Mapped[str] = mapped_column(String(64), default="")
    payload: Mapped[str] = mapped_column(Text)
