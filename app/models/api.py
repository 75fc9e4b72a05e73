"""The REST API's own records: administrators' tokens, remote commands, idempotency."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UUIDString, new_uuid, text_enum, utcnow
from app.models.integrations import ExternalService
from app.models.topology import Outlet, Station
from app.models.users import User


class ApiToken(Base):
    """An administrator's personal API token; only its SHA-256 is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def __str__(self) -> str:
        return self.name


class CommandKind(enum.StrEnum):
    START = "start"
    STOP = "stop"


class CommandState(enum.StrEnum):
    """Where a start or stop asked through the API stands."""

    PENDING = "pending"  # sent, the station has not answered yet
    ACCEPTED = "accepted"  # the station accepted; its session has not appeared yet
    DONE = "done"  # the session started (start) or ended (stop)
    REJECTED = "rejected"
    OFFLINE = "offline"
    TIMED_OUT = "timed_out"
    FAILED = "failed"  # error, or accepted but nothing happened in time


class ApiCommand(Base):
    """A start or stop asked through the API: the status URL of a 202 reads this."""

    __tablename__ = "api_command"
    __table_args__ = (
        Index("ix_api_command_outlet_created", "outlet_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDString, unique=True, default=new_uuid)
    kind: Mapped[CommandKind] = mapped_column(text_enum(CommandKind))
    state: Mapped[CommandState] = mapped_column(
        text_enum(CommandState), default=CommandState.PENDING
    )
    detail: Mapped[str] = mapped_column(String(200), default="")
    # Who asked: a service, or an administrator through a personal token.
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("external_service.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE")
    )
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlet.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(
        ForeignKey("station.id", ondelete="CASCADE")
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("charging_session.id", ondelete="SET NULL"), index=True
    )
    tag: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    service: Mapped[ExternalService | None] = relationship()
    outlet: Mapped[Outlet] = relationship()
    station: Mapped[Station] = relationship()


class IdempotencyRecord(Base):
    """The first answer to a request with an Idempotency-Key, replayed on a repeat."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("caller", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    caller: Mapped[str] = mapped_column(String(40))  # "service:3", "token:7"
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
