"""Committed configuration defaults; instance/config.py and FLASK_* override them."""

from __future__ import annotations

import os
from typing import Any

# Flask and extensions
SECRET_KEY: str | None = None  # generated into instance/secret_key when unset
SQLALCHEMY_DATABASE_URI: str | None = None  # default: SQLite under instance/
SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SAMESITE = "Lax"
MAX_CONTENT_LENGTH = 16 * 1024 * 1024
WTF_CSRF_TIME_LIMIT = None  # bound to the session instead
BABEL_DEFAULT_LOCALE = "en"
BABEL_DEFAULT_TIMEZONE = "UTC"

# Own keys
PORTAL_LANGUAGES = ("en", "sv")
PORTAL_PAGE_SIZE = 50
PORTAL_MAP_TILES = "OpenStreetMap"  # folium tiles for site maps; "" draws none
PORTAL_NAVIGATOR_POLL_SECONDS = 5  # how often the navigator's colours refresh

# OCPP
OCPP_COMMAND_TIMEOUT = 30.0  # seconds a station has to answer a command
OCPP_FETCH_CONFIG_ON_BOOT = True  # spec §9: fetch the key table on first contact
OCPP_MESSAGE_LOG = True  # store every frame / SOAP message per station
OCPP_MESSAGE_LOG_DAYS = 30  # how long the message log is kept

# Scheduler: runs in one process only; `make run` turns it on, tests never do
SCHEDULER_ENABLED = False
SOCK_SERVER_OPTIONS = {
    "subprotocols": ["ocpp1.6"],
    "ping_interval": 60,  # no pong by the next ping closes the connection
    "max_message_size": 256 * 1024,  # a bigger frame closes it (1009)
}


def from_environment() -> dict[str, Any]:
    """Return settings that come from conventional variables (DATABASE_URL)."""
    settings: dict[str, Any] = {}
    url = os.environ.get("DATABASE_URL")
    if url:
        settings["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    return settings


def normalise_database_url(url: str) -> str:
    """Make postgres:// and postgresql:// URLs use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
