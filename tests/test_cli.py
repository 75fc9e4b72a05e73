"""app/cli.py: scripted provisioning; bad input gets a clear message and exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ChargingSession, Floor, RfidTag, Role, Site, Station, User


def _ok(runner, *args: str) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _fails(runner, *args: str) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 1, result.output
    return result.output


def test_create_admin_with_a_password(runner):
    _ok(runner, "users", "create-admin", "Boss@Example.com", "--password", "secret123")
    user = db.session.scalars(select(User)).one()
    assert (user.email, user.role) == ("boss@example.com", Role.ADMIN)


def test_create_admin_refuses_a_weak_password(runner):
    assert "at least 8 characters" in _fails(
        runner, "users", "create-admin", "a@example.com", "--password", "x1"
    )
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_ensure_admin_creates_one_only_once(runner, app):
    output = _ok(runner, "users", "ensure-admin")
    credentials = Path(app.instance_path) / "first-admin.txt"
    assert str(credentials) in output and "password:" in credentials.read_text()
    assert "exists already" in _ok(runner, "users", "ensure-admin")
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_scripted_provisioning(runner):
    _ok(runner, "sites", "add", "Solna")
    _ok(runner, "floors", "add", "Central 1", "--site", "solna")
    _ok(
        runner,
        "stations",
        "add",
        "000003586",
        "--site",
        "Solna",
        "--floor",
        "Central 1",
        "--protocol",
        "ocpp15",
        "--outlets",
        "2",
        "--access",
        "open",
    )
    station = db.session.scalars(select(Station)).one()
    assert station.floor.name == "Central 1" and station.protocol.value == "OCPP15_SOAP"
    from app.services import access_policies

    rules = access_policies.station_policies(station)
    assert [p.rule.value for p in rules.values()] == ["OPEN", "OPEN"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("floors", "add", "Central 1", "--site", "Nowhere"), "No site named Nowhere"),
        (("stations", "add", "X1", "--site", "Nowhere"), "No site named Nowhere"),
        (
            ("stations", "add", "X1", "--site", "Solna", "--floor", "Roof"),
            "has no floor named Roof",
        ),
        (
            ("stations", "add", "X1", "--site", "Solna", "--outlets", "5"),
            "1 to 4 outlets",
        ),
        (("sites", "add", "solna"), "already exists"),
        (
            ("tags", "add", "42", "--user", "nobody@example.com"),
            "No user with the e-mail",
        ),
    ],
)
def test_bad_input_exits_non_zero_with_a_clear_message(runner, args, message):
    _ok(runner, "sites", "add", "Solna")
    assert message in _fails(runner, *args)


def test_duplicate_station_id_is_refused(runner):
    _ok(runner, "sites", "add", "Solna")
    _ok(runner, "stations", "add", "X1", "--site", "Solna")
    assert "already exists" in _fails(
        runner, "stations", "add", "X1", "--site", "Solna"
    )
    assert db.session.scalar(select(func.count(Station.id))) == 1


def test_tags_add_keeps_a_hex_uid_as_given_and_prints_its_decimal(runner, create_user):
    user = create_user(Role.EV_USER, "anna@example.com")
    output = _ok(runner, "tags", "add", "04A1B2C3D4E5F6", "--user", "anna@example.com")
    db.session.refresh(user)
    assert [tag.tag for tag in user.tags] == ["04A1B2C3D4E5F6"]
    assert str(0x04A1B2C3D4E5F6) in output


def test_tags_add_accepts_an_app_token(runner, create_user):
    user = create_user(Role.EV_USER, "anna@example.com")
    _ok(runner, "tags", "add", "APP-7F3K2Q", "--user", "anna@example.com")
    db.session.refresh(user)
    assert [tag.tag for tag in user.tags] == ["APP-7F3K2Q"]


def test_tags_add_refuses_a_tag_longer_than_ocpp_allows(runner, create_user):
    create_user(Role.EV_USER, "anna@example.com")
    message = _fails(runner, "tags", "add", "A" * 21, "--user", "anna@example.com")
    assert "at most 20 characters" in message
    assert db.session.scalar(select(func.count(RfidTag.id))) == 0


def test_demo_load_builds_the_installation_of_the_spec(runner):
    output = _ok(runner, "demo", "load", "--weeks", "1")
    assert "Demo loaded" in output
    solna = db.session.scalars(select(Site).where(Site.name == "Solna")).one()
    assert sorted(floor.name for floor in solna.floors) == ["Central 1", "Central 2"]
    assert db.session.scalar(select(func.count(Station.id))) == 10
    assert db.session.scalar(select(func.count(ChargingSession.id))) > 0
    roles = set(db.session.scalars(select(User.role)))
    assert roles == {Role.SITE_ADMIN, Role.SUPPORT, Role.EV_USER}
    assert db.session.scalar(select(func.count(Floor.id))) == 2


def test_demo_load_if_empty_leaves_data_alone(runner, create_site):
    create_site("Mine")
    assert "not loaded" in _ok(runner, "demo", "load", "--if-empty")
    assert db.session.scalar(select(func.count(Site.id))) == 1


def test_tags_notation_sets_it_for_the_system_a_site_and_a_station(runner):
    from app.models import SystemSettings, TagNotation

    _ok(runner, "sites", "add", "Solna")
    _ok(runner, "stations", "add", "X1", "--site", "Solna")
    _ok(runner, "tags", "notation", "hex")
    _ok(runner, "tags", "notation", "decimal", "--site", "Solna")
    _ok(runner, "tags", "notation", "exact", "--station", "X1")
    db.session.expire_all()
    assert db.session.get(SystemSettings, 1).tag_notation is TagNotation.HEX
    site = db.session.scalars(select(Site)).one()
    station = db.session.scalars(select(Station)).one()
    assert (site.tag_notation, station.tag_notation) == (
        TagNotation.DECIMAL,
        TagNotation.EXACT,
    )
    _ok(runner, "tags", "notation", "inherit", "--station", "X1")
    db.session.expire_all()
    assert db.session.scalars(select(Station)).one().tag_notation is None


def test_tags_import_is_a_dry_run_until_apply_and_export_writes_the_same_format(
    runner, tmp_path
):
    _ok(runner, "users", "create-admin", "boss@example.com", "--password", "secret123")
    file = tmp_path / "tags.csv"
    file.write_text("tag,user,blocked\nAPP-7F3K2Q,boss@example.com,yes\n")
    assert "Dry run (nothing changed): 1 new" in _ok(
        runner, "tags", "import", str(file)
    )
    assert db.session.scalar(select(func.count(RfidTag.id))) == 0
    assert "Imported: 1 new" in _ok(runner, "tags", "import", str(file), "--apply")
    out = tmp_path / "register.csv"
    _ok(runner, "tags", "export", str(out))
    assert out.read_text().splitlines() == [
        "tag,user,parent,expiry,blocked,groups",
        "APP-7F3K2Q,boss@example.com,,,yes,",
    ]


def test_tags_import_with_a_bad_row_names_it_and_imports_nothing(runner, tmp_path):
    file = tmp_path / "tags.csv"
    file.write_text("tag,user\nAPP-1,\nAPP-2,nobody@example.com\n")
    output = _fails(runner, "tags", "import", str(file), "--apply")
    assert "Row 3, column user: No user with the e-mail nobody@example.com." in output
    assert db.session.scalar(select(func.count(RfidTag.id))) == 0
