"""Local authorisation lists (OCPP SendLocalList): what each station should hold,
what the portal last sent it, and the Differential updates in between.

`entries` (what a station should hold, what it was sent, the difference), `sync`
(bringing one station up to date, a person's Full list and version check, what the
Control tab shows), `receivers` (which writes mark the lists pending, and the
coalesced rounds that send them, off the request thread).
"""

from app.services.local_lists.entries import desired, difference, held
from app.services.local_lists.receivers import init_app, tags_changed
from app.services.local_lists.sync import (
    ListStatus,
    fetch_version,
    send_full,
    stations_to_sync,
    status_of,
    sync_pending,
    sync_station,
)

__all__ = [
    "ListStatus",
    "desired",
    "difference",
    "fetch_version",
    "held",
    "init_app",
    "send_full",
    "stations_to_sync",
    "status_of",
    "sync_pending",
    "sync_station",
    "tags_changed",
]
