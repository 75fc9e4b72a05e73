"""People: accounts with a role, their RFID tags, site grants and dashboard panels."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.models.base import Base, text_enum, utcnow

if TYPE_CHECKING:
    from app.models.policies import UserGroup
    from app.models.topology import Site


class TagNotation(enum.StrEnum):
    """How a station's readers send a card's UID as idTag (issue #19)."""

    EXACT = "exact"  # as registered, compared case-insensitively
    HEX = "hex"  # the UID in hex: a card registered by its decimal print matches
    DECIMAL = "decimal"  # the UID in decimal: a card registered in hex matches


def tag_key(text: str) -> str:
    """A tag's identity: OCPP idTags are CiStrings (ASCII), compared case-insensitively."""
    return text.upper()


class Role(enum.StrEnum):
    """What a person may see and do (spec §1)."""

    ADMIN = "administrator"
    SITE_ADMIN = "site_admin"
    SUPPORT = "support"
    EV_USER = "ev_user"


site_grant = Table(
    "site_grant",
    Base.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("site.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased: the e-mail is the user name and unique case-insensitively.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(80), default="")
    last_name: Mapped[str] = mapped_column(String(80), default="")
    role: Mapped[Role] = mapped_column(text_enum(Role))
    email_at_alarm: Mapped[bool] = mapped_column(Boolean, default=False)
    parking: Mapped[str] = mapped_column(String(120), default="")
    language: Mapped[str | None] = mapped_column(String(8))
    # Bumped on a password change: sessions carrying an older value are logged out.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None]

    sites: Mapped[list[Site]] = relationship(secondary=site_grant, order_by="Site.name")
    tags: Mapped[list[RfidTag]] = relationship(
        back_populates="user", order_by="RfidTag.tag", foreign_keys="RfidTag.user_id"
    )
    dashboard_panels: Mapped[list[DashboardPanel]] = relationship(
        cascade="all, delete-orphan", order_by="DashboardPanel.slot"
    )

    # The four members Flask-Login expects of a user object.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """Session id: a password change bumps the version and ends other logins."""
        return f"{self.id}.{self.session_version}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def __str__(self) -> str:
        return self.email


class RfidTag(Base):
    """An identification token (OCPP idTag), kept exactly as registered; its key (the
    upper-cased text) is its identity, unique. The rules are app/services/tags.py."""

    __tablename__ = "rfid_tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(20), unique=True)
    tag_key: Mapped[str] = mapped_column(String(20), unique=True, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("rfid_tag.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime | None]
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship(
        back_populates="tags", foreign_keys=[user_id]
    )
    parent: Mapped[RfidTag | None] = relationship(remote_side=[id])
    # Read-only here: membership is written through UserGroup.tags and the import.
    groups: Mapped[list[UserGroup]] = relationship(
        secondary="user_group_tag", viewonly=True, order_by="UserGroup.name"
    )

    @validates("tag")
    def _keep_key(self, _name: str, value: str) -> str:
        self.tag_key = tag_key(value)
        return value

    def __str__(self) -> str:
        return self.tag


class DashboardPanel(Base):
    """Which widget a user shows in one of the four dashboard panels (spec §4)."""

    __tablename__ = "dashboard_panel"
    __table_args__ = (
        UniqueConstraint("user_id", "slot"),
        CheckConstraint("slot BETWEEN 1 AND 4", name="slot_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    slot: Mapped[int]
    widget: Mapped[str] = mapped_column(String(40))
