"""Periodic work, declared in one list (style.md §15): each job is an app context,
one service call and a commit. The scheduler runs in exactly one process: only when
SCHEDULER_ENABLED is set (the `make run` server; never in tests), never in the
reloader's watcher process, and only in the holder of the scheduler lock."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import click
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from app.extensions import db
from app.services import (
    backups,
    digest,
    load_management,
    local_lists,
    mail,
    message_log,
    stations,
    webhooks,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    id: str
    description: str
    run: Callable[[Flask], object]
    trigger: dict[str, Any] = field(default_factory=dict)


def _detect_offline(app: Flask) -> object:
    return [station.chargebox_id for station in stations.detect_offline()]


def _purge_message_log(app: Flask) -> object:
    return message_log.purge_messages(app.config["OCPP_MESSAGE_LOG_DAYS"])


def _apply_schedule(app: Flask) -> object:
    return load_management.apply_schedule()


def _sync_local_lists(app: Flask) -> object:
    return local_lists.sync_pending()


def _deliver_webhooks(app: Flask) -> object:
    return webhooks.deliver_due()


def _send_alarm_digest(app: Flask) -> object:
    return digest.send_alarm_digests(
        mail.MailSettings.from_config(app.config),
        zone=ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"]),
        portal_url=app.config["PORTAL_URL"],
        default_language=app.config["BABEL_DEFAULT_LOCALE"],
    )


def _back_up(app: Flask) -> object:
    return backups.run_scheduled_backup(
        backups.BackupTarget.from_app(app),
        zone=ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"]),
    )


# The digest and the backup check every few minutes whether they are due: their
# times are policies (spec §8) that change without a restart, and a missed time
# (the portal was down) is caught up the same day.
JOBS = [
    Job(
        "offline-detection",
        "Raise 'no network' for stations silent past the offline threshold",
        _detect_offline,
        {"trigger": "interval", "seconds": 60},
    ),
    Job(
        "message-log-retention",
        "Delete OCPP messages older than OCPP_MESSAGE_LOG_DAYS",
        _purge_message_log,
        {"trigger": "cron", "hour": 3, "minute": 15},
    ),
    Job(
        "schedule-application",
        "Share site capacity, re-send missing charging profiles (GetCompositeSchedule"
        " check) and apply charging windows by availability",
        _apply_schedule,
        {"trigger": "interval", "minutes": 5},
    ),
    Job(
        "local-list-sync",
        "Send the local list differences still waiting to online stations (failed"
        " attempts, stations back without a boot)",
        _sync_local_lists,
        {"trigger": "interval", "minutes": 2},
    ),
    Job(
        "webhook-delivery",
        "Post due webhook events (retries, other processes' events); prune the log",
        _deliver_webhooks,
        {"trigger": "interval", "seconds": 30},
    ),
    Job(
        "alarm-digest",
        "E-mail the active alarms to users with 'Email at alarm', once a day"
        " from the policy's digest time",
        _send_alarm_digest,
        {"trigger": "interval", "minutes": 5},
    ),
    Job(
        "backup",
        "Back up the database once a day from the policy's backup time;"
        " delete backups past the retention",
        _back_up,
        {"trigger": "interval", "minutes": 5},
    ),
]


def find_job(job_id: str) -> Job:
    """Return the job with this id, or raise KeyError."""
    for job in JOBS:
        if job.id == job_id:
            return job
    raise KeyError(job_id)


def run_job(app: Flask, job: Job) -> object:
    """Run one job now: app context, the service call, commit (rollback on failure)."""
    with app.app_context():
        try:
            result = job.run(app)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", job.id)
            raise
    log.info("job %s done: %s", job.id, result)
    return result


def _safely(app: Flask, job: Job) -> None:
    try:
        run_job(app, job)
    except Exception:  # logged in run_job; the scheduler keeps going
        return


def init_app(app: Flask) -> BackgroundScheduler | None:
    """Start the scheduler in this process if configured to (and not the reloader's),
    once this process holds the scheduler lock (app/scheduler_lock.py): with several
    workers or machines only one runs the jobs; the others take over if it dies."""
    if not app.config["SCHEDULER_ENABLED"]:
        return None
    if app.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return None  # the reloader's watcher process; its child runs the jobs
    command = click.get_current_context(silent=True)
    if command is not None and command.info_name != "run":
        return None  # `flask db upgrade`, `flask jobs run`...: not a server
    from app import scheduler_lock

    leader = scheduler_lock.Leader(
        scheduler_lock.lock_for(app),
        lambda: _start_scheduler(app),
        float(app.config["SCHEDULER_LOCK_RETRY"]),
        app,
    )
    app.extensions["scheduler_lock"] = leader
    leader.begin()
    scheduler: BackgroundScheduler | None = leader.scheduler
    return scheduler


def _start_scheduler(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
    for job in JOBS:
        scheduler.add_job(
            _safely,
            args=(app, job),
            id=job.id,
            coalesce=True,
            max_instances=1,
            **job.trigger,
        )
    scheduler.start()
    return scheduler
