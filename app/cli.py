"""Command line: `flask --app wsgi users|demo|sites|floors|stations|tags …`.

Each command unpacks its arguments, calls one service function, commits, and turns a
domain error into a clear message and a non-zero exit.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app import jobs
from app.extensions import db
from app.models import (
    AccessRule,
    Protocol,
    Role,
    Site,
    Station,
    SystemSettings,
    TagNotation,
)
from app.services import (
    accounts,
    backups,
    demo,
    stations,
    tag_export,
    tag_files,
    tag_import,
    tags,
    topology,
)
from app.services.errors import DomainError

users_cli = AppGroup("users", help="Manage portal users.")
demo_cli = AppGroup("demo", help="Demo data.")
sites_cli = AppGroup("sites", help="Scripted provisioning of sites.")
floors_cli = AppGroup("floors", help="Scripted provisioning of floors.")
stations_cli = AppGroup("stations", help="Scripted provisioning of stations.")
tags_cli = AppGroup("tags", help="Scripted provisioning of RFID tags.")
jobs_cli = AppGroup("jobs", help="Periodic jobs: list them, run one now.")
backup_cli = AppGroup("backup", help="Database backups: create, list, restore.")


@contextmanager
def _unit_of_work() -> Iterator[None]:
    """Commit on success; on a domain error roll back and exit 1 with its message."""
    try:
        yield
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None


def _generated_password() -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(16))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--first-name", default="Portal")
@click.option("--last-name", default="Administrator")
def create_admin(email: str, password: str, first_name: str, last_name: str) -> None:
    """Create an administrator account."""
    with _unit_of_work():
        accounts.create_user(
            None,
            accounts.UserInput(
                email=email,
                password=password,
                first_name=first_name,
                last_name=last_name,
                role=Role.ADMIN,
            ),
        )
    click.echo(f"Administrator {email.lower()} created.")


@users_cli.command("ensure-admin")
@click.option("--email", default="admin@example.com", show_default=True)
def ensure_admin(email: str) -> None:
    """Create a first administrator if none exists; write its password to the instance folder."""
    if accounts.count_admins():
        click.echo("An administrator exists already.")
        return
    password = _generated_password()
    with _unit_of_work():
        accounts.create_user(
            None,
            accounts.UserInput(
                email=email,
                password=password,
                first_name="Portal",
                last_name="Administrator",
                role=Role.ADMIN,
            ),
        )
    path = Path(current_app.instance_path) / "first-admin.txt"
    path.write_text(f"e-mail: {email}\npassword: {password}\n")
    path.chmod(0o600)
    click.echo(f"First administrator {email} created; credentials in {path}")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Only when there are no sites yet.")
@click.option("--weeks", default=6, show_default=True)
def load_demo(if_empty: bool, weeks: int) -> None:
    """Load a demo installation (site Solna, floors, stations, users, sessions, alarms)."""
    if if_empty and not demo.is_empty():
        click.echo("The database has data already; demo not loaded.")
        return
    with _unit_of_work():
        summary = demo.load_demo(weeks=weeks)
    click.echo(
        "Demo loaded: " + ", ".join(f"{n} {what}" for what, n in summary.items())
    )
    click.echo(f"Demo users have the password {demo.DEMO_PASSWORD!r}.")


@sites_cli.command("add")
@click.argument("name")
def add_site(name: str) -> None:
    """Add a site."""
    with _unit_of_work():
        site = topology.create_site(None, name)
    click.echo(f"Site {site.name} added.")


@floors_cli.command("add")
@click.argument("name")
@click.option("--site", "site_name", required=True)
def add_floor(name: str, site_name: str) -> None:
    """Add a floor to a site."""
    with _unit_of_work():
        floor = topology.create_floor(None, topology.find_site(site_name), name)
    click.echo(f"Floor {floor.name} added to {floor.site.name}.")


@stations_cli.command("add")
@click.argument("chargebox_id")
@click.option("--site", "site_name", required=True)
@click.option("--floor", "floor_name")
@click.option("--protocol", type=click.Choice(["ocpp16", "ocpp15"]), default="ocpp16")
@click.option("--outlets", type=int, default=1, show_default=True)
@click.option(
    "--access",
    type=click.Choice(["open", "known"]),
    default=None,
    help="Who may charge (default: as the site or system says).",
)
@click.option("--name", default="")
def add_station(
    chargebox_id: str,
    site_name: str,
    floor_name: str | None,
    protocol: str,
    outlets: int,
    access: str | None,
    name: str,
) -> None:
    """Add a station with its outlets."""
    with _unit_of_work():
        site = topology.find_site(site_name)
        floor = topology.find_floor(site, floor_name) if floor_name else None
        data = topology.StationInput(
            chargebox_id=chargebox_id,
            name=name,
            protocol=Protocol.OCPP15_SOAP
            if protocol == "ocpp15"
            else Protocol.OCPP16_JSON,
            outlets=outlets,
            access=AccessRule(access.upper()) if access else None,
        )
        station = topology.create_station(None, data, site=site, floor=floor)
    click.echo(f"Station {station.chargebox_id} added with {outlets} outlet(s).")


@tags_cli.command("add")
@click.argument("tag")
@click.option("--user", "email", required=True)
def add_tag(tag: str, email: str) -> None:
    """Give a user a tag, kept as given (hex UID, decimal print, app token …);
    `0x…` and `04:A1:…` are read as the hex UID."""
    with _unit_of_work():
        user = accounts.find_user_by_email(email)
        if user is None:
            raise click.ClickException(f"No user with the e-mail {email}.")
        row = accounts.add_tag(None, user, tag)
        other = tags.describe(row.tag)
    click.echo(
        f"Tag {row.tag} added to {user.email}" + (f" ({other})." if other else ".")
    )


@tags_cli.command("notation")
@click.argument(
    "notation", type=click.Choice([n.value for n in TagNotation] + ["inherit"])
)
@click.option("--site", "site_name", help="Only this site (default: system-wide).")
@click.option("--station", "chargebox_id", help="Only this station.")
def set_tag_notation(
    notation: str, site_name: str | None, chargebox_id: str | None
) -> None:
    """Say how the readers send a card's UID: exact (as registered), hex or decimal."""
    with _unit_of_work():
        target: SystemSettings | Site | Station
        if chargebox_id:
            station = stations.find_station(chargebox_id)
            if station is None:
                raise click.ClickException(f"No station {chargebox_id}.")
            target = station
        elif site_name:
            target = topology.find_site(site_name)
        else:
            target = topology.get_settings()
        tags.set_notation(
            None, target, None if notation == "inherit" else TagNotation(notation)
        )
    click.echo(f"Tag notation of {target}: {notation}.")


def _zone() -> ZoneInfo:
    """Times in tag files are in the portal's time zone, as on its pages."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


@tags_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--apply", "really", is_flag=True, help="Import (default: dry run).")
def import_tags(file: Path, really: bool) -> None:
    """Import a tag file (.csv or .xlsx: tag, user, parent, expiry, blocked, groups);
    without --apply only say what would change. One bad row: nothing changes."""
    with _unit_of_work():
        data = tag_files.read(file.name, file.read_bytes())
        result = tag_import.plan(None, data, zone=_zone())
        for error in result.errors:
            click.echo(str(error), err=True)
        if not result.ok:
            raise tag_import.ImportRefused(result)
        for row in result.rows:
            if row.action != tag_import.UNCHANGED:
                changes = ", ".join(
                    f"{name}: {old} -> {new}"
                    for name, (old, new) in row.changes.items()
                )
                click.echo(f"row {row.row}: {row.tag} {row.action} {changes}".rstrip())
        if really:
            tag_import.apply(None, data, zone=_zone())
    counts = ", ".join(
        f"{result.count(action)} {action}"
        for action in (tag_import.NEW, tag_import.CHANGED, tag_import.UNCHANGED)
    )
    click.echo(f"{'Imported' if really else 'Dry run (nothing changed)'}: {counts}.")


@tags_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export_tags(file: Path) -> None:
    """Write the tag register to a .csv or .xlsx file (the import's format)."""
    try:
        kind = tag_files.extension_of(file.name)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    ids = tag_export.scoped_ids(None)
    with file.open("wb") as out:
        for chunk in tag_export.export_file(kind, ids, zone=_zone()):
            out.write(chunk)
    click.echo(f"{len(ids)} tags written to {file}.")


@jobs_cli.command("list")
def list_jobs() -> None:
    """List the periodic jobs and when they run."""
    for job in jobs.JOBS:
        when = ", ".join(f"{k}={v}" for k, v in job.trigger.items())
        click.echo(f"{job.id:24} {when:40} {job.description}")


@jobs_cli.command("run")
@click.argument("job_id")
def run_job(job_id: str) -> None:
    """Run one job now."""
    try:
        job = jobs.find_job(job_id)
    except KeyError:
        raise click.ClickException(f"No job {job_id!r}; see `jobs list`.") from None
    result = jobs.run_job(current_app._get_current_object(), job)  # type: ignore[attr-defined]
    click.echo(f"{job.id}: {result}")


def _backup_target() -> backups.BackupTarget:
    return backups.BackupTarget.from_app(current_app)


@backup_cli.command("create")
def create_backup() -> None:
    """Back up the database now into the backup folder."""
    try:
        backup = backups.create_backup(_backup_target(), label="manual")
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup written: {backup.path} ({backup.size} bytes)")


@backup_cli.command("list")
def list_backups() -> None:
    """List the backups, oldest first."""
    target = _backup_target()
    found = backups.list_backups(target)
    if not found:
        click.echo(f"No backups in {target.folder}.")
    for backup in found:
        click.echo(
            f"{backup.name:52} {backup.created_at:%Y-%m-%d %H:%M:%S} UTC"
            f" {backup.size:>12} bytes"
        )


@backup_cli.command("restore")
@click.argument("file")
@click.option("--yes", is_flag=True, help="Really replace the database.")
def restore_backup(file: str, yes: bool) -> None:
    """Replace the database with a backup (a path, or a name from `backup list`).

    The file is verified first; without --yes nothing is changed.
    """
    target = _backup_target()
    try:
        path = backups.resolve(target, file)
        check = backups.verify_backup(target, path)
        click.echo(f"{path.name}: a good backup (schema revision {check.revision}).")
        if not yes:
            raise click.ClickException(
                "Restoring replaces every row of the database; run again with --yes."
            )
        safety = backups.restore_backup(target, path)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Database restored from {path.name}.")
    click.echo(f"The database as it was before is kept in {safety.name}.")
    click.echo(
        "Run `flask --app wsgi db upgrade` if the backup is older than the code."
    )


_GROUPS: list[Callable[..., Any]] = [
    backup_cli,
    jobs_cli,
    users_cli,
    demo_cli,
    sites_cli,
    floors_cli,
    stations_cli,
    tags_cli,
]


def init_app(app: Flask) -> None:
    """Register the command groups."""
    for group in _GROUPS:
        app.cli.add_command(group)  # type: ignore[arg-type]
