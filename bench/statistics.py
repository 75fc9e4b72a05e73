"""Benchmark: statistics, diagrams and exports at 1,000,000 sessions (issue 5).

Generates a fresh database (50 sites, 2,000 stations, 4,000 outlets, 10,000 EV
users, 1,000,000 charging sessions over two years) with bulk inserts (executemany on
SQLite, COPY on PostgreSQL), serves the portal with gunicorn in a subprocess, and
times the real HTTP endpoints: the first statistics page, a filtered and sorted
page, a session's detail, a diagram's data, and the .xlsx export of 64,000 and of
1,000,000 filtered rows (time to first byte, total time, peak server RSS).

    .venv/bin/python bench/statistics.py                # SQLite in a temporary folder
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/statistics.py

With DATABASE_URL set, everything goes into the schema `bench_statistics` of that
database, dropped and recreated at the start and dropped at the end (--keep keeps
it); the database's other schemas are not touched.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Connection, Engine  # noqa: E402

SCHEMA = "bench_statistics"
PASSWORD = "bench1234"
SEED = 4082


@dataclass(frozen=True)
class Shape:
    sessions: int
    sites: int
    stations: int
    users: int
    days: int = 730


# ---------------------------------------------------------------------------
# The database


def database_urls(tmp: Path, *, fresh: bool = True) -> tuple[str, str]:
    """Return (SQLAlchemy URL, a description) of the benchmark's database.

    fresh: start empty (SQLite: a new file; PostgreSQL: the schema recreated).
    """
    from app.config import normalise_database_url

    url = os.environ.get("DATABASE_URL")
    if not url:
        path = tmp / "bench.db"
        if fresh:
            path.unlink(missing_ok=True)
        return f"sqlite:///{path}", f"SQLite file {path}"
    url = normalise_database_url(url)
    if fresh:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        engine.dispose()
    joiner = "&" if "?" in url else "?"
    scoped = f"{url}{joiner}options=-csearch_path%3D{SCHEMA}"
    return scoped, f"PostgreSQL, schema {SCHEMA} of {url.rsplit('/', 1)[-1]}"


def drop_schema() -> None:
    from app.config import normalise_database_url

    engine = create_engine(normalise_database_url(os.environ["DATABASE_URL"]))
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    engine.dispose()


def app_config(url: str, instance: Path) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "INSTANCE_PATH": str(instance),
    }


def migrate(url: str, instance: Path) -> None:
    """Build the schema through the real Alembic migrations."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    app = create_app(app_config(url, instance))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _sqlite_moment(moment: datetime) -> str:
    # The text SQLAlchemy's SQLite DateTime stores (compared as text in filters).
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


class Loader:
    """Bulk rows into one table: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"

    def value(self, value: Any) -> Any:
        if isinstance(value, datetime) and not self.postgres:
            return _sqlite_moment(value)
        return value

    def load(
        self, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]
    ) -> int:
        count = 0
        names = ", ".join(f'"{c}"' for c in columns)
        if self.postgres:
            raw = self.connection.connection.driver_connection
            with (
                raw.cursor() as cursor,  # type: ignore[union-attr]
                cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy,
            ):
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        marks = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
        cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(tuple(self.value(v) for v in row))
            if len(batch) >= 20_000:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
        cursor.close()
        return count


def generate(engine: Engine, shape: Shape, now: datetime) -> None:
    """Fill the database with bulk inserts; the session detail_id gets meter values."""
    from werkzeug.security import generate_password_hash

    from app.services.accounts import PASSWORD_METHOD

    rng = random.Random(SEED)
    password_hash = generate_password_hash(PASSWORD, method=PASSWORD_METHOD)
    per_site = shape.stations // shape.sites
    with engine.begin() as connection:
        load = Loader(connection)
        load.load(
            "site",
            [
                "id",
                "uuid",
                "name",
                "street",
                "postcode",
                "city",
                "country",
                "created_at",
            ],
            (
                (
                    n,
                    f"00000000-0000-4000-8000-{n:012d}",
                    f"Site {n:02d}",
                    "",
                    "",
                    "",
                    "",
                    now,
                )
                for n in range(1, shape.sites + 1)
            ),
        )
        load.load(
            "station",
            [
                "id",
                "uuid",
                "chargebox_id",
                "name",
                "description",
                "protocol",
                "site_id",
                "heartbeat_interval",
                "availability",
                "registration",
                "online",
                "vendor",
                "model",
                "serial_number",
                "firmware_version",
                "firmware_status",
                "diagnostics_status",
                "street",
                "postcode",
                "city",
                "country",
                "created_at",
            ],
            (
                (
                    n,
                    f"00000000-0000-4000-9000-{n:012d}",
                    f"{n:09d}",
                    f"Station {n:04d}",
                    "",
                    "OCPP16_JSON",
                    (n - 1) // per_site + 1,
                    300,
                    "public",
                    "accepted",
                    True,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    now,
                )
                for n in range(1, shape.stations + 1)
            ),
        )
        load.load(
            "outlet",
            [
                "id",
                "uuid",
                "station_id",
                "number",
                "connector_type",
                "parking",
                "mode",
                "status",
                "error_code",
            ],
            (
                (
                    2 * (n - 1) + k,
                    f"00000000-0000-4000-a000-{2 * (n - 1) + k:012d}",
                    n,
                    k,
                    "Type 2",
                    "",
                    "RFID",
                    "available",
                    "",
                )
                for n in range(1, shape.stations + 1)
                for k in (1, 2)
            ),
        )
        staff = [
            (1, "bench@example.com", "administrator"),
            (2, "site.bench@example.com", "site_admin"),
        ]
        load.load(
            "user",
            [
                "id",
                "email",
                "password_hash",
                "first_name",
                "last_name",
                "role",
                "email_at_alarm",
                "parking",
                "session_version",
                "active",
                "created_at",
                "updated_at",
            ],
            (
                (
                    uid,
                    email,
                    password_hash,
                    "Bench",
                    role,
                    role,
                    False,
                    "",
                    1,
                    True,
                    now,
                    now,
                )
                for uid, email, role in [
                    *staff,
                    *(
                        (n + 10, f"ev{n}@example.com", "ev_user")
                        for n in range(1, shape.users + 1)
                    ),
                ]
            ),
        )
        load.load("site_grant", ["user_id", "site_id"], iter([(2, 1)]))
        load.load(
            "rfid_tag",
            ["id", "tag", "user_id", "blocked", "created_at"],
            (
                (n, str(1_000_000 + n), n + 10, False, now)
                for n in range(1, shape.users + 1)
            ),
        )

        start0 = now - timedelta(days=shape.days)
        span = shape.days * 86400
        starts = sorted(rng.random() * span for _ in range(shape.sessions))

        def sessions() -> Iterator[tuple[Any, ...]]:
            for ident, offset in enumerate(starts, start=1):
                station = rng.randint(1, shape.stations)
                number = rng.randint(1, 2)
                started = start0 + timedelta(seconds=round(offset, 1))
                minutes = rng.randint(10, 600)
                ended = started + timedelta(minutes=minutes, seconds=rng.randint(0, 59))
                energy = round(minutes / 60 * rng.uniform(2.0, 11.0), 3)
                user = rng.randint(1, shape.users) if rng.random() < 0.8 else None
                meter = round(rng.uniform(1000, 90000), 3)
                yield (
                    ident,
                    (station - 1) // per_site + 1,
                    station,
                    2 * (station - 1) + number,
                    number,
                    started,
                    ended,
                    ended + timedelta(seconds=2),
                    1 if user else 0,
                    str(1_000_000 + user) if user else None,
                    user + 10 if user else None,
                    round(meter - energy, 3),
                    meter,
                    energy,
                    "EVDisconnected",
                )

        load.load(
            "charging_session",
            [
                "id",
                "site_id",
                "station_id",
                "outlet_id",
                "outlet_number",
                "started_at",
                "ended_at",
                "logged_at",
                "authentication",
                "tag",
                "user_id",
                "meter_start_kwh",
                "meter_kwh",
                "energy_kwh",
                "stop_reason",
            ],
            sessions(),
        )
        detail_id = shape.sessions // 2
        row = connection.execute(
            text(
                "SELECT outlet_id, started_at, ended_at, meter_start_kwh, energy_kwh "
                "FROM charging_session WHERE id = :id"
            ),
            {"id": detail_id},
        ).one()
        outlet_id, started, ended, meter_start, energy = row
        if isinstance(started, str):
            started = datetime.fromisoformat(started).replace(tzinfo=UTC)
            ended = datetime.fromisoformat(ended).replace(tzinfo=UTC)
        samples = 20
        load.load(
            "meter_value",
            [
                "session_id",
                "outlet_id",
                "sampled_at",
                "measurand",
                "value",
                "unit",
                "phase",
                "context",
            ],
            (
                (
                    detail_id,
                    outlet_id,
                    started + (ended - started) * k / samples,
                    "Energy.Active.Import.Register",
                    round((meter_start + energy * k / samples) * 1000, 1),
                    "Wh",
                    "",
                    "Sample.Periodic",
                )
                for k in range(samples + 1)
            ),
        )
        kinds = ["hardware_failure", "over_current", "temperature", "no_network"]
        load.load(
            "alarm",
            [
                "kind",
                "state",
                "subject",
                "node_name",
                "site_id",
                "station_id",
                "description",
                "raised_at",
                "ended_at",
            ],
            (
                (
                    kinds[n % 4],
                    "active" if n < 200 else "resolved",
                    f"station:{n + 1}",
                    f"{n + 1:09d}",
                    n // per_site + 1,
                    n + 1,
                    kinds[n % 4],
                    now - timedelta(hours=n),
                    None if n < 200 else now,
                )
                for n in range(shape.stations)
            ),
        )
    analyse(engine)


def analyse(engine: Engine) -> None:
    """Give the query planner statistics, as a production database has them."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE")
            )
        else:
            connection.execute(text("ANALYZE"))
            connection.commit()


# ---------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """gunicorn (1 worker, 4 threads) serving wsgi:app on the benchmark database."""

    def __init__(self, url: str, instance: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PORTAL_INSTANCE_PATH": str(instance),
            "FLASK_SECRET_KEY": "bench-secret-key-0123456789abcdef",
        }
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers=1",
                "--threads=4",
                "--timeout=600",
                f"--bind=127.0.0.1:{self.port}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.base}/login", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            self.stop()
            raise RuntimeError("the server did not start")

    def worker_pid(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = children.read_text().split()
        return int(pids[0])

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.worker_pid()}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else float("nan")

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.worker_pid()}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else float("nan")

    def reset_peak(self) -> None:
        # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
        Path(f"/proc/{self.worker_pid()}/clear_refs").write_text("5")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


# ---------------------------------------------------------------------------
# Measurements


def log_in(base: str, email: str) -> requests.Session:
    client = requests.Session()
    page = client.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {"email": email, "password": PASSWORD}
    if token:
        data["csrf_token"] = token.group(1)
    response = client.post(
        f"{base}/login", data=data, timeout=30, allow_redirects=False
    )
    if response.status_code != 302:
        raise RuntimeError(f"login failed: {response.status_code}")
    return client


@dataclass
class Result:
    name: str
    times: list[float]
    rows: str = ""
    first_byte: float | None = None
    peak_rss: float | None = None
    size: int | None = None
    target: str = ""


def timed_get(client: requests.Session, url: str, **params: Any) -> tuple[float, bytes]:
    started = time.perf_counter()
    response = client.get(url, params=params, timeout=600)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(
            f"{url} answered {response.status_code}: {response.text[:300]}"
        )
    return elapsed, response.content


def repeat(
    client: requests.Session, times: int, url: str, **params: Any
) -> tuple[list[float], bytes]:
    client.get(url, params=params, timeout=600)  # warm-up (caches, connections)
    results = [timed_get(client, url, **params) for _ in range(times)]
    return [t for t, _ in results], results[-1][1]


def export(client: requests.Session, server: Server, url: str, **params: Any) -> Result:
    server.reset_peak()
    started = time.perf_counter()
    size = 0
    first = None
    with client.get(url, params=params, stream=True, timeout=900) as response:
        if response.status_code != 200:
            raise RuntimeError(f"export answered {response.status_code}")
        for chunk in response.iter_content(chunk_size=1 << 16):
            if first is None:
                first = time.perf_counter() - started
            size += len(chunk)
    total = time.perf_counter() - started
    return Result(
        "", [total], first_byte=first, peak_rss=server.peak_rss_mb(), size=size
    )


def count_rows(data: bytes) -> int:
    return len(re.findall(rb"<row ", data)) - 1 if data[:2] != b"PK" else -1


def measure(server: Server, facts: dict[str, Any], repeats: int) -> list[Result]:
    client = log_in(server.base, "bench@example.com")
    facts["idle_rss"] = server.rss_mb()
    base = f"{server.base}/admin/statistics/"
    results: list[Result] = []

    times, _page = repeat(client, repeats, base)
    results.append(
        Result("statistics, first page (50 rows, unfiltered)", times, "1,000,000")
    )

    now = datetime.now(UTC)
    filtered = {
        "flt0_site_equals": "1",
        "flt1_start_time_between": (
            f"{(now - timedelta(days=120)):%Y-%m-%d 00:00:00} to {now:%Y-%m-%d 23:59:59}"
        ),
        "flt2_energy_between": "10 to 40",
        "sort": "5",
        "desc": "1",
    }
    times, page = repeat(client, repeats, base, **filtered)
    match = re.search(rb"Rows \S+ of ([\d,]+)", page)
    results.append(
        Result(
            "statistics, site + date range + energy range, sorted by energy",
            times,
            match.group(1).decode() if match else "?",
            target="<= 150 ms",
        )
    )

    times, _page = repeat(client, repeats, f"{base}details/", id=facts["detail_id"])
    results.append(Result("session detail (with 21 meter values)", times, "1"))

    diagram = f"{server.base}/admin/diagrams/data"
    year = {
        "from": f"{(now - timedelta(days=365)):%Y-%m-%d}",
        "to": f"{now:%Y-%m-%d}",
    }
    times, _data = repeat(
        client, repeats, diagram, chart="energy_day", node="system", **year
    )
    results.append(
        Result("diagram data: energy per day, whole system, 1 year", times, "~500,000")
    )
    times, _data = repeat(
        client, repeats, diagram, chart="energy_day", node="site:1", **year
    )
    results.append(
        Result("diagram data: energy per day, one site, 1 year", times, "~10,000")
    )
    times, _data = repeat(
        client, repeats, diagram, chart="utilisation", node="system", **year
    )
    results.append(
        Result("diagram data: utilisation per station, 1 year", times, "~500,000")
    )

    for rows, target in ((64_000, "<= 3 s"), (facts["sessions"], "RSS <= 300 MB")):
        ids = {"flt0_session_id_between": f"1 to {rows}"}
        result = export(client, server, f"{base}export/xlsx/", **ids)
        result.name = f"export .xlsx, {rows:,} filtered rows"
        result.rows = f"{rows:,}"
        result.target = target
        results.append(result)
    return results


def _median(values: list[float]) -> float:
    # (Not the statistics module: this file's own name shadows it.)
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def print_table(
    results: list[Result], database: str, shape: Shape, load_s: float | None
) -> None:
    print()
    print(f"Database: {database}")
    print(
        f"Data: {shape.sessions:,} sessions, {shape.sites} sites, {shape.stations:,} "
        f"stations, {shape.users:,} EV users"
        + (f"; generated in {load_s:.0f} s" if load_s is not None else "")
    )
    print()
    header = (
        f"| {'what':<62} | {'rows':>9} | {'median':>9} | {'min':>9} "
        f"| {'first byte':>10} | {'peak RSS':>9} | {'target':<14} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for r in results:
        median = _median(r.times)
        low = min(r.times)

        def fmt(seconds: float) -> str:
            return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"

        first = fmt(r.first_byte) if r.first_byte is not None else ""
        rss = f"{r.peak_rss:.0f} MB" if r.peak_rss is not None else ""
        print(
            f"| {r.name:<62} | {r.rows:>9} | {fmt(median):>9} | {fmt(low):>9} | "
            f"{first:>10} | {rss:>9} | {r.target:<14} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--stations", type=int, default=2_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per page")
    parser.add_argument("--dir", type=Path, help="folder for the SQLite file")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--reuse", action="store_true", help="measure a database kept by --keep"
    )
    args = parser.parse_args(argv)
    shape = Shape(args.sessions, args.sites, args.stations, args.users)

    tmp = Path(args.dir or tempfile.mkdtemp(prefix="bench-statistics-"))
    tmp.mkdir(parents=True, exist_ok=True)
    instance = tmp / "instance"
    instance.mkdir(exist_ok=True)
    url, database = database_urls(tmp, fresh=not args.reuse)
    print(f"Database: {database}", flush=True)
    load_s = None
    if not args.reuse:
        started = time.perf_counter()
        migrate(url, instance)
        engine = create_engine(url)
        generate(engine, shape, datetime.now(UTC).replace(microsecond=0))
        engine.dispose()
        load_s = time.perf_counter() - started
        print(f"Generated {shape.sessions:,} sessions in {load_s:.0f} s", flush=True)
    facts: dict[str, Any] = {
        "detail_id": shape.sessions // 2,
        "sessions": shape.sessions,
    }
    try:
        server = Server(url, instance)
        try:
            results = measure(server, facts, args.repeat)
        finally:
            server.stop()
    finally:
        if not args.keep:
            if os.environ.get("DATABASE_URL"):
                drop_schema()
            elif not args.dir:
                shutil.rmtree(tmp, ignore_errors=True)
    print_table(results, database, shape, load_s)
    print(
        f"\nServer: gunicorn, 1 worker x 4 threads; worker RSS after start "
        f"{facts['idle_rss']:.0f} MB; load average at the end "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
