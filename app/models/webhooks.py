"""Webhooks: the outbox of events for each service and the log of every delivery."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UUIDString, new_uuid, text_enum, utcnow
from app.models.integrations import ExternalService


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for its turn or its next attempt
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last attempt


class WebhookEvent(Base):
    """One event to POST to one service; delivered in id order per service."""

    __tablename__ = "webhook_event"
    __table_args__ = (
        Index("ix_webhook_event_service_state", "service_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDString, unique=True, default=new_uuid)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("external_service.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(40))  # session.started, …
    payload: Mapped[str] = mapped_column(Text)  # the JSON body, exactly as sent
    state: Mapped[DeliveryState] = mapped_column(
        text_enum(DeliveryState), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    delivered_at: Mapped[datetime | None]

    service: Mapped[ExternalService] = relationship()
    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="event",
        order_by="WebhookDelivery.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __str__(self) -> str:
        return f"{self.kind} #{self.id}"


class WebhookDelivery(Base):
    """One attempt to POST an event: when, the answer, how long it took."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_event.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("external_service.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(String(300), default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)

    event: Mapped[WebhookEvent] = relationship(back_populates="deliveries")
    service: Mapped[ExternalService] = relationship()

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookLease(Base):
    """Who delivers a service's events right now: one deliverer per service, so
    events arrive in order even with several worker processes."""

    __tablename__ = "webhook_lease"

    service_id: Mapped[int] = mapped_column(
        ForeignKey("external_service.id", ondelete="CASCADE"), primary_key=True
    )
    owner: Mapped[str] = mapped_column(String(80), default="")
    until: Mapped[datetime | None]
