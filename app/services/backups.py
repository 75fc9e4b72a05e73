"""Database backups (spec §10): made daily and by hand, kept per the retention
policy, restorable after the file has been checked.

SQLite: the online backup API copies a consistent snapshot while the portal goes on
writing (WAL readers do not block the writer). PostgreSQL: `pg_dump` in its custom
format, `pg_restore` in one transaction. Every backup is written under a temporary
name and renamed when complete, so a full disk or a killed process never leaves a
half-written backup that looks like a good one.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import signal
import sqlite3
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.extensions import db
from app.models import utcnow
from app.services.errors import DomainError, InvalidInput
from app.services.topology import get_settings

log = logging.getLogger(__name__)

PREFIX = "charge-portal-"
SUFFIXES = {"sqlite": ".sqlite3", "postgresql": ".pgdump"}
_NAME = re.compile(
    r"^charge-portal-(?P<at>\d{8}-\d{6})(?P<label>-[a-z0-9-]+)?"
    r"\.(?P<kind>sqlite3|pgdump)$"
)
_PARTIAL = ".partial"
_STAMP = "%Y%m%d-%H%M%S"
# Tables a file must hold to be a backup of this portal.
_REQUIRED_TABLES = ("alembic_version", "system_settings", "station", "user")


class BackupFailed(DomainError):
    """The backup or the restore could not be made; nothing was left half-done."""


@dataclass(frozen=True)
class BackupTarget:
    """The database to back up and where its backups live."""

    url: str
    folder: Path
    migrations: Path
    pg_dump: str = "pg_dump"
    pg_restore: str = "pg_restore"

    @property
    def dialect(self) -> str:
        return make_url(self.url).get_backend_name()

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], instance: Path, migrations: Path
    ) -> BackupTarget:
        """Read the SQLAlchemy URL and the BACKUP_* keys."""
        folder = config.get("BACKUP_FOLDER") or instance / "backups"
        return cls(
            url=str(config["SQLALCHEMY_DATABASE_URI"]),
            folder=Path(folder),
            migrations=migrations,
            pg_dump=str(config.get("BACKUP_PG_DUMP") or "pg_dump"),
            pg_restore=str(config.get("BACKUP_PG_RESTORE") or "pg_restore"),
        )

    @classmethod
    def from_app(cls, app: Any) -> BackupTarget:
        """Read the target from a Flask app (its config and instance folder)."""
        return cls.from_config(
            app.config,
            Path(app.instance_path),
            Path(app.root_path).parent / "migrations",
        )


@dataclass(frozen=True)
class Backup:
    """One backup file."""

    path: Path
    created_at: datetime
    size: int
    label: str = ""

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class BackupCheck:
    """What a verified backup file holds."""

    path: Path
    revision: str
    kind: str


# ---------------------------------------------------------------------------
# Listing and retention


def _parse(path: Path) -> Backup | None:
    match = _NAME.match(path.name)
    if match is None or not path.is_file():
        return None
    created = datetime.strptime(match["at"], _STAMP).replace(tzinfo=UTC)
    label = (match["label"] or "").lstrip("-")
    return Backup(path, created, path.stat().st_size, label)


def list_backups(target: BackupTarget) -> list[Backup]:
    """Return the backups in the folder, oldest first (other files are ignored)."""
    if not target.folder.is_dir():
        return []
    found = [_parse(path) for path in target.folder.iterdir()]
    return sorted(
        (b for b in found if b is not None), key=lambda b: (b.created_at, b.name)
    )


def apply_retention(
    target: BackupTarget, days: int, *, now: datetime | None = None
) -> list[str]:
    """Delete the backups older than `days` days; the newest one always stays.

    Returns the names deleted, oldest first.
    """
    limit = (now or utcnow()) - timedelta(days=days)
    backups = list_backups(target)
    deleted = []
    for backup in backups[:-1]:
        if backup.created_at < limit:
            backup.path.unlink(missing_ok=True)
            deleted.append(backup.name)
    if deleted:
        log.info("backup retention (%s days) deleted %s", days, ", ".join(deleted))
    return deleted


# ---------------------------------------------------------------------------
# Making a backup


def _new_path(target: BackupTarget, now: datetime, label: str) -> Path:
    suffix = SUFFIXES.get(target.dialect)
    if suffix is None:
        raise BackupFailed(f"Backups of {target.dialect} databases are not supported.")
    stem = (
        PREFIX + now.astimezone(UTC).strftime(_STAMP) + (f"-{label}" if label else "")
    )
    path = target.folder / (stem + suffix)
    counter = 1
    while path.exists():
        counter += 1
        path = target.folder / f"{stem}-{counter}{suffix}"
    return path


def _disk_message(exc: BaseException, folder: Path) -> str:
    number = getattr(exc, "errno", None)
    if number in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or "disk is full" in str(
        exc
    ):
        return f"Not enough disk space for the backup in {folder}."
    if number in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"The backup folder {folder} is not writable."
    if number in (errno.ENOTDIR, errno.EEXIST):
        return f"The backup folder {folder} is not a folder."
    if "disk I/O error" in str(exc):
        return (
            f"The backup could not be written to {folder}: the disk is full or failing."
        )
    return f"The backup could not be written to {folder}: {exc}"


def create_backup(
    target: BackupTarget, *, now: datetime | None = None, label: str = ""
) -> Backup:
    """Write a complete backup of the database into the backup folder.

    Raises BackupFailed with a message for a person (full disk, folder not
    writable, pg_dump missing); no partial file is left behind.
    """
    moment = now or utcnow()
    try:
        target.folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupFailed(_disk_message(exc, target.folder)) from exc
    final = _new_path(target, moment, label)
    partial = final.with_name("." + final.name + _PARTIAL)
    try:
        if target.dialect == "sqlite":
            _sqlite_backup(target, partial)
        else:
            _pg_dump(target, partial)
        _fsync(partial)
        os.replace(partial, final)
    except BackupFailed:
        _discard(partial)
        raise
    except (OSError, sqlite3.Error) as exc:
        _discard(partial)
        raise BackupFailed(_disk_message(exc, target.folder)) from exc
    backup = _parse(final)
    assert backup is not None
    log.info("backup %s written (%d bytes)", backup.name, backup.size)
    return backup


def _discard(partial: Path) -> None:
    """Remove a failed backup and what SQLite may have left beside it."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        partial.with_name(partial.name + suffix).unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sqlite_file(target: BackupTarget) -> Path:
    database = make_url(target.url).database
    if not database or database == ":memory:":
        raise BackupFailed("An in-memory SQLite database cannot be backed up.")
    return Path(database)


def _sqlite_backup(target: BackupTarget, destination: Path) -> None:
    source = sqlite3.connect(f"file:{_sqlite_file(target)}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(destination)
        try:
            # One step (pages=-1): the copy is one consistent snapshot; with WAL the
            # portal's writer goes on meanwhile.
            source.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            copy.commit()
        finally:
            copy.close()
    finally:
        source.close()


# ---------------------------------------------------------------------------
# PostgreSQL through its client programs


def _libpq(target: BackupTarget) -> tuple[str, dict[str, str]]:
    """Return a password-less connection URI and an environment with the password."""
    url = make_url(target.url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _current_schema() -> str:
    return str(db.session.execute(text("SELECT current_schema()")).scalar_one())


def _run(argv: list[str], env: dict[str, str], what: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - our own argv, no shell
            argv, env=env, capture_output=True, text=True, timeout=3600, check=False
        )
    except FileNotFoundError as exc:
        raise BackupFailed(
            f"{argv[0]} was not found: install the PostgreSQL client programs."
        ) from exc
    if done.returncode == -signal.SIGXFSZ:  # over the file size limit
        raise BackupFailed(f"{what} failed: File too large")
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupFailed(
            f"{what} failed: {detail[-1] if detail else done.returncode}"
        )
    return done.stdout


def _pg_dump(target: BackupTarget, destination: Path) -> None:
    uri, env = _libpq(target)
    schema = _current_schema()
    argv = [target.pg_dump, "--format=custom", f"--file={destination}"]
    argv += [f"--schema={schema}", "--no-owner", "--no-privileges", f"--dbname={uri}"]
    try:
        _run(argv, env, "pg_dump")
    except BackupFailed as exc:
        if "No space left" in str(exc) or "File too large" in str(exc):
            message = _disk_message(OSError(errno.ENOSPC, ""), target.folder)
            raise BackupFailed(message) from exc
        raise


# ---------------------------------------------------------------------------
# Checking and restoring


def migration_revisions(migrations: Path) -> set[str]:
    """Return every revision id our Alembic scripts know."""
    scripts = ScriptDirectory(str(migrations))
    return {script.revision for script in scripts.walk_revisions()}


def resolve(target: BackupTarget, name: str) -> Path:
    """Return the backup file a person named (a path, or a name in the folder)."""
    path = Path(name)
    if not path.is_file():
        path = target.folder / name
    if not path.is_file():
        raise InvalidInput(f"No backup file {name}.")
    return path


def verify_backup(target: BackupTarget, path: Path) -> BackupCheck:
    """Check that a file is a complete backup of this portal's database.

    SQLite: the integrity check and our tables; PostgreSQL: `pg_restore --list`.
    Both: an Alembic revision our migrations know. Raises InvalidInput.
    """
    if target.dialect == "sqlite":
        revision = _verify_sqlite(path)
        kind = "sqlite"
    else:
        revision = _verify_pg(target, path)
        kind = "postgresql"
    if revision not in migration_revisions(target.migrations):
        raise InvalidInput(
            f"{path.name} has the schema revision {revision!r}, unknown to this"
            " portal's migrations."
        )
    return BackupCheck(path, revision, kind)


def _verify_sqlite(path: Path) -> str:
    with path.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise InvalidInput(f"{path.name} is not a SQLite database.")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                raise InvalidInput(
                    f"{path.name} is damaged: {'; '.join(map(str, result[:3]))}"
                )
            tables = {
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            }
            missing = [t for t in _REQUIRED_TABLES if t not in tables]
            if missing:
                raise InvalidInput(
                    f"{path.name} is not a backup of this portal (no table"
                    f" {', '.join(missing)})."
                )
            rows = connection.execute("SELECT version_num FROM alembic_version")
            versions = [row[0] for row in rows]
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{path.name} is damaged: {exc}") from exc
    if len(versions) != 1:
        raise InvalidInput(f"{path.name} has no single schema revision.")
    return str(versions[0])


def _verify_pg(target: BackupTarget, path: Path) -> str:
    env = dict(os.environ)
    try:
        listing = _run([target.pg_restore, "--list", str(path)], env, "pg_restore")
    except BackupFailed as exc:
        raise InvalidInput(
            f"{path.name} is not a readable pg_dump archive: {exc}"
        ) from exc
    try:  # read every block of the archive: a damaged or cut file fails here
        _run([target.pg_restore, "--file=/dev/null", str(path)], env, "pg_restore")
    except BackupFailed as exc:
        raise InvalidInput(f"{path.name} is damaged: {exc}") from exc
    for table in _REQUIRED_TABLES:
        if not re.search(rf"TABLE DATA \S+ {re.escape(table)} ", listing):
            raise InvalidInput(f"{path.name} is not a backup of this portal.")
    try:
        data = _run(
            [
                target.pg_restore,
                "--data-only",
                "--table=alembic_version",
                "--file=-",
                str(path),
            ],
            env,
            "pg_restore",
        )
    except BackupFailed as exc:
        raise InvalidInput(f"{path.name} is damaged: {exc}") from exc
    match = re.search(r"^COPY \S*alembic_version .*?;\n(.*?)\n\\\.", data, re.M | re.S)
    versions = match[1].split("\n") if match else []
    if len(versions) != 1 or not versions[0]:
        raise InvalidInput(f"{path.name} has no single schema revision.")
    return versions[0].strip()


def restore_backup(target: BackupTarget, path: Path) -> Backup:
    """Replace the database with a verified backup; return the safety copy made first.

    The file is verified before anything changes, and the current database is
    backed up (label "pre-restore") so the restore itself can be undone.
    """
    verify_backup(target, path)
    safety = create_backup(target, label="pre-restore")
    db.session.remove()
    db.engine.dispose()  # no pooled connection holds the old schema or a lock
    if target.dialect == "sqlite":
        _sqlite_restore(target, path)
    else:
        _pg_restore(target, path)
    db.engine.dispose()
    log.warning("database restored from %s (safety copy %s)", path, safety.name)
    return safety


def _sqlite_restore(target: BackupTarget, path: Path) -> None:
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        live = sqlite3.connect(_sqlite_file(target), timeout=30)
        try:
            # The backup API writes the whole copy in one transaction of the live
            # database: other connections wait, and a failure leaves it unchanged.
            source.backup(live, pages=-1)
        except sqlite3.Error as exc:
            raise BackupFailed(
                f"The restore failed, nothing was changed: {exc}"
            ) from exc
        finally:
            live.close()
    finally:
        source.close()


def _pg_restore(target: BackupTarget, path: Path) -> None:
    uri, env = _libpq(target)
    # Fail rather than wait forever on a table a running portal holds.
    env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " -c lock_timeout=30s").strip()
    argv = [target.pg_restore, "--clean", "--if-exists", "--single-transaction"]
    argv += ["--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={uri}"]
    _run([*argv, str(path)], env, "pg_restore")


# ---------------------------------------------------------------------------
# The daily job


def run_scheduled_backup(
    target: BackupTarget, *, zone: tzinfo, now: datetime | None = None
) -> str:
    """Make the day's backup once the policy's backup time has passed, then apply
    the retention policy. The backups on disk are the record: a restart neither
    misses nor repeats the day's backup."""
    moment = (now or utcnow()).astimezone(zone)
    policy = get_settings()
    due_at = datetime.combine(moment.date(), policy.backup_time, tzinfo=zone)
    if moment < due_at:
        return "not due yet"
    daily = [b for b in list_backups(target) if b.label == ""]
    if daily and daily[-1].created_at >= due_at:
        return f"done today: {daily[-1].name}"
    backup = create_backup(target, now=moment)
    deleted = apply_retention(target, policy.backup_retention, now=moment)
    return f"{backup.name} ({backup.size} bytes); deleted {len(deleted)} old"
