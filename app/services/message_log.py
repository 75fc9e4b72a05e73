"""The OCPP message log: every frame in and out, per station, kept for a while."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from app.extensions import db
from app.models import Direction, OcppMessage, Station, utcnow

MAX_PAYLOAD = 64 * 1024


def record_message(
    chargebox_id: str,
    direction: Direction,
    payload: str,
    *,
    action: str = "",
    unique_id: str = "",
    at: datetime | None = None,
) -> OcppMessage:
    """Add one message to the log (payloads beyond 64 KiB are cut)."""
    station_id = db.session.scalars(
        select(Station.id).where(Station.chargebox_id == chargebox_id)
    ).first()
    message = OcppMessage(
        station_id=station_id,
        chargebox_id=chargebox_id[:48],
        direction=direction,
        action=action[:60],
        unique_id=unique_id[:64],
        payload=payload[:MAX_PAYLOAD],
        at=at or utcnow(),
    )
    db.session.add(message)
    return message


def purge_messages(keep_days: int) -> int:
    """Delete log entries older than `keep_days`; return how many went."""
    cutoff = utcnow() - timedelta(days=keep_days)
    result = db.session.execute(delete(OcppMessage).where(OcppMessage.at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
