"""The receivers of the domain signals: each hands its work to background.submit,
so a station's message never waits for another station's command."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask

from app.services import background, schedule, signals
from app.services.load_management.sites import apply_site, managed_sites
from app.services.load_management.stations import apply_rule_change, resend_station


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


#: stations whose resend is queued and not yet started: a station that connects
#: and boots announces itself twice, a fleet that reconnects thousands of times at
#: once; each station's resend is queued once (it reads the station when it starts)
_resends_queued: set[int] = set()
_resends_lock = threading.Lock()


def _resend(station_id: int) -> int:
    with _resends_lock:
        _resends_queued.discard(station_id)
    return resend_station(station_id)


def _on_station_connected(sender: Any, **data: Any) -> None:
    app = _app(sender)
    if app is None:
        return
    station_id = data["station_id"]
    with _resends_lock:
        if station_id in _resends_queued:
            return
        _resends_queued.add(station_id)
    background.submit(app, _resend, station_id)


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
