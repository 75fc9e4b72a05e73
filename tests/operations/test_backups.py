"""app/services/backups.py and `flask backup …`: real files, the real database."""

from __future__ import annotations

import resource
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import EventKind, EventLogEntry, Role, Site
from app.services import backups
from app.services.errors import InvalidInput

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def target(app) -> backups.BackupTarget:
    return backups.BackupTarget.from_app(app)


def _count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(EventLogEntry.id))) or 0


class Writer(threading.Thread):
    """Inserts event log rows in pairs, one transaction per pair, until stopped."""

    def __init__(self, engine) -> None:
        super().__init__(daemon=True)
        self.engine = engine
        self.stop = threading.Event()
        self.pairs = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                k = self.pairs + 1
                with self.engine.begin() as connection:
                    connection.execute(
                        insert(EventLogEntry),
                        [
                            {"kind": EventKind.CONFIG_CHANGE, "message": f"w{k}a"},
                            {"kind": EventKind.CONFIG_CHANGE, "message": f"w{k}b"},
                        ],
                    )
                self.pairs = k
        except BaseException as exc:  # reported by the test
            self.error = exc


def test_a_backup_taken_while_the_portal_writes_restores_the_same_rows(
    app, target, runner
):
    writer = Writer(db.engine)
    writer.start()
    while writer.pairs < 50 and writer.is_alive():
        time.sleep(0.01)
    before = _count()
    backup = backups.create_backup(target)
    after = _count()
    while writer.pairs * 2 < after + 50 and writer.is_alive():
        time.sleep(0.01)
    writer.stop.set()
    writer.join(10)
    assert writer.error is None
    assert _count() > after

    result = runner.invoke(args=["backup", "restore", backup.name, "--yes"])
    assert result.exit_code == 0, result.output

    messages = set(db.session.scalars(select(EventLogEntry.message)))
    pairs = len(messages) // 2
    # One consistent snapshot: every pair whole, none missing, none from later.
    assert messages == {f"w{k}{s}" for k in range(1, pairs + 1) for s in "ab"}
    assert before <= len(messages) <= after


def test_retention_deletes_only_the_oldest_beyond_the_limit(app, target):
    made = [
        backups.create_backup(target, now=NOW - timedelta(days=days)).name
        for days in (10, 5, 2, 1, 0)
    ]
    other = target.folder / "notes.txt"
    other.write_text("not a backup")
    deleted = backups.apply_retention(target, 3, now=NOW)
    assert deleted == made[:2]
    assert [b.name for b in backups.list_backups(target)] == made[2:]
    assert other.exists()


def test_retention_keeps_the_newest_backup_however_old(app, target):
    old = backups.create_backup(target, now=NOW - timedelta(days=30))
    assert backups.apply_retention(target, 7, now=NOW) == []
    assert old.path.exists()


def _corrupt(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 5])


def test_restoring_a_corrupt_file_is_refused_and_nothing_changes(
    app, target, runner, create_site
):
    create_site("Before")
    backup = backups.create_backup(target)
    create_site("After")
    _corrupt(backup.path)
    result = runner.invoke(args=["backup", "restore", str(backup.path), "--yes"])
    assert result.exit_code == 1
    assert "damaged" in result.output or "not a" in result.output
    db.session.rollback()
    assert set(db.session.scalars(select(Site.name))) == {"Before", "After"}
    assert [b.name for b in backups.list_backups(target)] == [backup.name]


def test_a_file_that_is_no_backup_is_refused(app, target, tmp_path):
    stranger = tmp_path / "stranger.sqlite3"
    stranger.write_bytes(b"PGDMP" + b"\0" * 4000)
    with pytest.raises(InvalidInput):
        backups.verify_backup(target, stranger)


def test_restore_without_yes_is_refused_and_nothing_changes(
    app, target, runner, create_site
):
    backup = backups.create_backup(target)
    create_site("After")
    result = runner.invoke(args=["backup", "restore", backup.name])
    assert result.exit_code == 1 and "--yes" in result.output
    assert "a good backup" in result.output
    db.session.rollback()
    assert set(db.session.scalars(select(Site.name))) == {"After"}


def test_a_full_disk_gives_a_clear_message_and_leaves_no_file(app, target, runner):
    for _n in range(200):  # a database bigger than the file size limit below
        db.session.add(EventLogEntry(kind=EventKind.CONFIG_CHANGE, message="x" * 500))
    db.session.commit()
    target.folder.mkdir(parents=True)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, hard))
    try:
        result = runner.invoke(args=["backup", "create"])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    assert result.exit_code == 1
    assert "could not be written" in result.output or "disk space" in result.output
    assert "Traceback" not in result.output
    assert list(target.folder.iterdir()) == []


def test_backup_create_and_list_on_the_command_line(app, target, runner):
    created = runner.invoke(args=["backup", "create"])
    assert created.exit_code == 0, created.output
    (backup,) = backups.list_backups(target)
    assert backup.label == "manual" and backup.size > 0
    listed = runner.invoke(args=["backup", "list"])
    assert backup.name in listed.output


def test_the_backup_job_makes_one_backup_a_day_after_the_policy_time(app, target):
    first = backups.run_scheduled_backup(target, zone=UTC, now=NOW)
    again = backups.run_scheduled_backup(target, zone=UTC, now=NOW + timedelta(hours=1))
    early = backups.run_scheduled_backup(
        target, zone=UTC, now=NOW.replace(hour=1) + timedelta(days=1)
    )
    assert (
        "bytes" in first and again.startswith("done today") and early == "not due yet"
    )
    assert len(backups.list_backups(target)) == 1


def test_the_backup_time_is_a_policy_an_administrator_sets(app, login_as):
    from app.services.topology import get_settings

    admin = login_as(Role.ADMIN)
    response = admin.post(
        "/admin/config/system/policies",
        data={
            "connect_policy": "known_only",
            "offline_threshold": 900,
            "default_heartbeat_interval": 300,
            "default_access": "KNOWN",
            "alarm_digest_time": "07:00",
            "backup_time": "04:45",
            "backup_retention": 30,
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    settings = get_settings()
    assert (settings.backup_time, settings.backup_retention) == (time_of_day(4, 45), 30)


def test_the_backup_job_runs_from_the_command_line(app, target, runner):
    from app.services.topology import get_settings

    get_settings().backup_time = time_of_day(0, 0)
    db.session.commit()
    result = runner.invoke(args=["jobs", "run", "backup"])
    assert result.exit_code == 0, result.output
    (backup,) = backups.list_backups(target)
    assert backup.label == "" and backup.name in result.output
