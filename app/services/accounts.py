"""Accounts: create, change and delete users; passwords; RFID tags; logging in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import RfidTag, Role, Site, User, utcnow
from app.services import audit, tags
from app.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied

PASSWORD_MIN_LENGTH = 8
# Werkzeug's scrypt; a stored hash with other parameters is re-hashed at login.
PASSWORD_METHOD = "scrypt"  # noqa: S105 (a hash method name)


@dataclass(frozen=True)
class UserInput:
    """What a person types on the add/edit user form (spec §2, fields per role)."""

    email: str
    first_name: str
    last_name: str
    role: Role
    password: str | None = None
    email_at_alarm: bool = False
    site_ids: tuple[int, ...] = ()
    tag: str | None = None
    parking: str = ""
    language: str | None = None


def normalise_email(email: str) -> str:
    """Return the e-mail in its stored form (lower case), or raise InvalidInput."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(
            _l("Not a valid e-mail address: %(reason)s", reason=str(exc))
        ) from None
    return checked.normalized.lower()


def check_password_rules(password: str) -> None:
    """Raise InvalidInput unless the password has ≥ 8 characters, letters and digits."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            _l(
                "The password must be at least %(n)d characters long.",
                n=PASSWORD_MIN_LENGTH,
            )
        )
    if not any(ch.isalpha() for ch in password) or not any(
        ch.isdigit() for ch in password
    ):
        raise InvalidInput(_l("The password must contain both letters and digits."))


def hash_password(password: str) -> str:
    """Return a salted hash of the password for storage."""
    return generate_password_hash(password, method=PASSWORD_METHOD)


@cache
def _dummy_hash() -> str:
    return hash_password("timing-equaliser-0")


def find_user_by_email(email: str) -> User | None:
    """Return the user with this e-mail, compared case-insensitively."""
    return db.session.scalars(
        select(User).where(User.email == email.strip().lower())
    ).first()


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, else None; upgrade old hashes."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        # Same work as a real check, so timing does not reveal which e-mails exist.
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    if not user.password_hash.startswith(PASSWORD_METHOD + ":32768:8:1$"):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    db.session.flush()
    return user


def _check_role_fields(data: UserInput) -> None:
    if data.role is Role.SITE_ADMIN and not data.site_ids:
        raise InvalidInput(_l("A site administrator needs at least one site."))


def _sites(site_ids: Iterable[int]) -> list[Site]:
    ids = set(site_ids)
    sites = list(db.session.scalars(select(Site).where(Site.id.in_(ids))))
    if len(sites) != len(ids):
        raise NotFound(_l("No such site."))
    return sites


def _ensure_email_free(email: str, user_id: int | None = None) -> None:
    taken = db.session.scalars(
        select(User.id).where(
            func.lower(User.email) == email, User.id != (user_id or 0)
        )
    ).first()
    if taken is not None:
        raise Conflict(
            _l("A user with the e-mail %(email)s already exists.", email=email)
        )


def _ensure_tag_free(tag: str, user_id: int | None = None) -> None:
    owner = tags.find_registered(tag)
    if owner is not None and owner.user_id != user_id:
        raise Conflict(_l("The RFID tag %(tag)s is already in use.", tag=owner.tag))


def create_user(actor: User | None, data: UserInput) -> User:
    """Create a user with the fields of its role (spec §2); administrators only.

    actor None means the system itself (the CLI's first administrator).
    """
    if actor is not None and actor.role is not Role.ADMIN:
        raise PermissionDenied(_l("Only administrators create users."))
    email = normalise_email(data.email)
    if not data.password:
        raise InvalidInput(_l("A password is required."))
    check_password_rules(data.password)
    _check_role_fields(data)
    _ensure_email_free(email)
    tag = tags.parse_input(data.tag).stored if data.tag and data.tag.strip() else None
    if tag:
        _ensure_tag_free(tag)
    user = User(
        email=email,
        password_hash=hash_password(data.password),
        first_name=data.first_name.strip(),
        last_name=data.last_name.strip(),
        role=data.role,
        email_at_alarm=data.email_at_alarm and data.role is not Role.EV_USER,
        parking=data.parking.strip(),
        language=data.language,
        sites=_sites(data.site_ids) if data.role is Role.SITE_ADMIN else [],
    )
    db.session.add(user)
    if tag:
        user.tags.append(RfidTag(tag=tag))
    audit.record_create(actor, user)
    return user


def _audited_fields(user: User) -> audit.Snapshot:
    return {
        **audit.snapshot(user),
        "sites": audit.plain([site.name for site in user.sites]),
        "tags": audit.plain([tag.tag for tag in user.tags]),
    }


def update_user(actor: User, user: User, data: UserInput) -> User:
    """Change a user's fields; a new password is set only when one is given."""
    if actor.role is not Role.ADMIN:
        raise PermissionDenied(_l("Only administrators change users."))
    before = _audited_fields(user)
    email = normalise_email(data.email)
    _ensure_email_free(email, user.id)
    _check_role_fields(data)
    if data.role is not Role.ADMIN and user.role is Role.ADMIN:
        _ensure_other_admin_exists(user)
    secret_changed = False
    if data.password:
        check_password_rules(data.password)
        user.password_hash = hash_password(data.password)
        user.session_version += 1
        secret_changed = True
    user.email = email
    user.first_name = data.first_name.strip()
    user.last_name = data.last_name.strip()
    user.role = data.role
    user.email_at_alarm = data.email_at_alarm and data.role is not Role.EV_USER
    user.parking = data.parking.strip()
    user.sites = _sites(data.site_ids) if data.role is Role.SITE_ADMIN else []
    if data.tag is not None:
        _set_primary_tag(
            user, tags.parse_input(data.tag).stored if data.tag.strip() else None
        )
    db.session.flush()
    changes = audit.diff(before, _audited_fields(user))
    if changes or secret_changed:
        audit.record_change(
            actor, "update", user, changes, secret_changed=secret_changed
        )
    return user


def _set_primary_tag(user: User, tag: str | None) -> None:
    """Make `tag` the user's tag (the form edits one); other tags are kept."""
    if tag is None or any(existing.tag_key == tags.key(tag) for existing in user.tags):
        return
    _ensure_tag_free(tag, user.id)
    free = tags.find_registered(tag)
    if free is not None:
        free.user = user
    else:
        user.tags.append(RfidTag(tag=tag))


def _ensure_other_admin_exists(user: User) -> None:
    others = db.session.scalar(
        select(func.count(User.id)).where(
            User.role == Role.ADMIN, User.active.is_(True), User.id != user.id
        )
    )
    if not others:
        raise Conflict(_l("The last administrator cannot be removed or demoted."))


def delete_user(actor: User, user: User) -> None:
    """Delete a user; never oneself and never the last administrator."""
    if actor.role is not Role.ADMIN:
        raise PermissionDenied(_l("Only administrators delete users."))
    if actor.id == user.id:
        raise Conflict(_l("You cannot delete your own account."))
    if user.role is Role.ADMIN:
        _ensure_other_admin_exists(user)
    before = _audited_fields(user)
    audit.record_delete(actor, user, before)
    for tag in list(user.tags):
        db.session.delete(tag)
    db.session.delete(user)
    db.session.flush()


def change_own_password(user: User, current: str, new: str) -> None:
    """Change the user's own password; the user's other logins end (session version)."""
    if not check_password_hash(user.password_hash, current):
        raise InvalidInput(_l("The current password is wrong."))
    check_password_rules(new)
    user.password_hash = hash_password(new)
    user.session_version += 1
    audit.record_change(user, "update", user, {}, secret_changed=True)
    db.session.flush()


def update_profile(
    user: User, *, first_name: str, last_name: str, language: str | None
) -> None:
    """Change the user's own display name and language."""
    before = audit.snapshot(user, ["first_name", "last_name", "language"])
    user.first_name = first_name.strip()
    user.last_name = last_name.strip()
    user.language = language or None
    changes = audit.diff(
        before, audit.snapshot(user, ["first_name", "last_name", "language"])
    )
    if changes:
        audit.record_change(user, "update", user, changes)
    db.session.flush()


def add_tag(
    actor: User | None,
    user: User,
    raw_tag: str,
    *,
    expires_at: datetime | None = None,
    parent: str | None = None,
) -> RfidTag:
    """Give a user a tag, kept as typed (tags.parse_input); a tag belongs to one user."""
    if actor is not None and actor.role is not Role.ADMIN:
        raise PermissionDenied(_l("Only administrators hand out RFID tags."))
    tag = tags.parse_input(raw_tag).stored
    _ensure_tag_free(tag)
    parent_tag = None
    if parent:
        parent_tag = tags.find_registered(tags.parse_input(parent).stored)
        if parent_tag is None:
            raise NotFound(_l("No such parent tag."))
    row = RfidTag(tag=tag, user=user, expires_at=expires_at, parent=parent_tag)
    db.session.add(row)
    audit.record_create(actor, row)
    return row


def count_admins() -> int:
    """Return how many active administrators exist."""
    return (
        db.session.scalar(
            select(func.count(User.id)).where(
                User.role == Role.ADMIN, User.active.is_(True)
            )
        )
        or 0
    )
