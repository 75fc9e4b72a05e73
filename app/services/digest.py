"""The daily alarm digest (spec §2 "Email at alarm", §10): one e-mail per opted-in
user and day, listing the active alarms in that user's scope, only when there is one.

Each user's digest of a day is a row of AlarmDigest, claimed (committed) before the
e-mail leaves and marked sent or failed after: a restart never sends a day's digest
twice, and a refused or unreachable SMTP server is retried on the next run. Like
the command service (style.md §5), this service commits itself: an e-mail, once
sent, cannot be rolled back with the job's transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from email.message import EmailMessage

from flask import render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Alarm,
    AlarmDigest,
    AlarmState,
    DigestState,
    Role,
    User,
    utcnow,
)
from app.services import mail
from app.services.access import scope
from app.services.topology import get_settings

log = logging.getLogger(__name__)

# Roles that may ask for the digest (spec §2: administrators and site administrators;
# support monitors every station and may opt in too).
RECIPIENT_ROLES = (Role.ADMIN, Role.SITE_ADMIN, Role.SUPPORT)
# A digest in these states is done for the day.
_DONE = (DigestState.SENT, DigestState.SENDING, DigestState.NOTHING)


@dataclass
class DigestRun:
    """What one run did: who got an e-mail, who had nothing, whose e-mail failed."""

    day: date | None = None
    due: bool = False
    sent: list[str] = field(default_factory=list)
    nothing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if not self.due:
            return "not due yet"
        return (
            f"{self.day}: sent {len(self.sent)}, nothing to send {len(self.nothing)},"
            f" failed {len(self.failed)}"
        )


def recipients() -> list[User]:
    """Return the active users who asked for the alarm digest."""
    stmt = (
        select(User)
        .where(
            User.active.is_(True),
            User.email_at_alarm.is_(True),
            User.role.in_(RECIPIENT_ROLES),
        )
        .order_by(User.id)
    )
    return list(db.session.scalars(stmt))


def active_alarms(user: User) -> list[Alarm]:
    """Return the active alarms the user may see, oldest first."""
    stmt = (
        select(Alarm)
        .where(Alarm.state == AlarmState.ACTIVE)
        .order_by(Alarm.raised_at, Alarm.id)
    )
    return list(db.session.scalars(scope(stmt, user)))


def send_alarm_digests(
    settings: mail.MailSettings,
    *,
    zone: tzinfo,
    now: datetime | None = None,
    portal_url: str = "",
    default_language: str = "en",
) -> DigestRun:
    """Send each opted-in user the day's digest once it is due and not yet sent.

    Due: from the policy's digest time (in `zone`) to the end of that day.
    """
    moment = (now or utcnow()).astimezone(zone)
    run = DigestRun(day=moment.date())
    policy = get_settings()
    if moment.time().replace(tzinfo=None) < policy.alarm_digest_time:
        return run
    run.due = True
    if not settings.enabled:
        log.info("alarm digest due but no SMTP server is configured (MAIL_HOST)")
        return run
    system_name = policy.system_name
    for user in recipients():
        _digest_for(
            user, run, settings, system_name, portal_url, default_language, zone
        )
    return run


def _digest_for(
    user: User,
    run: DigestRun,
    settings: mail.MailSettings,
    system_name: str,
    portal_url: str,
    default_language: str,
    zone: tzinfo,
) -> None:
    assert run.day is not None
    record = db.session.scalars(
        select(AlarmDigest).where(
            AlarmDigest.user_id == user.id, AlarmDigest.day == run.day
        )
    ).first()
    if record is not None and record.state in _DONE:
        return
    alarms = active_alarms(user)
    if record is None:
        record = AlarmDigest(user_id=user.id, day=run.day, email=user.email)
        db.session.add(record)
    record.alarm_count = len(alarms)
    record.state = DigestState.SENDING if alarms else DigestState.NOTHING
    record.attempts = (record.attempts or 0) + (1 if alarms else 0)
    try:
        db.session.commit()  # the claim: from here on never twice
    except IntegrityError:  # another process claimed it first
        db.session.rollback()
        return
    if not alarms:
        run.nothing.append(user.email)
        return
    with force_locale(user.language or default_language):
        message = compose_digest(
            settings, user, alarms, system_name, portal_url, zone=zone
        )
    try:
        mail.send_message(settings, message)
    except mail.MailError as exc:
        log.warning("alarm digest to %s failed, retried next run: %s", user.email, exc)
        record.state, record.error = DigestState.FAILED, str(exc)[:2000]
        run.failed.append(user.email)
    else:
        record.state, record.error, record.sent_at = DigestState.SENT, "", utcnow()
        run.sent.append(user.email)
    db.session.commit()


def compose_digest(
    settings: mail.MailSettings,
    user: User,
    alarms: list[Alarm],
    system_name: str,
    portal_url: str = "",
    *,
    zone: tzinfo = UTC,
) -> EmailMessage:
    """Build the digest e-mail: plain text and HTML, in the current locale; times
    in the portal's zone."""
    subject = ngettext(
        "%(system)s: %(num)d active alarm",
        "%(system)s: %(num)d active alarms",
        len(alarms),
        system=system_name,
    )
    link = portal_url.rstrip("/") + "/admin/alarms/" if portal_url else ""
    lines = [
        _("Hello %(name)s,", name=user.full_name or user.email),
        "",
        _("These alarms are active:"),
        "",
    ]
    rows = [
        (f"{alarm.raised_at.astimezone(zone):%Y-%m-%d %H:%M %Z}", alarm)
        for alarm in alarms
    ]
    for when, alarm in rows:
        lines.append(f"- {when}  {alarm.node_name}  {alarm.description}")
    lines.append("")
    if link:
        lines += [_("Active alarms: %(link)s", link=link), ""]
    lines.append(
        _('You receive this once a day because "Email at alarm" is on in your account.')
    )
    html = render_template(
        "mail/alarm_digest.html",
        user=user,
        rows=rows,
        system_name=system_name,
        subject=subject,
        link=link,
    )
    return mail.compose(settings, user.email, subject, "\n".join(lines) + "\n", html)
