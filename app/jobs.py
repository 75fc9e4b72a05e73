"""Periodic work, declared in one list (style.md §15): each job is an app context,
one service call and a commit. The scheduler runs in exactly one process: only when
SCHEDULER_ENABLED is set (the `make run` server; never in tests) and never in the
reloader's watcher process."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from app.extensions import db
from app.services import message_log, stations

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
    """Start the scheduler in this process if configured to (and not the reloader's)."""
    if not app.config["SCHEDULER_ENABLED"]:
        return None
    if app.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return None  # the reloader's watcher process; its child runs the jobs
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
    app.extensions["scheduler"] = scheduler
    return scheduler
