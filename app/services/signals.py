"""Domain events: what happened, announced once the unit of work that did it commits.

Services decide and `announce`; whoever needs to react (webhooks, load management)
connects a receiver to a signal here instead of editing the service that decided.
Receivers run right after the commit, in the committing thread, with the app
context of the commit: they get plain values (ids, numbers), must not use the
database session that just committed, and must not block — real work goes to
`background.submit`. A rolled-back unit of work announces nothing. A receiver that
fails is logged and never undoes or interrupts the work that committed.
"""

from __future__ import annotations

import logging
from typing import Any

from blinker import NamedSignal, Namespace
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_namespace = Namespace()

# A charging session was recorded: session_id, station_id, outlet_id, site_id.
session_started = _namespace.signal("session-started")
# A charging session ended: session_id, station_id, outlet_id, site_id, energy_kwh.
session_stopped = _namespace.signal("session-stopped")
# Meter values were stored: station_id, outlet_id, session_id (or None).
meter_values_recorded = _namespace.signal("meter-values-recorded")
# An outlet's status changed: outlet_id, station_id, site_id, status (value).
outlet_status_changed = _namespace.signal("outlet-status-changed")
# A station came online or booted: station_id, booted (bool).
station_connected = _namespace.signal("station-connected")
# A station's connection closed: station_id.
station_disconnected = _namespace.signal("station-disconnected")
# Tags (or what decides which a station admits) changed: local lists to bring up to
# date: stations (how many lists were marked pending).
tags_changed = _namespace.signal("tags-changed")

_PENDING = "charge_portal.pending_signals"


def announce(session: Session, signal: NamedSignal, **data: Any) -> None:
    """Queue `signal` with `data` to be sent when `session` commits."""
    session.info.setdefault(_PENDING, []).append((signal, data))


def queued(session: Session, signal: NamedSignal) -> bool:
    """Whether `signal` is already queued to be sent when `session` commits."""
    return any(sent is signal for sent, _data in session.info.get(_PENDING, ()))


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    sender = current_app._get_current_object() if has_app_context() else None  # type: ignore[attr-defined]
    for signal, data in pending:
        try:
            signal.send(sender, **data)
        except Exception:  # a receiver's failure never undoes committed work
            log.exception("receiver of %s failed", signal.name)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
