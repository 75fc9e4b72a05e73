"""Charging sessions for the statistics tests: one at a time, or thousands in bulk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from app.extensions import db
from app.models import ChargingSession, MeterValue, RfidTag, Role, Station, User

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


def add_driver(email: str, tag: str) -> User:
    """Add an EV user with an RFID tag, fast: no password (they never log in here)."""
    user = User(email=email, password_hash="!", role=Role.EV_USER)
    user.tags.append(RfidTag(tag=tag))
    db.session.add(user)
    db.session.commit()
    return user


def add_session(
    station: Station,
    started_at: datetime,
    *,
    minutes: float | None = 60,
    energy: float = 10.0,
    user: User | None = None,
    outlet: int = 1,
    meter: float = 1000.0,
    **fields: Any,
) -> ChargingSession:
    """Add and commit one session at a station's outlet (None minutes: still charging)."""
    outlet_row = station.outlets[outlet - 1]
    ended = None if minutes is None else started_at + timedelta(minutes=minutes)
    session = ChargingSession(
        site_id=station.site_id,
        station_id=station.id,
        outlet_id=outlet_row.id,
        outlet_number=outlet_row.number,
        started_at=started_at,
        ended_at=ended,
        logged_at=(ended or started_at) + timedelta(seconds=2),
        authentication=1 if user else 0,
        tag=user.tags[0].tag if user and user.tags else None,
        user_id=user.id if user else None,
        meter_start_kwh=meter - energy,
        meter_kwh=meter,
        energy_kwh=energy,
        stop_reason="EVDisconnected" if ended else "",
        **fields,
    )
    db.session.add(session)
    db.session.commit()
    return session


def add_meter_values(session: ChargingSession, readings_wh: list[float]) -> None:
    """Add energy register readings (Wh) spread over the session."""
    end = session.ended_at or session.started_at + timedelta(hours=1)
    step = (end - session.started_at) / max(len(readings_wh) - 1, 1)
    for n, value in enumerate(readings_wh):
        db.session.add(
            MeterValue(
                session_id=session.id,
                outlet_id=session.outlet_id,
                sampled_at=session.started_at + step * n,
                measurand="Energy.Active.Import.Register",
                value=value,
                unit="Wh",
                context="Sample.Periodic",
            )
        )
    db.session.commit()


def bulk_sessions(station: Station, count: int, *, start: datetime = T0) -> None:
    """Insert `count` sessions in one executemany (seconds apart, energy 1..count/1000)."""
    outlet = station.outlets[0]
    rows = [
        {
            "site_id": station.site_id,
            "station_id": station.id,
            "outlet_id": outlet.id,
            "outlet_number": outlet.number,
            "started_at": start + timedelta(seconds=n),
            "ended_at": start + timedelta(seconds=n, minutes=30),
            "logged_at": start + timedelta(seconds=n, minutes=30, milliseconds=500),
            "authentication": 0,
            "meter_start_kwh": 0.0,
            "meter_kwh": n / 1000,
            "energy_kwh": n / 1000,
            "stop_reason": "",
        }
        for n in range(count)
    ]
    db.session.execute(insert(ChargingSession), rows)
    db.session.commit()
