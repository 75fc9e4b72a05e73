"""app/services/tag_import.py: bulk import and export of tags, dry run, all or nothing (#19 item 6)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, RfidTag, Role, UserGroup
from app.services import accounts, signals, tag_export, tag_files, tag_import
from app.services.errors import InvalidInput, PermissionDenied
from tests.services.session_factory import T0, add_session

HEADER = "tag,user e-mail,parent,expiry,blocked,groups\n"


def _csv(body: str, header: str = HEADER) -> tag_files.TagFile:
    return tag_files.read("tags.csv", (header + body).encode())


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _register() -> dict[str, RfidTag]:
    return {tag.tag: tag for tag in db.session.scalars(select(RfidTag))}


def _errors(data: tag_files.TagFile) -> list[str]:
    return [str(error) for error in tag_import.plan(None, data).errors]


@pytest.fixture
def anna(create_user):
    return create_user(Role.EV_USER, "anna@example.com")


@pytest.fixture
def fleet(app):
    group = UserGroup(name="Fleet cars")
    db.session.add(group)
    db.session.commit()
    return group


def test_a_csv_file_registers_its_tags_with_user_parent_expiry_blocked_and_groups(
    anna, fleet
):
    data = _csv(
        "04A1B2C3D4E5F6,Anna@Example.com,,2027-12-31 23:59,no,Fleet cars\n"
        "APP-7F3K2Q,,04a1b2c3d4e5f6,,yes,\n"
    )
    tag_import.apply(None, data)
    db.session.commit()
    found = _register()
    card, app_token = found["04A1B2C3D4E5F6"], found["APP-7F3K2Q"]
    assert card.user == anna
    assert card.expires_at == datetime(2027, 12, 31, 23, 59, tzinfo=UTC)
    assert [group.name for group in card.groups] == ["Fleet cars"]
    assert (app_token.parent, app_token.blocked, app_token.user) == (card, True, None)


def test_an_xlsx_file_imports_like_a_csv(anna):
    data = tag_files.read(
        "tags.xlsx",
        _xlsx(
            [
                ["Tag", "E-mail", "Expiry"],
                [3054198966, "anna@example.com", datetime(2027, 1, 31)],
            ]
        ),
    )
    tag_import.apply(None, data)
    db.session.commit()
    tag = _register()["3054198966"]
    assert (tag.user, tag.expires_at) == (anna, datetime(2027, 1, 31, tzinfo=UTC))


def test_a_semicolon_separated_csv_as_excel_writes_it_is_read(anna):
    data = tag_files.read(
        "tags.csv", "Tag;User\r\nAPP-1;anna@example.com\r\n".encode("cp1252")
    )
    tag_import.apply(None, data)
    assert _register()["APP-1"].user == anna


def test_the_dry_run_lists_new_changed_and_unchanged_rows_and_changes_nothing(anna):
    accounts.add_tag(None, anna, "KEEP-1")
    accounts.add_tag(None, anna, "BLOCK-ME")
    db.session.commit()
    data = _csv(
        "keep-1,anna@example.com,,,no,\nBLOCK-ME,anna@example.com,,,yes,\nNEW-1,,,,,\n"
    )
    result = tag_import.plan(None, data)
    assert [(row.row, row.tag, row.action) for row in result.rows] == [
        (2, "KEEP-1", "unchanged"),
        (3, "BLOCK-ME", "changed"),
        (4, "NEW-1", "new"),
    ]
    assert result.rows[1].changes == {"blocked": ["no", "yes"]}
    db.session.commit()
    assert sorted(_register()) == ["BLOCK-ME", "KEEP-1"]
    assert _register()["BLOCK-ME"].blocked is False


def test_a_file_with_one_bad_row_changes_nothing_and_names_the_row(anna):
    accounts.add_tag(None, anna, "OLD-1")
    db.session.commit()
    data = _csv("OLD-1,,,,yes,\nNEW-1,,,,,\nNEW-2,nobody@example.com,,,,\n")
    with pytest.raises(tag_import.ImportRefused) as refused:
        tag_import.apply(None, data)
    db.session.commit()
    assert [str(e) for e in refused.value.plan.errors] == [
        "Row 4, column user: No user with the e-mail nobody@example.com."
    ]
    assert sorted(_register()) == ["OLD-1"]
    assert _register()["OLD-1"].blocked is False


def test_a_column_left_out_keeps_the_registered_value(anna):
    accounts.add_tag(None, anna, "OLD-1")
    db.session.commit()
    tag_import.apply(None, _csv("old-1,yes\n", header="tag,blocked\n"))
    db.session.commit()
    tag = _register()["OLD-1"]
    assert (tag.blocked, tag.user) == (True, anna)


def test_an_empty_cell_of_a_column_clears_the_value(anna):
    accounts.add_tag(None, anna, "OLD-1")
    db.session.commit()
    result = tag_import.apply(None, _csv("OLD-1,\n", header="tag,user\n"))
    db.session.commit()
    assert result.rows[0].changes == {"user": ["anna@example.com", None]}
    assert _register()["OLD-1"].user is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("A" * 21 + ",,,,,\n", "Row 2, column tag: A tag has at most 20 characters"),
        ("AB\x01CD,,,,,\n", "Row 2, column tag: A tag holds printable characters only"),
        (
            ",anna@example.com,,,,\n",
            "Row 2, column tag: A tag needs at least one character",
        ),
        ("T-1,,,,,\nt-1,,,,,\n", "Row 3, column tag: The tag t-1 is already in row 2"),
        (
            "T-1,ghost@example.com,,,,\n",
            "Row 2, column user: No user with the e-mail ghost@",
        ),
        (
            "T-1,,NOPE,,,\n",
            "Row 2, column parent: The parent NOPE is neither in the file",
        ),
        ("T-1,,t-1,,,\n", "Row 2, column parent: A tag cannot be its own parent"),
        (
            "T-1,,T-2,,,\nT-2,,T-1,,,\n",
            "Row 2, column parent: The parents form a circle",
        ),
        ("T-1,,,31/12/2027,,\n", "Row 2, column expiry: 31/12/2027 is not a date"),
        ("T-1,,,,maybe,\n", "Row 2, column blocked: maybe is not yes or no"),
        (
            "T-1,,,,,Nobody's group\n",
            "Row 2, column groups: No group named Nobody's group",
        ),
    ],
)
def test_each_bad_row_gets_its_row_column_and_reason(anna, body, message):
    errors = _errors(_csv(body))
    assert errors[0].startswith(message)
    assert len(errors) == (2 if "circle" in message else 1)  # both rows of a circle


def test_a_parent_later_in_the_file_or_in_the_register_is_found(anna):
    accounts.add_tag(None, anna, "REGISTERED")
    db.session.commit()
    data = _csv("CHILD-1,,PARENT-1,,,\nPARENT-1,,,,,\nCHILD-2,,registered,,,\n")
    tag_import.apply(None, data)
    found = _register()
    assert found["CHILD-1"].parent == found["PARENT-1"]
    assert found["CHILD-2"].parent == found["REGISTERED"]


def test_times_without_an_offset_are_in_the_given_time_zone(anna):
    data = _csv("T-1,,,2027-06-01 12:00,,\n")
    tag_import.apply(None, data, zone=ZoneInfo("Europe/Stockholm"))
    assert _register()["T-1"].expires_at == datetime(2027, 6, 1, 10, 0, tzinfo=UTC)


def test_an_exported_register_imports_back_unchanged_as_csv_and_xlsx(anna, fleet):
    tag_import.apply(
        None,
        _csv(
            "04A1B2C3D4E5F6,anna@example.com,,2027-12-31 23:59:59,no,Fleet cars\n"
            "APP-7F3K2Q,,04A1B2C3D4E5F6,,yes,\n"
        ),
    )
    db.session.commit()
    for kind in ("csv", "xlsx"):
        zone = ZoneInfo("Europe/Stockholm")
        content = b"".join(
            tag_export.export_file(kind, tag_export.scoped_ids(None), zone=zone)
        )
        result = tag_import.plan(
            None, tag_files.read(f"tags.{kind}", content), zone=zone
        )
        assert result.ok, result.errors
        assert [(row.tag, row.action) for row in result.rows] == [
            ("04A1B2C3D4E5F6", "unchanged"),
            ("APP-7F3K2Q", "unchanged"),
        ]


def test_an_import_is_audited_per_tag(anna):
    admin = accounts.create_user(
        None,
        accounts.UserInput(
            email="boss@example.com",
            password="secret123",
            first_name="B",
            last_name="A",
            role=Role.ADMIN,
        ),
    )
    tag_import.apply(admin, _csv("T-1,anna@example.com,,,,\n"))
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "RfidTag")
    ).one()
    assert (entry.actor, entry.action, entry.label) == (
        "boss@example.com",
        "create",
        "T-1",
    )
    assert entry.changes["user"] == [None, "anna@example.com"]


def test_only_administrators_import(create_user, create_site):
    site_admin = create_user(Role.SITE_ADMIN, sites=[create_site()])
    with pytest.raises(PermissionDenied):
        tag_import.plan(site_admin, _csv("T-1,,,,,\n"))
    with pytest.raises(PermissionDenied):
        tag_import.apply(site_admin, _csv("T-1,,,,,\n"))
    assert db.session.scalar(select(func.count(RfidTag.id))) == 0


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("tags.txt", b"tag\nA\n", "a .csv or an .xlsx file"),
        ("tags.xlsx", b"not a zip", "not an Excel workbook"),
        ("tags.csv", b"", "The file is empty"),
        ("tags.csv", b"colour\nred\n", "Unknown column colour"),
        ("tags.csv", b"user\nanna@example.com\n", "no column tag"),
        ("tags.csv", b"tag," + b"x" * tag_files.MAX_BYTES, "too big"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_the_reason(name, content, reason):
    with pytest.raises(InvalidInput, match=reason):
        tag_files.read(name, content)


def test_a_site_administrator_exports_the_tags_of_his_sites_only(
    create_user, create_site, create_station
):
    home, other = create_site("Solna"), create_site("Kista")
    site_admin = create_user(Role.SITE_ADMIN, sites=[home])
    support = create_user(Role.SUPPORT)
    charger = create_user(Role.EV_USER, "charger@example.com", tag="HOME-1")
    create_user(Role.EV_USER, "elsewhere@example.com", tag="AWAY-1")
    add_session(create_station(home, "CB-1"), T0, user=charger)
    add_session(create_station(other, "CB-2"), T0)
    db.session.add(UserGroup(name="Tenants house 3", site=home))
    tag_import.apply(None, _csv("GROUPED-1,,,,,Tenants house 3\n"))
    db.session.commit()

    def exported(actor):
        return [row[0] for row in tag_export.export_rows(tag_export.scoped_ids(actor))]

    assert exported(site_admin) == ["GROUPED-1", "HOME-1"]
    assert exported(support) == ["AWAY-1", "GROUPED-1", "HOME-1"]


def test_an_import_that_changes_tags_brings_the_local_lists_up_to_date(anna):
    tag_import.apply(None, _csv("T-1,,,,,\n"))
    assert signals.queued(db.session(), signals.tags_changed)
