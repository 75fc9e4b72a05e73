"""app/jobs.py: the periodic jobs, run by hand or by the one scheduler."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app import create_app, jobs
from app.extensions import db
from app.models import Alarm, AlarmKind, utcnow


def test_jobs_list_names_every_job(runner):
    output = runner.invoke(args=["jobs", "list"]).output
    assert "offline-detection" in output and "message-log-retention" in output


def test_running_offline_detection_raises_no_network(
    runner, create_site, create_station
):
    station = create_station(create_site())
    station.online, station.last_seen_at = True, utcnow() - timedelta(hours=2)
    db.session.commit()
    result = runner.invoke(args=["jobs", "run", "offline-detection"])
    assert result.exit_code == 0 and station.chargebox_id in result.output
    alarm = db.session.scalars(select(Alarm)).one()
    assert alarm.kind is AlarmKind.NO_NETWORK


def test_an_unknown_job_is_a_clear_error(runner):
    result = runner.invoke(args=["jobs", "run", "nonsense"])
    assert result.exit_code == 1 and "No job 'nonsense'" in result.output


def test_the_scheduler_does_not_start_unless_enabled(app):
    assert "scheduler" not in app.extensions


def test_the_scheduler_runs_every_job_when_enabled(app_config):
    app = create_app({**app_config, "SCHEDULER_ENABLED": True})
    scheduler = app.extensions["scheduler"]
    try:
        assert {job.id for job in scheduler.get_jobs()} == {job.id for job in jobs.JOBS}
    finally:
        scheduler.shutdown(wait=False)
