"""app/services/accounts.py: users, passwords, RFID tags, logging in (spec §2)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, Role, User
from app.services import accounts
from app.services.errors import Conflict, InvalidInput, PermissionDenied


def _input(**overrides: object) -> accounts.UserInput:
    fields: dict[str, object] = {
        "email": "anna@example.com",
        "password": "secret123",
        "first_name": "Anna",
        "last_name": "Holm",
        "role": Role.EV_USER,
    }
    fields.update(overrides)
    return accounts.UserInput(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "at least 8 characters"),
        ("onlyletters", "both letters and digits"),
        ("12345678", "both letters and digits"),
    ],
)
def test_weak_passwords_are_refused_with_the_rule(app, password, message):
    with pytest.raises(InvalidInput, match=message):
        accounts.create_user(None, _input(password=password))
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_password_is_stored_hashed_with_scrypt(app):
    user = accounts.create_user(None, _input())
    assert user.password_hash.startswith("scrypt:")
    assert "secret123" not in user.password_hash


def test_email_is_unique_case_insensitively(app):
    accounts.create_user(None, _input(email="Anna@Example.com"))
    with pytest.raises(Conflict, match="already exists"):
        accounts.create_user(None, _input(email="ANNA@example.COM"))


def test_email_is_stored_lower_case_and_logs_in_in_any_case(app):
    user = accounts.create_user(None, _input(email="Anna.Holm@Example.com"))
    assert user.email == "anna.holm@example.com"
    assert accounts.authenticate("ANNA.HOLM@example.com", "secret123") is user


def test_invalid_email_is_refused(app):
    with pytest.raises(InvalidInput, match="Not a valid e-mail"):
        accounts.create_user(None, _input(email="not-an-email"))


def test_wrong_password_does_not_authenticate(app):
    accounts.create_user(None, _input())
    assert accounts.authenticate("anna@example.com", "wrong1234") is None
    assert accounts.authenticate("nobody@example.com", "secret123") is None


def test_old_hash_parameters_are_upgraded_at_login(app):
    from werkzeug.security import generate_password_hash

    user = accounts.create_user(None, _input())
    user.password_hash = generate_password_hash("secret123", method="pbkdf2:sha256")
    db.session.flush()
    accounts.authenticate("anna@example.com", "secret123")
    assert user.password_hash.startswith("scrypt:32768:8:1$")


def test_ev_user_gets_the_tag_as_typed(app):
    user = accounts.create_user(None, _input(tag=" 04a1b2c3d4e5f6 "))
    assert [tag.tag for tag in user.tags] == ["04a1b2c3d4e5f6"]


def test_a_tag_belongs_to_one_user(app):
    accounts.create_user(None, _input(tag="04A1B2"))
    with pytest.raises(Conflict, match="already in use"):
        accounts.create_user(None, _input(email="erik@example.com", tag="04:a1:b2"))


def test_site_administrator_needs_a_site(app):
    with pytest.raises(InvalidInput, match="at least one site"):
        accounts.create_user(None, _input(role=Role.SITE_ADMIN))


def test_site_administrator_gets_its_sites(app, create_site):
    site = create_site("Solna")
    user = accounts.create_user(None, _input(role=Role.SITE_ADMIN, site_ids=(site.id,)))
    assert user.sites == [site]


def test_only_administrators_create_users(app, create_user):
    support = create_user(Role.SUPPORT)
    with pytest.raises(PermissionDenied):
        accounts.create_user(support, _input())


def test_ev_users_get_no_alarm_email(app):
    user = accounts.create_user(None, _input(email_at_alarm=True))
    assert user.email_at_alarm is False


def test_the_last_administrator_cannot_be_deleted(app, create_user):
    admin = create_user(Role.ADMIN)
    other = create_user(Role.ADMIN)
    accounts.delete_user(admin, other)
    with pytest.raises(Conflict, match="own account"):
        accounts.delete_user(admin, admin)


def test_the_last_administrator_cannot_be_demoted(app, create_user):
    admin = create_user(Role.ADMIN)
    data = _input(email=admin.email, role=Role.SUPPORT)
    with pytest.raises(Conflict, match="last administrator"):
        accounts.update_user(admin, admin, data)


def test_changing_own_password_ends_other_logins(app, create_user):
    user = create_user(Role.SUPPORT)
    version = user.session_version
    accounts.change_own_password(user, "secret123", "newpass99")
    assert user.session_version == version + 1
    assert accounts.authenticate(user.email, "newpass99") is user


def test_changing_own_password_needs_the_current_one(app, create_user):
    user = create_user(Role.SUPPORT)
    with pytest.raises(InvalidInput, match="current password is wrong"):
        accounts.change_own_password(user, "wrong", "newpass99")


def test_user_changes_are_audited_without_secrets(app, create_user):
    admin = create_user(Role.ADMIN)
    user = create_user(Role.EV_USER, email="erik@example.com")
    accounts.update_user(
        admin,
        user,
        _input(email="erik@example.com", first_name="Erik", password="other123"),
    )
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "update")
    ).one()
    assert entry.actor == admin.email
    assert entry.changes["first_name"] == ["Test", "Erik"]
    assert entry.changes["password"] == ["***", "***"]
    assert "scrypt" not in str(entry.changes)
