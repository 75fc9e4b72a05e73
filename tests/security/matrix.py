"""Machinery of the authorization matrix: a world of two sites, a client per role,
requests built from one-line row specs, outcomes read back as short words.

The table itself (what each role must get) is in test_authorization_matrix.py.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import create_app
from app.extensions import db
from app.models import (
    AlarmKind,
    ChargingSession,
    EventKind,
    Role,
    Station,
    User,
)
from app.services import (
    accounts,
    alarms,
    api_access,
    dashboard,
    events,
    firmware,
    ftp_files,
    integrations,
    stations,
    tags,
    topology,
    user_groups,
)
from tests.conftest import PASSWORD

ROLES = ("anonymous", "ev_user", "support", "site_admin", "admin")
SITES = ("A", "B")

# Secrets the world stores; no response of the matrix may contain any of them.
STATION_PASSWORD = "Station-pw-7f3a9c"
SMTP_PASSWORD = "Smtp-pw-c4d8e6"
# The service's bearer and signing secrets are made by the portal (shown once) and
# added here when the world is built.
SECRETS = [STATION_PASSWORD, SMTP_PASSWORD]


@dataclass(frozen=True)
class Row:
    """One line of the table: an endpoint, a request, and what each role gets.

    `request` is "METHOD /path?query [form body]"; `{name}` placeholders are ids
    (or values) of the world's objects. A placeholder of a per-site object makes
    the row run twice, with site A's and site B's object.
    `expect` names the outcome per role in ROLES order; "a/b" gives the outcome
    for site A's object and site B's object when they differ.
    """

    endpoint: str
    request: str
    expect: str

    def outcomes(self) -> dict[str, tuple[str, str]]:
        words = self.expect.split()
        assert len(words) == len(ROLES), f"{self.endpoint}: one outcome per role"
        result = {}
        for role, word in zip(ROLES, words, strict=True):
            a, _sep, b = word.partition("/")
            result[role] = (a, b or a)
        return result


@dataclass
class World:
    """Ids of the objects of site A and site B, and values for other placeholders."""

    per_site: dict[str, dict[str, Any]] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)

    def fill(self, template: str, site: str) -> str:
        values = {**self.shared, **self.per_site[site]}
        return template.format(**values)

    def is_per_site(self, template: str) -> bool:
        names = set(re.findall(r"{(\w+)}", template))
        return bool(names & set(self.per_site["A"]))


def build_app(database: Path, instance: Path) -> Flask:
    """A portal on its own SQLite file (so the matrix can snapshot and restore it)."""
    from flask_migrate import upgrade

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "matrix-secret-key-0123456789abcdef",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "WTF_CSRF_ENABLED": False,
            "INSTANCE_PATH": str(instance),
            "SERVER_NAME": None,
            "OCPP_COMMAND_TIMEOUT": 0.2,
            "OCPP_FETCH_CONFIG_ON_BOOT": False,
            "PORTAL_MAP_TILES": "",
            "MAIL_PASSWORD": SMTP_PASSWORD,
            "SECURITY_LOGIN_LIMIT": "1000 per minute",
        }
    )
    with app.app_context():
        upgrade()
    return app


def build_world(app: Flask) -> tuple[World, dict[str, User]]:
    """Create two sites with everything under them, a user per role, and secrets."""
    world = World()
    with app.app_context():
        users = {
            "ev_user": _user(Role.EV_USER, "ev@example.com", tag="1001"),
            "support": _user(Role.SUPPORT, "support@example.com"),
            "admin": _user(Role.ADMIN, "admin@example.com"),
        }
        db.session.commit()
        t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        for site_key, name in (("A", "Solna"), ("B", "Kista")):
            site = topology.create_site(None, name)
            floor = topology.create_floor(None, site, f"Plan {site_key}")
            station = topology.create_station(
                None,
                topology.StationInput(chargebox_id=f"CB-{site_key}", outlets=1),
                site=site,
                floor=floor,
            )
            db.session.flush()
            outlet = station.outlets[0]
            session = ChargingSession(
                site_id=site.id,
                station_id=station.id,
                outlet_id=outlet.id,
                outlet_number=outlet.number,
                started_at=t0,
                ended_at=t0 + timedelta(hours=1),
                logged_at=t0 + timedelta(hours=1),
                meter_start_kwh=0.0,
                meter_kwh=5.0,
                energy_kwh=5.0,
                # Site A's session is the EV user's own (my charging shows only it).
                user_id=users["ev_user"].id if site_key == "A" else None,
            )
            db.session.add(session)
            active = alarms.raise_alarm(AlarmKind.NO_NETWORK, station=station)
            old = alarms.raise_alarm(
                AlarmKind.GROUND_FAILURE, outlet=outlet, station=station
            )
            db.session.flush()
            alarms.resolve_alarms(outlet=outlet, station=station)
            event = events.record_event(EventKind.STATUS, "test event", station=station)
            group = user_groups.create_group(None, f"Tenants {site_key}", site)
            db.session.flush()
            world.per_site[site_key] = {
                "site": site.id,
                "floor": floor.id,
                "station": station.id,
                "outlet": outlet.id,
                "session": session.id,
                "alarm": active.id,
                "old_alarm": old.id,
                "event": event.id,
                "group": group.id,
            }
            db.session.commit()
        site_a = db.session.get(Station, world.per_site["A"]["station"])
        assert site_a is not None
        users["site_admin"] = _user(
            Role.SITE_ADMIN, "siteadmin@example.com", sites=[site_a.site]
        )
        stations.set_station_password(users["admin"], site_a, STATION_PASSWORD)
        service = integrations.create_service(
            users["admin"],
            integrations.ServiceInput(
                provider="ChargeApp",
                url="https://example.com/hook",
            ),
        )
        made = api_access.rotate_service_secret(users["admin"], service)
        SECRETS.extend([made.secret, made.signing_secret])
        news = dashboard.create_news(users["admin"], "Hello", "News body")
        # A tag of nobody: outside a site administrator's tag register.
        loose_tag = tags.new_tag("9009")
        db.session.add(loose_tag)
        system_group = user_groups.create_group(None, "Fleet cars")
        image = firmware.add(users["admin"], "fw.bin", b"firmware")
        settings = ftp_files.ftp_settings()
        for chargebox_id in ("CB-A", "CB-B"):  # a diagnostics upload per station
            folder = ftp_files.station_folder(settings, chargebox_id)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "diag.txt").write_text(f"diagnostics of {chargebox_id}")
        db.session.commit()
        from app.models import AuditEntry

        audit = db.session.scalars(db.select(AuditEntry.id)).first()
        world.shared = {
            "user": users["ev_user"].id,
            "service": service.id,
            "fw": image.id,
            "news": news.id,
            "system_group": system_group.id,
            "tag": users["ev_user"].tags[0].id,
            "loose_tag": loose_tag.id,
            "audit": audit,
            "fw_token": image.token,
            "fw_name": image.name,
        }
        for user in users.values():
            db.session.refresh(user)
        db.session.expunge_all()
    return world, users


def _user(
    role: Role, email: str, *, sites: list[Any] | None = None, tag: str | None = None
) -> User:
    user = accounts.create_user(
        None,
        accounts.UserInput(
            email=email,
            password=PASSWORD,
            first_name="Matrix",
            last_name=role.value,
            role=role,
            site_ids=tuple(site.id for site in sites or []),
            tag=tag,
        ),
    )
    db.session.flush()
    return user


def clients(app: Flask, users: dict[str, User]) -> dict[str, FlaskClient]:
    """A test client per role, logged in through the real login form."""
    result = {"anonymous": app.test_client()}
    for role, user in users.items():
        client = app.test_client()
        response = client.post(
            "/login", data={"email": user.email, "password": PASSWORD}
        )
        assert response.status_code == 302, response.text
        result[role] = client
    return result


class Snapshot:
    """The SQLite file as built, restored after any request that may have written."""

    def __init__(self, app: Flask, database: Path) -> None:
        self.app, self.database = app, database
        self._copy = sqlite3.connect(":memory:")
        with app.app_context():
            db.engine.dispose()
        source = sqlite3.connect(database)
        source.backup(self._copy)
        source.close()

    def restore(self) -> None:
        with self.app.app_context():
            db.engine.dispose()
        target = sqlite3.connect(self.database)
        self._copy.backup(target)
        target.close()


def send(client: FlaskClient, request: str) -> TestResponse:
    """Send "METHOD /path?query [form body]" and return the response."""
    method, _sep, rest = request.partition(" ")
    path, _sep, body = rest.partition(" ")
    data = dict(parse_qsl(body, keep_blank_values=True)) if body else None
    return client.open(path, method=method, data=data)


def outcome(response: TestResponse) -> str:
    """Name the outcome: "login" for a redirect to the login page, else the status."""
    if response.status_code in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        if re.match(r"^(https?://[^/]+)?/login\b", location):
            return "login"
    return str(response.status_code)


def requests_of(row: Row, world: World) -> Iterator[tuple[str, str]]:
    """Yield (site, concrete request) for a row: both sites when it uses their ids."""
    sites = SITES if world.is_per_site(row.request) else ("A",)
    for site in sites:
        yield site, world.fill(row.request, site)
