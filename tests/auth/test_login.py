"""app/auth: logging in and out, safe redirects, sessions ending on password change."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import EventKind, EventLogEntry, Role
from tests.conftest import PASSWORD, log_in


def test_login_page_is_served(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b'name="email"' in response.data


def test_admin_pages_send_anonymous_visitors_to_login(client):
    response = client.get("/admin/users/")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_login_with_the_right_password_opens_the_dashboard(client, create_user):
    user = create_user(Role.ADMIN)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_wrong_password_shows_a_message_and_logs_the_attempt(client, create_user):
    user = create_user(Role.ADMIN)
    response = client.post(
        "/login",
        data={"email": user.email, "password": "wrong999"},
        follow_redirects=True,
    )
    assert b"Wrong e-mail or password." in response.data
    event = db.session.scalars(select(EventLogEntry)).one()
    assert event.kind is EventKind.LOGIN_FAILED
    assert "wrong999" not in str(event.details) + event.message


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/users/", "/admin/users/"),
        ("https://evil.example/", "/admin/"),
        ("//evil.example/", "/admin/"),
        ("/\\evil.example", "/admin/"),
    ],
)
def test_next_redirects_only_to_local_paths(client, create_user, target, expected):
    user = create_user(Role.ADMIN)
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == expected


def test_logout_ends_the_session(client, create_user):
    user = create_user(Role.ADMIN)
    log_in(client, user.email)
    assert client.post("/logout").status_code == 302
    assert client.get("/admin/").status_code == 302
    kinds = [
        e.kind
        for e in db.session.scalars(select(EventLogEntry).order_by(EventLogEntry.id))
    ]
    assert kinds == [EventKind.LOGIN, EventKind.LOGOUT]


def test_logout_needs_a_post(client, create_user):
    user = create_user(Role.ADMIN)
    log_in(client, user.email)
    assert client.get("/logout").status_code == 405


def test_a_password_change_ends_the_users_other_logins(app, create_user):
    user = create_user(Role.SUPPORT)
    laptop, phone = (
        log_in(app.test_client(), user.email),
        log_in(app.test_client(), user.email),
    )
    response = laptop.post(
        "/admin/settings/",
        data={
            "password-current": PASSWORD,
            "password-new": "newpass99",
            "password-repeat": "newpass99",
        },
    )
    assert response.status_code == 302
    assert laptop.get("/admin/").status_code == 200
    assert phone.get("/admin/").status_code == 302


def test_a_weak_new_password_is_refused_on_the_form(app, create_user):
    user = create_user(Role.SUPPORT)
    client = log_in(app.test_client(), user.email)
    response = client.post(
        "/admin/settings/",
        data={
            "password-current": PASSWORD,
            "password-new": "short",
            "password-repeat": "short",
        },
    )
    assert response.status_code == 200
    assert b"at least 8 characters" in response.data


def test_user_changes_own_name_and_language(app, create_user):
    user = create_user(Role.EV_USER)
    client = log_in(app.test_client(), user.email)
    client.post(
        "/admin/settings/",
        data={
            "profile-first_name": "Maja",
            "profile-last_name": "Strand",
            "profile-language": "sv",
        },
    )
    db.session.refresh(user)
    assert (user.first_name, user.last_name, user.language) == ("Maja", "Strand", "sv")


def test_inactive_users_cannot_log_in(client, create_user):
    user = create_user(Role.ADMIN)
    user.active = False
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
