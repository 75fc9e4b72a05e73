"""The benchmark's fixed figures: where the portal listens, the station cycle, the targets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ocpp import messages
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parent.parent.parent
MAX_STATIONS = 10_000
HOST = "127.0.0.1"
PATH = "/Ocpp/websocket"
SUBPROTOCOL = Subprotocol("ocpp1.6")
SECRET_KEY = "bench-ocpp-load-secret-0123456789abcdef"
RESPONSE_TIMEOUT = 30.0  # seconds a simulated station waits for an answer
STOP_GRACE = 5.0  # seconds after the window for calls still in flight
SETTLE_TIMEOUT = 300.0  # seconds to wait for the first contact's work after the ramp
CYCLE = (
    "Heartbeat",
    "StatusNotification:Preparing",
    "StartTransaction",
    "StatusNotification:Charging",
    "MeterValues",
    "MeterValues",
    "Heartbeat",
    "MeterValues",
    "StopTransaction",
    "StatusNotification:Available",
)
TARGETS = (
    "targets (issue 10, every message persisted): closed loop at 1,000 stations "
    ">= 5,500 msg/s; 5,000 stations held paced at 0.2 msg/s with p99 <= 30 ms\n"
    "targets (issue 20): closed loop at 1,000 stations, server CPU per message "
    "<= 2.5x the baseline's; 1,000 stations at 0.2 msg/s with p99 <= 30 ms; "
    "10,000 idle stations (--paced 0.0167) on one worker, peak RSS <= 1 GB, "
    "p99 <= 100 ms"
)

# Both sides validate synchronously (the default validates in a thread pool).
messages.ASYNC_VALIDATION = False


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def chargebox_id(index: int) -> str:
    return f"BENCH{index:05d}"
