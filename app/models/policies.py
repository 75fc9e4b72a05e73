"""Access policies (spec §8 Policies): named user groups and who may charge where.

A group ("Tenants house 3", "Fleet cars") has users and tags as members; it belongs
to one site (its site administrators manage it) or, with no site, to the whole
system (administrators only). Group names are unique across the system, so an
import names a group unambiguously.

An access policy hangs on exactly one node (site, floor, station or outlet) and
says who may charge there: OPEN (anyone, also without a tag: an anonymous
session), KNOWN (any known, valid tag) or GROUPS (a known, valid tag that is, or
whose user is, a member of one of the policy's groups). An outlet follows the
nearest node above it that has a policy; above them all, the system default
(`SystemSettings.default_access`). The rules are app/services/access_policies.py.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, text_enum, utcnow
from app.models.schedule import _exactly_one

if TYPE_CHECKING:
    from app.models.topology import Site
    from app.models.users import RfidTag, User


class AccessRule(enum.StrEnum):
    """Who may charge at a node (spec §8 Policies, §9)."""

    OPEN = "OPEN"  # anyone, also without a tag (anonymous session)
    KNOWN = "KNOWN"  # any known tag that is not blocked or expired
    GROUPS = "GROUPS"  # a known, valid tag of a member of one of the chosen groups


user_group_user = Table(
    "user_group_user",
    Base.metadata,
    Column(
        "group_id", ForeignKey("user_group.id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "user_id",
        ForeignKey("user.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

user_group_tag = Table(
    "user_group_tag",
    Base.metadata,
    Column(
        "group_id", ForeignKey("user_group.id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "tag_id",
        ForeignKey("rfid_tag.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

access_policy_group = Table(
    "access_policy_group",
    Base.metadata,
    Column(
        "policy_id",
        ForeignKey("access_policy.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "group_id",
        ForeignKey("user_group.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class UserGroup(Base):
    """A named group of users and tags, of one site or (site None) system-wide."""

    __tablename__ = "user_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("site.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site | None] = relationship()
    users: Mapped[list[User]] = relationship(
        secondary=user_group_user, order_by="User.email"
    )
    tags: Mapped[list[RfidTag]] = relationship(
        secondary=user_group_tag, order_by="RfidTag.tag"
    )

    def __str__(self) -> str:
        return self.name


class AccessPolicy(Base):
    """Who may charge at one node; the nearest policy above an outlet decides."""

    __tablename__ = "access_policy"
    __table_args__ = (
        CheckConstraint(
            _exactly_one("site_id", "floor_id", "station_id", "outlet_id"),
            name="one_node",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("site.id", ondelete="CASCADE"), unique=True
    )
    floor_id: Mapped[int | None] = mapped_column(
        ForeignKey("floor.id", ondelete="CASCADE"), unique=True
    )
    station_id: Mapped[int | None] = mapped_column(
        ForeignKey("station.id", ondelete="CASCADE"), unique=True
    )
    outlet_id: Mapped[int | None] = mapped_column(
        ForeignKey("outlet.id", ondelete="CASCADE"), unique=True
    )
    rule: Mapped[AccessRule] = mapped_column(text_enum(AccessRule))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    groups: Mapped[list[UserGroup]] = relationship(
        secondary=access_policy_group, order_by="UserGroup.name"
    )

    def __str__(self) -> str:
        return f"Access policy {self.id} ({self.rule.value})"
