"""Provisioning → RFID tags: the register, its import (dry run, confirm) and export (#19)."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from app.extensions import db
from app.models import RfidTag, Role
from app.services import accounts, tag_files

FILE = b"tag,user,blocked\n04A1B2C3D4E5F6,anna@example.com,no\nAPP-7F3K2Q,,yes\n"


def _upload(client, content: bytes, name: str = "tags.csv"):
    return client.post(
        "/admin/tags/import/",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def _count() -> int:
    return db.session.scalar(select(func.count(RfidTag.id))) or 0


def test_the_register_lists_tags_with_their_other_notation_user_and_groups(
    login_as, create_user
):
    create_user(Role.EV_USER, "anna@example.com", tag="04A1B2C3D4E5F6")
    page = login_as(Role.ADMIN).get("/admin/tags/").get_data(as_text=True)
    assert "04A1B2C3D4E5F6" in page
    assert f"decimal {0x04A1B2C3D4E5F6}" in page
    assert "anna@example.com" in page


def test_the_register_is_searched_by_tag_or_e_mail(login_as, create_user):
    create_user(Role.EV_USER, "anna@example.com", tag="ANNA-1")
    create_user(Role.EV_USER, "bert@example.com", tag="BERT-1")
    page = login_as(Role.ADMIN).get("/admin/tags/?search=bert").get_data(as_text=True)
    assert "BERT-1" in page
    assert "ANNA-1" not in page


def test_the_dry_run_shows_what_would_change_and_writes_nothing(login_as, create_user):
    create_user(Role.EV_USER, "anna@example.com")
    response = _upload(login_as(Role.ADMIN), FILE)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 new, 0 changed, 0 unchanged" in page
    assert 'id="import-confirm-form"' in page
    assert _count() == 0


def test_confirming_the_dry_run_imports_the_file(login_as, create_user):
    create_user(Role.EV_USER, "anna@example.com")
    client = login_as(Role.ADMIN)
    page = _upload(client, FILE).get_data(as_text=True)
    token = page.split('name="token" value="')[1].split('"')[0]
    response = client.post("/admin/tags/import/confirm", data={"token": token})
    assert response.status_code == 302
    assert _count() == 2
    assert "Imported: 2 new" in client.get("/admin/tags/").get_data(as_text=True)
    again = client.post("/admin/tags/import/confirm", data={"token": token})
    assert again.status_code == 404  # a dry run is confirmed once


def test_a_file_with_a_bad_row_lists_it_and_offers_no_import(login_as):
    page = _upload(login_as(Role.ADMIN), FILE).get_data(as_text=True)
    assert "Row 2, column user: No user with the e-mail anna@example.com." in page
    assert 'id="import-confirm-form"' not in page


def test_an_unreadable_upload_is_refused_with_the_reason_on_the_form(
    login_as, monkeypatch
):
    # A smaller limit than the 10 MB: werkzeug's test client spools bigger bodies
    # to a temporary file it never closes.
    monkeypatch.setattr(tag_files, "MAX_BYTES", 100 * 1024)
    client = login_as(Role.ADMIN)
    wrong_type = _upload(client, b"tag\nA\n", "tags.pdf")
    assert wrong_type.status_code == 400
    assert "a .csv or an .xlsx file" in wrong_type.get_data(as_text=True)
    broken = _upload(client, b"PK not really", "tags.xlsx")
    assert "not an Excel workbook" in broken.get_data(as_text=True)
    too_big = _upload(client, b"tag\n" + b"A" * (100 * 1024 + 10))
    assert "too big" in too_big.get_data(as_text=True)


def test_the_export_is_the_import_format(login_as, create_user):
    user = create_user(Role.EV_USER, "anna@example.com", tag="ANNA-1")
    accounts.add_tag(None, user, "ANNA-2", parent="ANNA-1")
    db.session.commit()
    body = login_as(Role.ADMIN).get("/admin/tags/export/csv/").get_data(as_text=True)
    assert body.splitlines() == [
        "tag,user,parent,expiry,blocked,groups",
        "ANNA-1,anna@example.com,,,no,",
        "ANNA-2,anna@example.com,ANNA-1,,no,",
    ]


def test_a_site_administrator_reads_the_register_but_does_not_import(login_as):
    client = login_as(Role.SITE_ADMIN)
    assert client.get("/admin/tags/").status_code == 200
    assert "tag-import-link" not in client.get("/admin/tags/").get_data(as_text=True)
    assert _upload(client, FILE).status_code == 403


def test_the_xlsx_export_imports_back_unchanged(login_as, create_user):
    create_user(Role.EV_USER, "anna@example.com", tag="ANNA-1")
    client = login_as(Role.ADMIN)
    workbook = client.get("/admin/tags/export/xlsx/").get_data()
    page = _upload(client, workbook, "tags.xlsx").get_data(as_text=True)
    assert "0 new, 0 changed, 1 unchanged" in page
