"""The portal's database for a run: fresh, with N stations of one OPEN outlet each."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.load.settings import ROOT, SECRET_KEY, chargebox_id


@dataclass(frozen=True)
class Database:
    url: str  #: DATABASE_URL for the server process
    description: str
    instance: Path


def prepare_database(tmp: Path, stations: int, ocpp: str = "1.6") -> Database:
    """Fresh schema through the real migrations, then N stations with 1 OPEN outlet."""
    from sqlalchemy import create_engine, make_url, text

    from app.config import normalise_database_url

    instance = tmp / "instance"
    instance.mkdir(exist_ok=True)
    url = os.environ.get("DATABASE_URL")
    if url:
        shown = make_url(normalise_database_url(url)).render_as_string(
            hide_password=True
        )
        description = f"PostgreSQL {shown} (its tables are DROPPED and recreated)"
        engine = create_engine(normalise_database_url(url))
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        path = tmp / "portal.db"
        url = f"sqlite:///{path}"
        description = f"SQLite {path}"
    database = Database(url, description, instance)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=portal_env(database),
        check=True,
        capture_output=True,
    )
    register_stations(normalise_database_url(url), stations, ocpp)
    return database


def register_stations(url: str, stations: int, ocpp: str = "1.6") -> None:
    """Bulk insert: settings, one site, N stations speaking ``ocpp`` (as a fleet that
    was connected before), each with outlet 1, open to anyone (the system default)."""
    from sqlalchemy import create_engine, insert, select

    from app.models import (
        AccessRule,
        ConnectPolicy,
        Outlet,
        OutletStatus,
        Protocol,
        Site,
        Station,
        SystemSettings,
    )

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            insert(SystemSettings),
            [
                {
                    "id": 1,
                    "connect_policy": ConnectPolicy.KNOWN_ONLY,
                    "default_access": AccessRule.OPEN,
                }
            ],
        )
        site_id = connection.execute(
            insert(Site).values(name="Bench site").returning(Site.id)
        ).scalar_one()
        connection.execute(
            insert(Station),
            [
                {
                    "chargebox_id": chargebox_id(n),
                    "name": f"Bench station {n}",
                    "protocol": Protocol.OCPP201_JSON
                    if ocpp == "2.0.1"
                    else Protocol.OCPP16_JSON,
                    "site_id": site_id,
                    "heartbeat_interval": 300,
                }
                for n in range(stations)
            ],
        )
        station_ids = connection.execute(select(Station.id)).scalars().all()
        connection.execute(
            insert(Outlet),
            [
                {
                    "station_id": station_id,
                    "number": 1,
                    "status": OutletStatus.AVAILABLE,
                }
                for station_id in station_ids
            ],
        )
    engine.dispose()


def portal_env(
    database: Database, args: argparse.Namespace | None = None
) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database.url,
        "PORTAL_INSTANCE_PATH": str(database.instance),
        "FLASK_SECRET_KEY": SECRET_KEY,
    }
    env.pop("REDIS_URL", None)
    if args is not None and args.redis:
        env["REDIS_URL"] = args.redis
        env["FLASK_REDIS_KEY_PREFIX"] = args.redis_prefix
    return env
