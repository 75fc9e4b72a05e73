"""The idle session timeout: a login ends after SECURITY_IDLE_TIMEOUT_MINUTES
without a request made by the person (background polls do not count)."""

from __future__ import annotations

import time

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import EventKind
from app.services import events

_SEEN = "last_seen"
# Requests the pages make by themselves (spec §3: the navigator polls every few
# seconds); they must not keep an unattended login alive.
PASSIVE_ENDPOINTS = frozenset({"navigator.index", "diagrams.data", "static"})
# Refresh the timestamp at most this often, so not every response sets a cookie.
_RESOLUTION_SECONDS = 30


def check_idle() -> Response | None:
    """Log out a session idle for too long; otherwise note this request's time."""
    if not current_user.is_authenticated:
        return None
    now = int(time.time())
    seen = session.get(_SEEN)
    limit = float(current_app.config["SECURITY_IDLE_TIMEOUT_MINUTES"]) * 60
    if isinstance(seen, int) and now - seen > limit:
        events.record_event(
            EventKind.LOGOUT,
            f"{current_user.email} logged out after inactivity",
            user=current_user,
            details={"reason": "idle", "address": request.remote_addr},
        )
        db.session.commit()
        logout_user()
        session.pop(_SEEN, None)
        flash(_("You were logged out after a while without activity."), "info")
        return redirect(url_for("auth.login", next=_next_path()))
    passive = request.endpoint in PASSIVE_ENDPOINTS
    if not passive and (not isinstance(seen, int) or now - seen >= _RESOLUTION_SECONDS):
        session[_SEEN] = now
    return None


def start(now: int | None = None) -> None:
    """Start the idle clock of a fresh login."""
    session[_SEEN] = int(time.time()) if now is None else now


def _next_path() -> str | None:
    if request.method != "GET" or request.endpoint in PASSIVE_ENDPOINTS:
        return None
    return request.full_path.rstrip("?")
