"""admin_views/users.py: Provisioning → Users and the audit log (spec §2)."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, Role, User

NEW_USER = {
    "role": "ev_user",
    "first_name": "Anna",
    "last_name": "Holm",
    "email": "anna@example.com",
    "password": "secret123",
    "tag": "0x1F",
}


@pytest.fixture
def admin_client(login_as):
    return login_as(Role.ADMIN)


def _users() -> int:
    return db.session.scalar(select(func.count(User.id)))


def test_users_table_lists_the_columns_of_the_spec(admin_client, create_user):
    create_user(Role.EV_USER, "erik@example.com", tag="42")
    page = admin_client.get("/admin/users/").text
    for heading in (
        "E-mail",
        "First name",
        "Last name",
        "Role",
        "RFID",
        "Site",
        "Parking",
        "Create date",
    ):
        assert heading in page
    assert "erik@example.com" in page
    assert re.search(r'class="col-tags">\s*42\s*<', page)


def test_users_table_filters_per_column(admin_client, create_user):
    create_user(Role.EV_USER, "erik@example.com")
    create_user(Role.SUPPORT, "sam@example.com")
    page = admin_client.get(
        "/admin/users/", query_string={"flt0_role_equals": "support"}
    ).text
    assert "sam@example.com" in page and "erik@example.com" not in page


def test_adding_an_ev_user_with_an_rfid_tag(admin_client):
    response = admin_client.post("/admin/users/new/", data=NEW_USER)
    assert response.status_code == 302
    user = db.session.scalars(
        select(User).where(User.email == "anna@example.com")
    ).one()
    assert user.role is Role.EV_USER and [t.tag for t in user.tags] == ["1F"]
    assert db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "User")
    ).first()


def test_adding_a_site_administrator_with_its_site(admin_client, create_site):
    site = create_site("Solna")
    data = {
        **NEW_USER,
        "role": "site_admin",
        "tag": "",
        "sites": [str(site.id)],
        "email_at_alarm": "y",
    }
    assert admin_client.post("/admin/users/new/", data=data).status_code == 302
    user = db.session.scalars(
        select(User).where(User.email == "anna@example.com")
    ).one()
    assert user.sites == [site] and user.email_at_alarm


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": "ADMIN-TAKEN@example.com"}, "already exists"),
        ({"password": "short"}, "at least 8 characters"),
        ({"password": "lettersonly"}, "both letters and digits"),
        ({"password": ""}, "A password is required"),
        ({"email": "nonsense"}, "Not a valid e-mail"),
        ({"role": "site_admin"}, "needs at least one site"),
        ({"tag": "TAG\x07BELL"}, "printable characters only"),
    ],
)
def test_bad_input_gets_a_message_on_the_form_and_nothing_is_written(
    admin_client, create_user, change, message
):
    create_user(Role.SUPPORT, "admin-taken@example.com")
    before = _users()
    response = admin_client.post("/admin/users/new/", data={**NEW_USER, **change})
    assert response.status_code == 200
    assert message in response.text
    assert _users() == before


def test_editing_a_user_keeps_the_password_when_left_empty(admin_client, create_user):
    user = create_user(Role.EV_USER, "erik@example.com")
    old_hash = user.password_hash
    data = {
        "role": "ev_user",
        "first_name": "Erik",
        "last_name": "Sjö",
        "email": "erik@example.com",
        "password": "",
        "tag": "",
    }
    assert (
        admin_client.post(f"/admin/users/edit/?id={user.id}", data=data).status_code
        == 302
    )
    db.session.refresh(user)
    assert user.first_name == "Erik" and user.password_hash == old_hash


def test_deleting_a_user(admin_client, create_user):
    user = create_user(Role.EV_USER)
    before = _users()
    admin_client.post("/admin/users/delete/", data={"id": user.id})
    assert _users() == before - 1


def test_users_export_to_excel(admin_client, create_user):
    create_user(Role.EV_USER, "erik@example.com", tag="42")
    response = admin_client.get("/admin/users/export/xlsx/")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("E-mail", "First name", "Last name", "Role")
    emails = {row[0] for row in rows[1:]}
    assert "erik@example.com" in emails


def test_audit_log_shows_old_and_new_but_no_secret(admin_client, create_user):
    user = create_user(Role.EV_USER, "erik@example.com")
    data = {
        "role": "ev_user",
        "first_name": "Erik",
        "last_name": "S",
        "email": "erik@example.com",
        "password": "brandnew1",
        "tag": "",
    }
    admin_client.post(f"/admin/users/edit/?id={user.id}", data=data)
    page = admin_client.get("/admin/audit/").text
    assert "Test → Erik" in page
    assert "brandnew1" not in page and "scrypt" not in page


@pytest.mark.parametrize("value", ["support", "SUPPORT", "no-such-role"])
def test_role_filter_takes_value_or_name_and_ignores_nonsense(admin_client, value):
    response = admin_client.get(
        "/admin/users/", query_string={"flt0_role_equals": value}
    )
    assert response.status_code == 200
