"""app/services/digest.py: the daily alarm e-mail, through a real SMTP server."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AlarmDigest, AlarmKind, DigestState, Role
from app.services import alarms, digest, mail
from app.services.topology import get_settings

MORNING = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # after the 07:00 digest time


@pytest.fixture
def mail_settings(smtp) -> mail.MailSettings:
    return mail.MailSettings(host="127.0.0.1", port=smtp.port, sender="portal@test")


@pytest.fixture
def fleet(create_site, create_station):
    """Two sites with one station each, and a 'no network' alarm on each station."""
    north, south = create_site("North"), create_site("South")
    a, b = create_station(north, "CP-NORTH"), create_station(south, "CP-SOUTH")
    alarms.raise_alarm(AlarmKind.NO_NETWORK, station=a)
    alarms.raise_alarm(AlarmKind.TEMPERATURE, station=b, description="Too hot")
    db.session.commit()
    return north, south


def _run(settings, now=MORNING):
    run = digest.send_alarm_digests(settings, zone=UTC, now=now)
    db.session.expire_all()
    return run


def test_the_digest_reaches_exactly_the_opted_in_users(
    smtp, mail_settings, fleet, create_user
):
    admin = create_user(Role.ADMIN, "boss@example.com", email_at_alarm=True)
    create_user(Role.ADMIN, "quiet@example.com", email_at_alarm=False)
    create_user(Role.EV_USER, "driver@example.com")
    _run(mail_settings)
    assert smtp.recipients() == [admin.email]


def test_a_site_administrator_gets_only_the_alarms_of_its_sites(
    smtp, mail_settings, fleet, create_user
):
    north, _south = fleet
    create_user(
        Role.SITE_ADMIN, "north@example.com", sites=[north], email_at_alarm=True
    )
    _run(mail_settings)
    (message,) = smtp.messages
    text = message.get_body(("plain",)).get_content()
    assert "CP-NORTH" in text and "CP-SOUTH" not in text
    assert "1 active alarm" in str(message["Subject"])


def test_the_digest_has_plain_text_and_html(smtp, mail_settings, fleet, create_user):
    create_user(Role.ADMIN, "boss@example.com", email_at_alarm=True)
    _run(mail_settings)
    (message,) = smtp.messages
    html = message.get_body(("html",)).get_content()
    assert "<table" in html and "CP-NORTH" in html and "Too hot" in html
    assert "CP-SOUTH" in message.get_body(("plain",)).get_content()


def test_no_email_when_nothing_is_active_in_the_scope(
    smtp, mail_settings, create_site, create_station, create_user
):
    quiet_site = create_site("Quiet")
    busy = create_station(create_site("Busy"), "CP-BUSY")
    alarms.raise_alarm(AlarmKind.NO_NETWORK, station=busy)
    db.session.commit()
    create_user(Role.SITE_ADMIN, sites=[quiet_site], email_at_alarm=True)
    run = _run(mail_settings)
    assert smtp.messages == [] and len(run.nothing) == 1


def test_nothing_is_sent_before_the_digest_time(
    smtp, mail_settings, fleet, create_user
):
    get_settings().alarm_digest_time = time(9, 30)
    db.session.commit()
    create_user(Role.ADMIN, email_at_alarm=True)
    assert not _run(mail_settings).due
    assert smtp.messages == []


def test_never_twice_the_same_day_even_after_a_restart(
    app, smtp, mail_settings, fleet, create_user
):
    create_user(Role.ADMIN, email_at_alarm=True)
    _run(mail_settings)
    # A restart: a new session reads only what was committed.
    db.session.remove()
    _run(mail_settings, MORNING + timedelta(hours=3))
    assert len(smtp.messages) == 1
    _run(mail_settings, MORNING + timedelta(days=1))
    assert len(smtp.messages) == 2


def test_an_smtp_outage_is_logged_and_retried_next_run(
    smtp, mail_settings, fleet, create_user, caplog
):
    admin = create_user(Role.ADMIN, email_at_alarm=True)
    smtp.refuse = True
    run = _run(mail_settings)
    assert run.failed == [admin.email] and smtp.messages == []
    assert "retried next run" in caplog.text
    record = db.session.scalars(select(AlarmDigest)).one()
    assert record.state is DigestState.FAILED and "451" in record.error
    smtp.refuse = False
    _run(mail_settings, MORNING + timedelta(minutes=5))
    assert smtp.recipients() == [admin.email]
    record = db.session.scalars(select(AlarmDigest)).one()
    assert (record.state, record.attempts) == (DigestState.SENT, 2)


def test_an_unreachable_smtp_server_fails_each_user_without_raising(fleet, create_user):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    create_user(Role.ADMIN, email_at_alarm=True)
    create_user(Role.SUPPORT, email_at_alarm=True)
    run = _run(mail.MailSettings(host="127.0.0.1", port=port, timeout=2))
    assert len(run.failed) == 2 and run.sent == []


def test_the_digest_job_runs_from_the_command_line(
    app, runner, smtp, fleet, create_user
):
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=smtp.port)
    get_settings().alarm_digest_time = time(0, 0)
    db.session.commit()
    admin = create_user(Role.ADMIN, email_at_alarm=True)
    result = runner.invoke(args=["jobs", "run", "alarm-digest"])
    assert result.exit_code == 0, result.output
    assert smtp.recipients() == [admin.email]


def test_a_wrong_mail_tls_setting_stops_the_portal_at_start(app_config):
    from app import create_app

    with pytest.raises(RuntimeError, match="MAIL_TLS"):
        create_app({**app_config, "MAIL_TLS": "sometimes"})


def test_alarm_times_are_in_the_portals_time_zone(
    smtp, mail_settings, fleet, create_user
):
    from zoneinfo import ZoneInfo

    create_user(Role.ADMIN, email_at_alarm=True)
    digest.send_alarm_digests(
        mail_settings, zone=ZoneInfo("Europe/Stockholm"), now=MORNING
    )
    (message,) = smtp.messages
    assert "CET" in message.get_body(("plain",)).get_content()
    assert "CET" in message.get_body(("html",)).get_content()
