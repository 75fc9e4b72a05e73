"""The firmware library (spec §8 Station Control): one record per image in the store.

The image itself is a file in the library folder (the FTP server's firmware folder);
the record says what it is (size, SHA-256), who added it and when, and the
unguessable token under which the portal serves it over HTTP.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, utcnow
from app.models.users import User


class FirmwareImage(Base):
    """One firmware image stations may fetch, over FTP or HTTP."""

    __tablename__ = "firmware_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    uploaded_by: Mapped[User | None] = relationship()
