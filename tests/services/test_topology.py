"""app/services/topology.py: the rules of spec §3, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, ChargingSession, Floor, Role, Site, Station, utcnow
from app.services import topology
from app.services.errors import Conflict, InvalidInput, PermissionDenied


def test_a_floor_needs_a_site(app):
    with pytest.raises(InvalidInput, match="A floor needs a site"):
        topology.create_floor(None, None, "Central 1")
    assert db.session.scalar(select(func.count(Floor.id))) == 0


def test_deleting_a_site_with_floors_is_refused_and_nothing_is_deleted(
    app, create_site, create_floor, create_user
):
    admin = create_user(Role.ADMIN)
    site = create_site("Solna")
    create_floor(site, "Central 1")
    with pytest.raises(Conflict, match="has floors"):
        topology.delete_site(admin, site)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Site.id))) == 1
    assert db.session.scalar(select(func.count(Floor.id))) == 1


def test_deleting_a_floor_with_stations_is_refused(
    app, create_site, create_floor, create_station, create_user
):
    admin = create_user(Role.ADMIN)
    site = create_site()
    floor = create_floor(site)
    create_station(site, floor=floor)
    with pytest.raises(Conflict, match="has stations"):
        topology.delete_floor(admin, floor)


def test_deleting_a_station_with_outlets_is_refused(
    app, create_site, create_station, create_user
):
    admin = create_user(Role.ADMIN)
    station = create_station(create_site())
    with pytest.raises(Conflict, match="has outlets"):
        topology.delete_station(admin, station)


def test_empty_nodes_are_removed_bottom_up(
    app, create_site, create_floor, create_station, create_user
):
    admin = create_user(Role.ADMIN)
    site = create_site()
    floor = create_floor(site)
    station = create_station(site, floor=floor, outlets=2)
    for outlet in list(station.outlets):
        topology.delete_outlet(admin, outlet)
    topology.delete_station(admin, station)
    topology.delete_floor(admin, floor)
    topology.delete_site(admin, site)
    db.session.commit()
    assert db.session.scalar(select(func.count(Site.id))) == 0


def test_a_station_needs_a_site_or_floor(app):
    with pytest.raises(InvalidInput, match="needs a site or a floor"):
        topology.create_station(None, topology.StationInput("X1"), site=None)


def test_a_station_on_a_floor_belongs_to_the_floors_site(
    app, create_site, create_floor
):
    site = create_site()
    floor = create_floor(site)
    station = topology.create_station(
        None, topology.StationInput("X1"), site=None, floor=floor
    )
    assert station.site is site


def test_chargebox_ids_are_unique(app, create_site, create_station):
    site = create_site()
    create_station(site, "000003586")
    with pytest.raises(Conflict, match="already exists"):
        create_station(site, "000003586")


@pytest.mark.parametrize("bad", ["", "a/b", "with space", "x" * 49, "a%2F"])
def test_chargebox_ids_must_fit_in_a_url(app, create_site, bad):
    with pytest.raises(InvalidInput):
        topology.create_station(None, topology.StationInput(bad), site=create_site())


@pytest.mark.parametrize("outlets", [0, 5])
def test_a_station_has_one_to_four_outlets(app, create_site, outlets):
    with pytest.raises(InvalidInput, match="1 to 4 outlets"):
        topology.create_station(
            None, topology.StationInput("X1", outlets=outlets), site=create_site()
        )


def test_outlets_are_numbered_one_to_four(
    app, create_site, create_station, create_user
):
    admin = create_user(Role.ADMIN)
    station = create_station(create_site(), outlets=3)
    assert [outlet.number for outlet in station.outlets] == [1, 2, 3]
    assert topology.create_outlet(admin, station).number == 4
    with pytest.raises(Conflict, match="already has 4 outlets"):
        topology.create_outlet(admin, station)


def test_outlet_numbers_are_unique_per_station(
    app, create_site, create_station, create_user
):
    admin = create_user(Role.ADMIN)
    station = create_station(create_site(), outlets=1)
    with pytest.raises(Conflict, match="already has outlet 1"):
        topology.create_outlet(admin, station, number=1)


def test_moving_a_station_keeps_past_sessions_at_their_site(
    app, create_site, create_station, create_user
):
    admin = create_user(Role.ADMIN)
    solna, kista = create_site("Solna"), create_site("Kista")
    station = create_station(solna)
    start = utcnow() - timedelta(hours=2)
    db.session.add(
        ChargingSession(
            site_id=solna.id,
            station_id=station.id,
            outlet_id=station.outlets[0].id,
            outlet_number=1,
            started_at=start,
            ended_at=start + timedelta(hours=1),
        )
    )
    topology.move_station(admin, station, site=kista)
    db.session.commit()
    assert station.site is kista
    past = db.session.scalars(select(ChargingSession)).one()
    assert past.site_id == solna.id


def test_moving_to_a_floor_of_another_site_is_refused(
    app, create_site, create_floor, create_station, create_user
):
    admin = create_user(Role.ADMIN)
    solna, kista = create_site("Solna"), create_site("Kista")
    station = create_station(solna)
    with pytest.raises(InvalidInput, match="not in that site"):
        topology.move_station(admin, station, site=solna, floor=create_floor(kista))


def test_site_administrator_cannot_touch_another_site(
    app, create_site, create_station, create_user
):
    solna, kista = create_site("Solna"), create_site("Kista")
    site_admin = create_user(Role.SITE_ADMIN, sites=[solna])
    with pytest.raises(PermissionDenied):
        topology.create_floor(site_admin, kista, "Plan 1")
    with pytest.raises(PermissionDenied):
        topology.move_station(site_admin, create_station(solna), site=kista)


def test_site_administrator_configures_its_own_site(app, create_site, create_user):
    solna = create_site("Solna")
    site_admin = create_user(Role.SITE_ADMIN, sites=[solna])
    floor = topology.create_floor(site_admin, solna, "Plan 1")
    station = topology.create_station(
        site_admin, topology.StationInput("S1"), site=solna, floor=floor
    )
    assert station.floor is floor


def test_only_administrators_create_sites(app, create_user):
    with pytest.raises(PermissionDenied):
        topology.create_site(create_user(Role.SUPPORT), "Nowhere")


def test_every_change_is_audited_with_old_and_new(app, create_site, create_user):
    admin = create_user(Role.ADMIN)
    site = create_site("Solna")
    topology.update_site(admin, site, name="Solna C", city="Solna")
    db.session.commit()
    entry = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity == "Site", AuditEntry.action == "update"
        )
    ).one()
    assert entry.actor == admin.email
    assert entry.changes == {"city": ["", "Solna"], "name": ["Solna", "Solna C"]}
    assert entry.site_id == site.id


def test_station_password_hash_never_reaches_the_audit_log(
    app, create_site, create_station, create_user
):
    admin = create_user(Role.ADMIN)
    station = create_station(create_site())
    topology.update_station(admin, station, auth_password_hash="scrypt:secret-hash")
    db.session.commit()
    entry = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity == "Station", AuditEntry.action == "update"
        )
    ).first()
    assert entry is None or "secret-hash" not in str(entry.changes)


def test_new_outlets_follow_the_system_default_access_policy(app, create_site):
    from app.models import AccessRule
    from app.services import access_policies

    settings = topology.get_settings()
    settings.default_access = AccessRule.OPEN
    station = topology.create_station(
        None, topology.StationInput("S9"), site=create_site()
    )
    assert access_policies.node_policy(station.outlets[0]).rule is AccessRule.OPEN
    assert db.session.scalar(select(func.count(Station.id))) == 1
