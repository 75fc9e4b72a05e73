"""migrations/: the Alembic scripts build exactly the schema the models declare."""

from __future__ import annotations

from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from app.extensions import db
from app.models import Base, MeterValue, Outlet, RfidTag, Station, utcnow


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


def test_the_firmware_library_migration_moves_both_old_stores_into_one(app, client):
    """Migration 0010 moves the Control tab's uploads (instance/firmware/<token>/)
    into the FTP firmware folder, keeping each token so an address already sent
    to a station still works, and records every image of both old stores; a name
    taken in both gets the token's first characters; nothing is lost."""
    from pathlib import Path

    from app.models import FirmwareImage
    from app.services import firmware

    db.session.close()
    downgrade(revision="0009_tag_identity")
    token = "T0ken-of-an-old-upload-0123"
    legacy = Path(app.instance_path) / "firmware" / token
    legacy.mkdir(parents=True)
    (legacy / "fw.bin").write_bytes(b"uploaded on the Control tab")
    library = firmware.library_folder()
    library.mkdir(parents=True, exist_ok=True)
    (library / "fw.bin").write_bytes(b"put on the FTP server")
    (library / "other.bin").write_bytes(b"also on the FTP server")
    try:
        upgrade()
        images = {
            image.name: image for image in db.session.scalars(select(FirmwareImage))
        }
        assert sorted(images) == ["fw-T0ken-of.bin", "fw.bin", "other.bin"]
        moved = images["fw-T0ken-of.bin"]
        assert moved.token == token and moved.size == len(
            b"uploaded on the Control tab"
        )
        assert (library / "fw.bin").read_bytes() == b"put on the FTP server"
        assert not (Path(app.instance_path) / "firmware").exists()
        with client.get(f"/firmware/{token}/fw.bin") as old_address:
            assert old_address.data == b"uploaded on the Control tab"
        db.session.close()
        downgrade(revision="0009_tag_identity")
        assert sorted(p.name for p in library.iterdir()) == sorted(images)
        upgrade()
    finally:
        db.session.execute(FirmwareImage.__table__.delete())
        db.session.commit()
        for path in library.iterdir():
            path.unlink()


def test_outlet_modes_become_access_policies_and_come_back_on_downgrade(
    app, create_site, create_station
):
    """Migration 0011 turns the outlet modes into access policies, one source of
    truth: the system default becomes the default policy (RFID → KNOWN), an outlet
    whose mode differed from it keeps its own (OPEN) policy, the others follow the
    default; a downgrade writes each outlet's effective rule back as its mode."""
    from app.models import AccessRule
    from app.services import access_policies

    station = create_station(create_site(), "MIG-2", outlets=2)
    ids = sorted(outlet.id for outlet in station.outlets)
    station_id = station.id
    db.session.commit()
    db.session.close()

    downgrade(revision="0010_firmware_library")
    db.session.execute(
        text("UPDATE outlet SET mode = 'OPEN' WHERE id = :id"), {"id": ids[1]}
    )
    db.session.commit()
    db.session.close()
    upgrade()

    station = db.session.get(Station, station_id)
    rules = access_policies.station_policies(station)
    assert [(p.rule, p.source.kind.value) for p in rules.values()] == [
        (AccessRule.KNOWN, "system"),
        (AccessRule.OPEN, "outlet"),
    ]
    db.session.close()

    downgrade(revision="0010_firmware_library")
    modes = db.session.execute(
        text("SELECT id, mode FROM outlet WHERE station_id = :s ORDER BY id"),
        {"s": station_id},
    ).all()
    assert [tuple(row) for row in modes] == [(ids[0], "RFID"), (ids[1], "OPEN")]
    db.session.close()
    upgrade()
