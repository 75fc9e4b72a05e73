"""Committed configuration defaults; instance/config.py and FLASK_* override them."""

from __future__ import annotations

import os
from typing import Any

# Flask and extensions
SECRET_KEY: str | None = None  # generated into instance/secret_key when unset
SQLALCHEMY_DATABASE_URI: str | None = None  # default: SQLite under instance/
# pool_pre_ping defaults to on for a database server, off for SQLite (create_app)
SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
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
LOCAL_LIST_DELAY = 2.0  # seconds a tag change waits for more before lists are sent
OCPP_FETCH_CONFIG_ON_BOOT = True  # spec §9: fetch the key table on first contact
OCPP_MESSAGE_LOG = True  # store every frame / SOAP message per station
OCPP_MESSAGE_LOG_DAYS = 30  # how long the message log is kept
# Threads that run OCPP 1.6 station messages against the database, per process; each
# takes the messages queued up as one batch. 0 = the default, 1 (measured best, see
# docs/ocpp-performance.md); use worker processes for more cores.
OCPP_HANDLER_THREADS = 0

# Schedule (spec §6b)
SCHEDULE_TIMEZONE = "UTC"  # IANA zone the charging windows and caps are written in
SCHEDULE_UNCAPPED_A = 63.0  # limit sent for "no cap" inside a weekly profile (A)
SCHEDULE_UNCONTROLLED_A = 32.0  # an OCPP 1.5 session counts this much of a capacity

# Scale-out: with a Redis URL, workers share rate-limit counters and route commands
REDIS_URL = ""
REDIS_KEY_PREFIX = "charge-portal:"  # every Redis key and channel the portal uses
OCPP_ROUTING_TTL = 60  # s a worker's "I hold this station" entry lives unrefreshed
# Graceful shutdown (SIGTERM): stations closed with 1001 spread over this many
# seconds, each once its messages in flight are answered (at most the idle wait)
OCPP_SHUTDOWN_SPREAD = 10.0
OCPP_SHUTDOWN_IDLE_WAIT = 5.0
# Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto/-Host/-Port/
# -Prefix (werkzeug ProxyFix); 0 trusts none of those headers
PORTAL_PROXY_HOPS = 0
# Rate limits (Flask-Limiter): counters in memory for one process, in Redis if set
RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_HEADERS_ENABLED = True

# REST API for external services (app/api, docs/api.md)
API_RATE_LIMIT = "120 per minute"  # per bearer token (Flask-Limiter syntax)
API_MAX_BODY_BYTES = 16 * 1024  # a bigger request body is refused (413)
API_START_WAIT = 10.0  # seconds a start/stop call waits for the station before a 202
API_COMMAND_EXPIRY = (
    120.0  # an accepted start/stop with no session change by then fails
)
API_IDEMPOTENCY_HOURS = 24  # how long an Idempotency-Key's first answer is replayed
API_WEBHOOK_TIMEOUT = 10.0  # seconds a webhook receiver has to answer
API_WEBHOOK_RETRY_BASE = 10.0  # first retry after this many seconds, then doubling
API_WEBHOOK_RETRY_MAX = 3600.0  # never wait longer than this between attempts
API_WEBHOOK_MAX_ATTEMPTS = 16  # then the event is marked failed (retry from the admin)
API_WEBHOOK_LOG_DAYS = 30  # delivered/failed events and their log are kept this long
# Security (issue #11, docs/security.md)
SECURITY_SECURE_COOKIES_ON_HTTPS = True  # every cookie Secure on an HTTPS request
SECURITY_IDLE_TIMEOUT_MINUTES = 30  # log out after this long without a request
SECURITY_LOGIN_LIMIT = "5 per minute"  # failed logins per account and per address
SECURITY_HSTS_SECONDS = 0  # Strict-Transport-Security on HTTPS; 0 sends none
# Where map tiles come from (CSP img-src), besides the portal itself
SECURITY_CSP_IMG_SRC: tuple[str, ...] = ("https://*.tile.openstreetmap.org",)

# Scheduler: runs in one process only; `make run` turns it on, tests never do
SCHEDULER_ENABLED = False
# Which process runs it: the holder of a lock (PostgreSQL advisory lock, else Redis,
# else a lock file in instance/); the others try again every SCHEDULER_LOCK_RETRY s
SCHEDULER_LOCK_NAME = "charge-portal-scheduler"
SCHEDULER_LOCK_RETRY = 15.0

# Alarm digest e-mail (spec §2 "Email at alarm"): the SMTP server it goes through.
MAIL_HOST = ""  # empty: no e-mail is sent (the digest job logs and waits)
MAIL_PORT = 25
MAIL_TLS = "none"  # "none", "starttls" (upgrade on MAIL_PORT) or "ssl" (implicit TLS)
MAIL_USERNAME = ""  # log in to the SMTP server when set
MAIL_PASSWORD = ""
MAIL_SENDER = "charge-portal@localhost"  # the From: address
MAIL_TIMEOUT = 30.0  # seconds for the SMTP conversation
PORTAL_URL = ""  # e.g. https://portal.example.com: links in e-mails; none when empty

# Backups (spec §10): where they go; the time and retention are policies (spec §8)
BACKUP_FOLDER = ""  # empty: instance/backups
BACKUP_PG_DUMP = "pg_dump"  # PostgreSQL client programs (same major as the server)
BACKUP_PG_RESTORE = "pg_restore"

# Built-in FTP server (spec §8, §9): diagnostics uploads and firmware images
FTP_ENABLED = False  # start it with the portal (first request; one process binds)
FTP_HOST = "0.0.0.0"  # noqa: S104 - it listens on every address: stations are remote
FTP_PORT = 2121  # 0: an ephemeral port (tests)
FTP_PUBLIC_ADDRESS = ""  # host[:port] stations use; empty: PORTAL_URL's host, FTP_PORT
FTP_PASSIVE_PORTS = ""  # e.g. "60000-60099" for a firewall; empty: any free port
FTP_MASQUERADE_ADDRESS = ""  # the public IP to announce in PASV behind NAT
FTP_MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # a bigger upload is cut off and removed
FTP_FOLDER = ""  # empty: instance/ftp
FTP_PASSWORD_KEY = ""  # derives per-station FTP passwords; empty: from SECRET_KEY

SOCK_SERVER_OPTIONS = {
    # OCPP-J versions served, in the portal's order of preference: a station
    # offering several gets the first of these it offers (README "Connecting").
    "subprotocols": ["ocpp2.0.1", "ocpp1.6"],
    "ping_interval": 60,  # no pong by the next ping closes the connection
    "max_message_size": 256 * 1024,  # a bigger frame closes it (1009)
}


def from_environment() -> dict[str, Any]:
    """Return settings that come from conventional variables (DATABASE_URL)."""
    settings: dict[str, Any] = {}
    url = os.environ.get("DATABASE_URL")
    if url:
        settings["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        settings["REDIS_URL"] = redis_url
        settings["RATELIMIT_STORAGE_URI"] = redis_url
    return settings


def normalise_database_url(url: str) -> str:
    """Make postgres:// and postgresql:// URLs use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
