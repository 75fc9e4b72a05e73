"""Operations: the record of each day's alarm digest per user (spec §2, §10)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, text_enum, utcnow


class DigestState(enum.StrEnum):
    """Where one user's digest of one day stands."""

    SENDING = "sending"  # claimed; a crash here never sends it twice
    SENT = "sent"
    FAILED = "failed"  # the SMTP server refused or was away: retried next run
    NOTHING = "nothing"  # no active alarm in the user's scope: no e-mail that day


class AlarmDigest(Base):
    """One user's alarm digest of one day: at most one e-mail per user and day."""

    __tablename__ = "alarm_digest"
    __table_args__ = (UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # The portal's calendar day (BABEL_DEFAULT_TIMEZONE) the digest belongs to.
    day: Mapped[date] = mapped_column(Date)
    state: Mapped[DigestState] = mapped_column(text_enum(DigestState))
    alarm_count: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
