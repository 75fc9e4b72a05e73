"""When the local lists need a look, and how bursts are coalesced.

Any change to what decides a station's list - a tag added, changed or deleted, a
user (de)activated, a group or access policy changed, a reader notation or a
station's place changed - marks every kept list `pending` in the same unit of work
(one UPDATE per transaction, whatever the number of rows changed) and, once it
commits, announces `signals.tags_changed`. Its receiver starts one round after
LOCAL_LIST_DELAY seconds (default 2): changes committed meanwhile join that round,
so a 10,000-tag import sends each station one difference, not 10,000. A round hands
each online station whose list is pending to `background.submit`; an accepted boot
(`signals.station_connected`) joins the next round as well, and such a station is
first asked for its list version. Nothing here runs per OCPP message: the hooks
fire only when those rows are written.

A bulk write that bypasses the ORM's unit of work (Core INSERT/UPDATE on rfid_tag)
calls `tags_changed(db.session())` itself.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask
from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Session, object_session

from app.models import (
    AccessPolicy,
    RfidTag,
    Site,
    Station,
    StationLocalList,
    SystemSettings,
    User,
    UserGroup,
)
from app.services import background, signals
from app.services.local_lists.sync import stations_to_sync, sync_station

DEFAULT_DELAY = 2.0


def tags_changed(session: Session) -> None:
    """Mark every kept list pending in this unit of work (once per transaction) and
    have the lists brought up to date once it commits."""
    if signals.queued(session, signals.tags_changed):
        return
    result = session.connection().execute(
        update(StationLocalList)
        .where(StationLocalList.supported.is_(True))
        .values(pending=True)
    )
    signals.announce(session, signals.tags_changed, stations=result.rowcount)


def _row_written(_mapper: Any, _connection: Any, target: Any) -> None:
    session = object_session(target)
    if session is not None:
        tags_changed(session)


def _attribute_set(target: Any, value: Any, old: Any, _initiator: Any) -> None:
    session = object_session(target)
    if session is not None and value != old and inspect(target).persistent:
        tags_changed(session)


_WATCHED_ROWS = (RfidTag, UserGroup, AccessPolicy)
_WATCHED_ATTRIBUTES = (
    User.active,
    Station.tag_notation,
    Station.site_id,
    Station.floor_id,
    Site.tag_notation,
    SystemSettings.tag_notation,
    SystemSettings.default_access,
)


def _watch() -> None:
    """Hook the writes that change what a list holds (once per process)."""
    for model in _WATCHED_ROWS:
        for name in ("after_insert", "after_update", "after_delete"):
            if not event.contains(model, name, _row_written):
                event.listen(model, name, _row_written)
    for attribute in _WATCHED_ATTRIBUTES:
        if not event.contains(attribute, "set", _attribute_set):
            event.listen(attribute, "set", _attribute_set)


class Rounds:
    """One app's coalescing of list work: at most one round waits at a time."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.delay = float(app.config.get("LOCAL_LIST_DELAY", DEFAULT_DELAY))
        self._lock = threading.Lock()
        self._waiting = False
        self._booted: set[int] = set()

    def request(self, booted: int | None = None) -> None:
        """Have a round start soon (unless one is already waiting to)."""
        with self._lock:
            if booted is not None:
                self._booted.add(booted)
            if self._waiting:
                return
            self._waiting = True
        background.submit(self.app, self._round)

    def _round(self) -> list[int]:
        time.sleep(self.delay)
        with self._lock:
            self._waiting = False
            booted, self._booted = self._booted, set()
        ids = stations_to_sync(booted)
        for station_id in ids:
            background.submit(
                self.app, sync_station, station_id, check_version=station_id in booted
            )
        return ids


def _rounds(sender: Any) -> Rounds | None:
    if not isinstance(sender, Flask):
        return None
    rounds: Rounds | None = sender.extensions.get("local_lists")
    return rounds


def _on_tags_changed(sender: Any, **data: Any) -> None:
    rounds = _rounds(sender)
    if rounds is not None and data.get("stations"):
        rounds.request()


def _on_station_connected(sender: Any, **data: Any) -> None:
    rounds = _rounds(sender)
    if rounds is not None and data.get("booted"):
        rounds.request(booted=data["station_id"])


def init_app(app: Flask) -> None:
    """Make this app's rounds; hook the writes and connect the receivers (once per
    process; they act for whichever app sends)."""
    app.extensions["local_lists"] = Rounds(app)
    _watch()
    signals.tags_changed.connect(_on_tags_changed)
    signals.station_connected.connect(_on_station_connected)
