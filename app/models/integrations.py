"""Third-party services (map, payment…) and each outlet's id at each service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.topology import Outlet


class ExternalService(Base):
    __tablename__ = "external_service"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    # Write-only for people: never rendered back in full (spec §8 Services).
    secret: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __str__(self) -> str:
        return self.provider


class OutletServiceId(Base):
    """The id by which a service knows an outlet."""

    __tablename__ = "outlet_service_id"
    __table_args__ = (
        UniqueConstraint("outlet_id", "service_id"),
        UniqueConstraint("service_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlet.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(
        ForeignKey("external_service.id", ondelete="CASCADE")
    )
    external_id: Mapped[str] = mapped_column(String(120))

    outlet: Mapped[Outlet] = relationship()
    service: Mapped[ExternalService] = relationship()
