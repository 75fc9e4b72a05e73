"""app/services/access.py: scope(stmt, user) for every role (spec §1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Alarm,
    AlarmKind,
    AuditEntry,
    ChargingSession,
    ExternalService,
    Floor,
    Outlet,
    Role,
    Site,
    Station,
    User,
    utcnow,
)
from app.services.access import get_scoped, scope
from app.services.errors import NotFound


@pytest.fixture
def two_sites(app, create_site, create_floor, create_station, create_user):
    """Solna and Kista, each with a floor, a station, a session and an alarm."""
    driver_a = create_user(Role.EV_USER, "a@example.com")
    driver_b = create_user(Role.EV_USER, "b@example.com")
    rows = {}
    for name, driver in (("Solna", driver_a), ("Kista", driver_b)):
        site = create_site(name)
        floor = create_floor(site, "Plan 1")
        station = create_station(site, f"{name.upper()}-1", floor=floor)
        start = utcnow() - timedelta(hours=1)
        db.session.add(
            ChargingSession(
                site_id=site.id,
                station_id=station.id,
                outlet_id=station.outlets[0].id,
                outlet_number=1,
                started_at=start,
                user_id=driver.id,
                authentication=1,
            )
        )
        db.session.add(
            Alarm(
                kind=AlarmKind.TEMPERATURE,
                subject=f"station:{station.id}",
                node_name=station.chargebox_id,
                site_id=site.id,
                station_id=station.id,
            )
        )
        rows[name] = {
            "site": site,
            "floor": floor,
            "station": station,
            "driver": driver,
        }
    db.session.add(ExternalService(provider="Maps"))
    db.session.commit()
    return rows


def _count(model, user):
    return db.session.scalar(
        scope(select(func.count()).select_from(model), user, model)
    )


MONITORED = [Site, Floor, Station, Outlet, ChargingSession, Alarm]


@pytest.mark.parametrize("model", MONITORED)
def test_administrator_sees_everything(two_sites, create_user, model):
    assert _count(model, create_user(Role.ADMIN)) == 2


@pytest.mark.parametrize("model", MONITORED)
def test_site_administrator_sees_only_its_site(two_sites, create_user, model):
    user = create_user(Role.SITE_ADMIN, sites=[two_sites["Solna"]["site"]])
    assert _count(model, user) == 1
    rows = db.session.scalars(scope(select(model), user)).all()
    assert len(rows) == 1


@pytest.mark.parametrize("model", MONITORED)
def test_support_sees_all_stations(two_sites, create_user, model):
    assert _count(model, create_user(Role.SUPPORT)) == 2


def test_support_sees_no_users_services_or_audit(two_sites, create_user):
    support = create_user(Role.SUPPORT)
    assert _count(ExternalService, support) == 0
    assert _count(AuditEntry, support) == 0
    assert db.session.scalars(scope(select(User), support)).all() == [support]


def test_ev_user_sees_only_own_sessions(two_sites):
    driver = two_sites["Solna"]["driver"]
    sessions = db.session.scalars(scope(select(ChargingSession), driver)).all()
    assert [s.user_id for s in sessions] == [driver.id]


@pytest.mark.parametrize(
    "model", [Site, Floor, Station, Outlet, Alarm, ExternalService, AuditEntry]
)
def test_ev_user_sees_no_installation(two_sites, model):
    assert _count(model, two_sites["Solna"]["driver"]) == 0


def test_site_administrator_guessing_another_sites_id_gets_not_found(
    two_sites, create_user
):
    user = create_user(Role.SITE_ADMIN, sites=[two_sites["Solna"]["site"]])
    kista_station = two_sites["Kista"]["station"]
    with pytest.raises(NotFound):
        get_scoped(Station, kista_station.id, user)
    assert (
        get_scoped(Station, two_sites["Solna"]["station"].id, user).chargebox_id
        == "SOLNA-1"
    )


def test_anonymous_and_inactive_users_see_nothing(two_sites, create_user):
    assert _count(Site, None) == 0
    admin = create_user(Role.ADMIN)
    admin.active = False
    assert _count(Site, admin) == 0


def test_a_model_without_a_rule_is_closed_to_non_administrators(two_sites, create_user):
    user = create_user(Role.SITE_ADMIN, sites=[two_sites["Solna"]["site"]])
    assert _count(ExternalService, user) == 0
