"""migrations/: the Alembic scripts build exactly the schema the models declare."""

from __future__ import annotations

from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from app.extensions import db
from app.models import Base, MeterValue, Outlet, RfidTag, utcnow


def test_migrations_match_the_models(app):
    # The session's schema came from `flask db upgrade` (tests/conftest.py).
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_newest_sample_time_of_an_outlet_is_filled_in_from_its_stored_samples(
    app, create_site, create_station
):
    """Migration 0007 adds `outlet.newest_sample_at` and fills it in from the
    samples stored before it, so the first MeterValues after the upgrade still
    finds a retry of one of them (charging.record_meter_values)."""
    station = create_station(create_site(), outlets=2)
    first, second = sorted(station.outlets, key=lambda outlet: outlet.number)
    newest = utcnow().replace(microsecond=0)
    db.session.add_all(
        MeterValue(
            outlet_id=first.id,
            sampled_at=newest - timedelta(minutes=minutes),
            measurand="Energy.Active.Import.Register",
            value=float(minutes),
        )
        for minutes in (5, 0, 10)
    )
    db.session.commit()
    ids = first.id, second.id
    db.session.close()

    downgrade(revision="0006_meter_value_outlet_time")
    upgrade()

    found = dict(
        db.session.execute(
            select(Outlet.id, Outlet.newest_sample_at).where(Outlet.id.in_(ids))
        ).all()
    )
    assert found == {ids[0]: newest, ids[1]: None}


def test_existing_decimal_tags_keep_working_after_the_tag_identity_migration(
    app, create_site, create_station, create_user
):
    """Migration 0009 keys every stored tag by its upper-cased text: the decimal
    strings the portal stored before match what decimal stations send, nothing is
    duplicated, and a downgrade keeps the tags."""
    from app.models import Role
    from app.services import charging

    create_user(Role.EV_USER, tag="3054198966")
    create_user(Role.EV_USER, tag="255")
    db.session.commit()
    db.session.close()

    downgrade(revision="0008_ocpp201")
    kept = db.session.execute(text("SELECT tag FROM rfid_tag ORDER BY tag")).all()
    assert [row[0] for row in kept] == ["255", "3054198966"]
    db.session.close()
    upgrade()

    station = create_station(create_site(), "MIG-1")
    assert charging.authorize(station, "3054198966", 1).status.value == "accepted"
    keys = db.session.execute(select(RfidTag.tag, RfidTag.tag_key)).all()
    assert sorted(keys) == [("255", "255"), ("3054198966", "3054198966")]
