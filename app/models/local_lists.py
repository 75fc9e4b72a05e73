"""The local authorisation list of each station as the portal last sent it (OCPP
SendLocalList), so that a change to the tags reaches it as a difference."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base


class StationLocalList(Base):
    """One station's local list: the version the portal sent it and what is to do.

    A station has a row once the portal sent it a list; from then on the portal keeps
    the list up to date (app/services/local_lists).
    """

    __tablename__ = "station_local_list"

    station_id: Mapped[int] = mapped_column(
        ForeignKey("station.id", ondelete="CASCADE"), primary_key=True
    )
    #: the version of the last list (or difference) the station accepted; 0: none yet
    version: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    #: the tags changed since: a difference may wait to be sent
    pending: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    #: the next send is a Full list (the station lost count, or refused a difference)
    full_needed: Mapped[bool] = mapped_column(Boolean, default=True)
    #: False once the station said it has no local list: it is skipped from then on
    supported: Mapped[bool] = mapped_column(Boolean, default=True)
    #: what the station last reported (GetLocalListVersion), and when
    station_version: Mapped[int | None] = mapped_column(Integer)
    station_version_at: Mapped[datetime | None]
    #: the outcome of the last attempt ("accepted", "VersionMismatch", "offline" …)
    last_result: Mapped[str] = mapped_column(String(200), default="")
    last_attempt_at: Mapped[datetime | None]
    #: a sync holds the list until then: one at a time, in any process
    busy_until: Mapped[datetime | None]

    entries: Mapped[list[LocalListTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="LocalListTag.tag"
    )


class LocalListTag(Base):
    """One entry of a station's local list, as sent (the tag in the form the station's
    readers send it)."""

    __tablename__ = "local_list_tag"
    __table_args__ = (UniqueConstraint("station_id", "tag_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(
        ForeignKey("station_local_list.station_id", ondelete="CASCADE")
    )
    tag: Mapped[str] = mapped_column(String(20))
    #: the tag upper-cased: a station compares idTags case-insensitively
    tag_key: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))  # accepted/blocked/expired/invalid
    expires_at: Mapped[datetime | None]
    parent_tag: Mapped[str | None] = mapped_column(String(20))
