"""Transactions a station names itself (OCPP 2.0.1 TransactionEvent): one session each.

An OCPP 2.0.1 station gives each transaction an id of its own (text) and reports it
in numbered events: Started, any number of Updated, Ended. A station that was offline
sends the events it queued, in order, once it is back. Each event is fed to the
session it names here; what a session is (its tag, user, energy, stop) is decided
by charging.py, as for OCPP 1.5 and 1.6, so 2.0.1 sessions are the same rows in
statistics, exports, diagrams and the REST API.

* The first event of a transaction the portal sees starts the session, whichever
  it is (a lost Started is not waited for): the start is the earliest time the
  event knows, the meter start its Transaction.Begin reading, else its earliest
  energy reading, else the first energy reading that comes later.
* A repeated event (a lost answer, a replay) changes nothing twice: the session is
  found by the station's id, samples are stored once, a stop is taken once.
* seqNo: the highest handled is kept; an older one (sent late) still gives its
  samples but no outlet status; a gap is written to the event log.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from app.extensions import db
from app.models import ChargingSession, EventKind, OutletStatus, Station
from app.services import charging, events, stations

BEGIN = "Transaction.Begin"
END = "Transaction.End"

_BY_REF = select(ChargingSession).where(
    ChargingSession.station_id == bindparam("station_id"),
    ChargingSession.transaction_ref == bindparam("ref"),
)


class Stage(enum.StrEnum):
    STARTED = "started"
    UPDATED = "updated"
    ENDED = "ended"


@dataclass(frozen=True)
class TransactionEvent:
    """One TransactionEvent in the spec's words."""

    stage: Stage
    ref: str  #: the station's transaction id
    seq_no: int
    at: datetime
    outlet_number: int | None = None
    tag_text: str | None = None  #: the tag the event carries, if any
    samples: tuple[charging.MeterSample, ...] = ()
    offline: bool = False
    #: the outlet's state the event reports (its charging state), if any
    outlet_status: OutletStatus | None = None
    stop_reason: str = ""
    reservation_id: int | None = None


@dataclass(frozen=True)
class TransactionResult:
    session_id: int
    #: the standing of the event's tag (None when the event carried none)
    authorization: charging.Authorization | None


def find_transaction(station: Station, ref: str) -> ChargingSession | None:
    """Return the station's session for its own transaction id, if any.

    One named in this unit of work is found in it, so looking does not flush the
    batch (charging.py says why a batch is not flushed message by message)."""
    ref = ref[:36]
    for row in db.session.identity_map.values():
        # vars(): only what is loaded or set (reading an unloaded column loads it)
        if (
            isinstance(row, ChargingSession)
            and vars(row).get("transaction_ref") == ref
            and vars(row).get("station_id") == station.id
        ):
            return row
    with db.session.no_autoflush:
        return db.session.scalars(
            _BY_REF, {"station_id": station.id, "ref": ref}
        ).first()


def _energy(samples: tuple[charging.MeterSample, ...]) -> list[charging.MeterSample]:
    return sorted((s for s in samples if s.kwh is not None), key=lambda s: s.sampled_at)


def _reading_wh(
    samples: tuple[charging.MeterSample, ...], context: str, *, last: bool
) -> float | None:
    """The energy reading of this context, else the earliest (or latest) one, in Wh."""
    readings = _energy(samples)
    if not readings:
        return None
    marked = [s for s in readings if s.context == context]
    chosen = (marked or readings)[-1 if last else 0]
    kwh = chosen.kwh
    assert kwh is not None
    return kwh * 1000


def _start(station: Station, event: TransactionEvent) -> charging.StartResult:
    meter_start = _reading_wh(event.samples, BEGIN, last=False)
    started_at = min([event.at, *(s.sampled_at for s in event.samples)])
    result = charging.start_session(
        station,
        event.outlet_number or 1,
        event.tag_text,
        meter_start or 0.0,
        started_at,
        reservation_id=event.reservation_id,
    )
    session = result.session
    session.transaction_ref = event.ref[:36]
    session.transaction_seq_no = event.seq_no
    session.meter_start_pending = meter_start is None
    return result


def _follow(
    station: Station, session: ChargingSession, event: TransactionEvent
) -> tuple[bool, charging.Authorization | None]:
    """Take a later event of a known session: its seqNo, a late start, its tag.
    Returns whether it is the newest so far and the standing of its tag."""
    previous = session.transaction_seq_no
    newest = previous is None or event.seq_no > previous
    if newest:
        if previous is not None and event.seq_no > previous + 1:
            events.record_event(
                EventKind.STATUS,
                f"charging session {session.id}: transaction events "
                f"{previous + 1}-{event.seq_no - 1} missing",
                station=station,
                node_name=str(session.outlet),
            )
        session.transaction_seq_no = event.seq_no
    if event.stage is Stage.STARTED and event.at < session.started_at:
        session.started_at = event.at  # a late Started: the true start
    if not event.tag_text:
        return newest, None
    if session.tag is None:
        return newest, charging.attach_tag(station, session, event.tag_text)
    return newest, charging.authorize(station, event.tag_text, session.outlet_number)


def record_transaction_event(
    station: Station, event: TransactionEvent
) -> TransactionResult:
    """Feed one TransactionEvent to its session (started by it when it is the first)."""
    session = find_transaction(station, event.ref)
    if session is None:
        started = _start(station, event)
        session, newest = started.session, True
        authorization = started.authorization if event.tag_text else None
    else:
        newest, authorization = _follow(station, session, event)
    if session.meter_start_pending:
        first = _reading_wh(event.samples, BEGIN, last=False)
        if first is not None:
            session.meter_start_pending = False
            charging.set_meter_start(session, first)
    if event.stage is Stage.ENDED and session.ended_at is None:
        meter_stop = _reading_wh(event.samples, END, last=True)
        charging.stop_session(
            station,
            session.id,
            session.meter_kwh * 1000 if meter_stop is None else meter_stop,
            event.at,
            reason=event.stop_reason or "Local",
            samples=list(event.samples),
        )
    elif event.samples:
        charging.record_meter_values(
            station, session.outlet_number, list(event.samples), session.id
        )
    if newest and event.outlet_status is not None:
        stations.record_status(
            station, session.outlet_number, event.outlet_status, timestamp=event.at
        )
    return TransactionResult(session.id, authorization)
