"""The receivers of the domain signals: each hands its work to background.submit,
so a station's message never waits for another station's command."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask

from app.services import background, schedule, signals
from app.services.load_management.sites import apply_site, managed_sites
from app.services.load_management.stations import apply_rule_change, resend_stations


def _app(sender: Any) -> Flask | None:
    return sender if isinstance(sender, Flask) else None


def _on_session_event(sender: Any, **data: Any) -> None:
    app, site_id = _app(sender), data.get("site_id")
    if app is None or site_id is None:
        return
    sites, until = managed_sites(app)
    if time.monotonic() < until and site_id not in sites:
        return  # no capacity to share there and none shared before: no work at all
    background.submit(app, apply_site, site_id)


#: per app, the stations whose resend waits for the next drain: a station that
#: connects and boots announces itself twice, a fleet that reconnects thousands of
#: times at once; one drain at a time is queued, and it takes every station waiting
#: when it starts (resend_stations reads them in a few statements, not each alone)
_resends_waiting: dict[Flask, set[int]] = {}
_drains_queued: set[Flask] = set()
_resends_lock = threading.Lock()


def _drain_resends(app: Flask) -> int:
    with _resends_lock:
        station_ids = _resends_waiting.pop(app, set())
        _drains_queued.discard(app)
    return resend_stations(station_ids)


def _on_station_connected(sender: Any, **data: Any) -> None:
    app = _app(sender)
    if app is None:
        return
    with _resends_lock:
        _resends_waiting.setdefault(app, set()).add(data["station_id"])
        if app in _drains_queued:
            return
        _drains_queued.add(app)
    background.submit(app, _drain_resends, app)


def _on_rules_changed(sender: Any, **data: Any) -> None:
    app = _app(sender)
    if app is not None:
        background.submit(
            app, apply_rule_change, data.get("site_id"), data.get("station_ids", [])
        )


def init_app(app: Flask) -> None:
    """Connect the receivers (once per process; they act for whichever app sends)."""
    signals.session_started.connect(_on_session_event)
    signals.session_stopped.connect(_on_session_event)
    signals.outlet_status_changed.connect(_on_session_event)
    signals.station_connected.connect(_on_station_connected)
    schedule.rules_changed.connect(_on_rules_changed)
