"""Fixtures: the app on a real database, clients per role, factories, a live server."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.serving import BaseWSGIServer, make_server

from app import create_app
from app.config import normalise_database_url
from app.extensions import db, limiter
from app.models import AccessRule, Base, Floor, Protocol, Role, Site, Station, User
from app.services import accounts, background, topology

PASSWORD = "secret123"

# Under pytest-xdist (`make test` runs two workers) the tests of one group run on one
# worker: the browser tests share one Chromium, the scale tests their gunicorn
# instances and their session-wide PostgreSQL schema.
XDIST_GROUPS = {"e2e": "browser", "scale": "scale"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.relative_to(Path(__file__).parent).parts
        group = XDIST_GROUPS.get(parts[0]) if len(parts) > 1 else None
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """PostgreSQL when DATABASE_URL says so (CI's second run), else a SQLite file."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return normalise_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.db'}"


@pytest.fixture(scope="session")
def engine_options(database_url: str) -> Iterator[dict[str, Any]]:
    """On PostgreSQL each test run gets a schema of its own, dropped at the end, so
    runs sharing one database (two terminals, CI) never see each other's rows."""
    if not database_url.startswith("postgresql"):
        yield {}
        return
    schema = f"test_run_{os.getpid()}"
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield {"connect_args": {"options": f"-csearch_path={schema}"}}
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def _schema(
    database_url: str,
    engine_options: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Create the schema once per run through the real Alembic migrations."""
    from flask_migrate import upgrade

    config = _test_config(
        database_url, tmp_path_factory.mktemp("instance"), engine_options
    )
    app = create_app(config)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _test_config(
    database_url: str, instance: Path, engine_options: dict[str, Any]
) -> dict[str, Any]:
    return {
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-0123456789abcdef",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "INSTANCE_PATH": str(instance),
        "SERVER_NAME": None,
        "LOCAL_LIST_DELAY": 0.2,  # the coalescing wait of local list updates
    }


def _empty_tables() -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        quoted = ", ".join(f'"{name}"' for name in tables)
        db.session.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    else:
        for name in tables:
            db.session.execute(text(f'DELETE FROM "{name}"'))
    db.session.commit()


@pytest.fixture
def app_config(
    database_url: str, engine_options: dict[str, Any], tmp_path: Path
) -> dict[str, Any]:
    """The test configuration; a test may change it before asking for `app`."""
    return _test_config(database_url, tmp_path, engine_options)


@pytest.fixture
def app(_schema: None, app_config: dict[str, Any]) -> Iterator[Flask]:
    """A portal on the test database, emptied before each test."""
    application = create_app(app_config)

    @application.before_request
    def _fresh_globals_per_request() -> None:
        # The test holds one app context across requests, so `g` (where Flask-Login
        # caches the user and Flask-Babel the locale) would outlive a request; in
        # production each request has its own app context.
        g.pop("_login_user", None)
        g.pop("_flask_babel", None)

    # Background work an earlier test started (load management, after a commit) must
    # not hold a transaction while this test empties the tables: on PostgreSQL the
    # TRUNCATE would wait for it, and it for the TRUNCATE's queue.
    with contextlib.suppress(TimeoutError):
        background.wait_idle()
    with application.app_context():
        _empty_tables()
        limiter.reset()  # rate-limit counters live in process memory across tests
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


# Factories: each returns a callable that creates and commits one record.


@pytest.fixture
def create_site(app: Flask) -> Callable[..., Site]:
    def make(name: str = "Solna", **address: Any) -> Site:
        site = topology.create_site(None, name, **address)
        db.session.commit()
        return site

    return make


@pytest.fixture
def create_floor(app: Flask) -> Callable[..., Floor]:
    def make(site: Site, name: str = "Central 1") -> Floor:
        floor = topology.create_floor(None, site, name)
        db.session.commit()
        return floor

    return make


@pytest.fixture
def create_station(app: Flask) -> Callable[..., Station]:
    def make(
        site: Site,
        chargebox_id: str = "000003586",
        *,
        floor: Floor | None = None,
        outlets: int = 1,
        access: AccessRule | None = None,
        protocol: Protocol = Protocol.OCPP16_JSON,
    ) -> Station:
        """A station; `access` sets its own access policy (None: inherited)."""
        data = topology.StationInput(
            chargebox_id=chargebox_id, outlets=outlets, access=access, protocol=protocol
        )
        station = topology.create_station(None, data, site=site, floor=floor)
        db.session.commit()
        return station

    return make


@pytest.fixture
def create_user(app: Flask) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(
        role: Role = Role.EV_USER,
        email: str | None = None,
        *,
        sites: list[Site] | None = None,
        tag: str | None = None,
        email_at_alarm: bool = False,
    ) -> User:
        data = accounts.UserInput(
            email=email or f"{role.value}{next(counter)}@example.com",
            password=PASSWORD,
            first_name="Test",
            last_name=role.value,
            role=role,
            site_ids=tuple(site.id for site in sites or []),
            tag=tag,
            email_at_alarm=email_at_alarm,
        )
        user = accounts.create_user(None, data)
        db.session.commit()
        return user

    return make


def log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> FlaskClient:
    """Log a test client in through the real login form."""
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.text
    return client


@pytest.fixture
def login_as(
    app: Flask, create_user: Callable[..., User], create_site: Callable[..., Site]
) -> Callable[..., FlaskClient]:
    """Return a client logged in with a new user of the role (site admins get a site)."""

    def make(role: Role, *, sites: list[Site] | None = None) -> FlaskClient:
        if role is Role.SITE_ADMIN and sites is None:
            sites = [create_site("Home site")]
        user = create_user(role, sites=sites)
        client = app.test_client()
        client.user = user  # type: ignore[attr-defined]
        return log_in(client, user.email)

    return make


def _closing_at_once(app: Flask) -> Callable[..., Iterable[bytes]]:
    """Serve *app* with each response body read out and closed before it is sent.

    werkzeug's development server skips the body's ``close()`` when the browser drops
    the connection mid-response (a page navigated away while a font loaded), leaving
    the static file open until the garbage collector warns about it in some later
    test. Reading the body first closes it on every path. Test server only.
    """

    def serve(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return serve


class LiveServer:
    """The portal served by a real threaded WSGI server on an ephemeral port."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, _closing_at_once(app), threaded=True
        )
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(app).start()
    yield server
    server.stop()


def csrf_token(html: str) -> str:
    """Return the CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no csrf_token on the page"
    return match.group(1)


class SmtpInbox:
    """A real SMTP server (aiosmtpd) on an ephemeral port that keeps what it gets."""

    def __init__(self) -> None:
        import socket

        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        self.refuse = False  # answer 451 to every message (an SMTP outage)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 Try again later"
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(message)
        return "250 OK"

    def recipients(self) -> list[str]:
        return [str(message["To"]) for message in self.messages]

    def start(self) -> SmtpInbox:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpInbox]:
    """A real local SMTP server; point MAIL_HOST/MAIL_PORT at it."""
    inbox = SmtpInbox().start()
    yield inbox
    inbox.stop()
