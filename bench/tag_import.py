"""Benchmark: import 10,000 tags from one file, dry run and import (issue #19 item 6).

Builds a fresh database through the migrations, adds 2,000 EV users and 5 groups,
writes a 10,000-tag file as CSV and as .xlsx (hex UIDs, decimal prints and app
tokens; 80 % with a user, 10 % with a parent in the file, 30 % with an expiry, 2 %
blocked, 30 % in a group), and times with app/services/tag_import.py:

1. the CSV into an empty register: reading the file, the dry run, the import
   (10,000 new, committed);
2. the .xlsx of the same tags with 1,000 of them changed, against the full
   register: reading, dry run, import (1,000 changed, 9,000 unchanged).

    .venv/bin/python bench/tag_import.py                 # SQLite in a temporary folder
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/tag_import.py

With DATABASE_URL set, everything goes into the schema `bench_tag_import` of that
database, dropped and recreated at the start and dropped at the end.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402

SCHEMA = "bench_tag_import"
SEED = 1919
HEADER = ["tag", "user e-mail", "parent", "expiry", "blocked", "groups"]
GROUPS = ["Fleet cars", "Tenants house 1", "Tenants house 2", "Visitors", "Staff"]
T = TypeVar("T")


def database_url(tmp: Path) -> tuple[str, str]:
    from app.config import normalise_database_url

    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp / 'bench.db'}", "SQLite (file)"
    url = normalise_database_url(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{SCHEMA}", "PostgreSQL"


def drop_schema() -> None:
    from app.config import normalise_database_url

    engine = create_engine(normalise_database_url(os.environ["DATABASE_URL"]))
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    engine.dispose()


def tag_rows(count: int, users: int, *, changed: int = 0) -> list[list[Any]]:
    """The file's rows; with `changed`, that many rows differ (blocked flipped)."""
    rng = random.Random(SEED)
    rows: list[list[Any]] = []
    for n in range(count):
        kind = n % 3
        if kind == 0:
            tag = f"04{rng.getrandbits(48):012X}"  # 7-byte UID in hex
        elif kind == 1:
            tag = str(rng.getrandbits(32) | 1 << 31)  # a decimal print
        else:
            tag = f"APP-{n:06d}"
        user = f"driver{rng.randrange(users)}@example.com" if rng.random() < 0.8 else ""
        parent = rows[rng.randrange(n)][0] if n > 10 and rng.random() < 0.1 else ""
        expiry = (
            (datetime(2027, 1, 1) + timedelta(days=rng.randrange(730))).strftime(
                "%Y-%m-%d"
            )
            if rng.random() < 0.3
            else ""
        )
        blocked = rng.random() < 0.02
        if n < changed:
            blocked = not blocked
        groups = rng.choice(GROUPS) if rng.random() < 0.3 else ""
        rows.append([tag, user, parent, expiry, "yes" if blocked else "no", groups])
    return rows


def as_csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def as_xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Tags")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def timed(label: str, work: Callable[[], T], figures: list[tuple[str, float]]) -> T:
    start = time.perf_counter()
    result = work()
    figures.append((label, time.perf_counter() - start))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=2_000)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import Role, User, UserGroup
    from app.services import tag_export, tag_files, tag_import

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        url, kind = database_url(tmp)
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "bench-secret-key-0123456789abcdef",
                "INSTANCE_PATH": str(tmp / "instance"),
            }
        )
        with app.app_context():
            upgrade()
            now = datetime.now(UTC)
            db.session.execute(
                insert(User),
                [
                    {
                        "email": f"driver{n}@example.com",
                        "password_hash": "!",
                        "role": Role.EV_USER,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(args.users)
                ],
            )
            db.session.add_all(UserGroup(name=name) for name in GROUPS)
            db.session.commit()

            first = tag_rows(args.tags, args.users)
            second = tag_rows(args.tags, args.users, changed=args.tags // 10)
            csv_bytes, xlsx_bytes = as_csv(first), as_xlsx(second)
            figures: list[tuple[str, float]] = []

            data = timed(
                "CSV: read the file",
                lambda: tag_files.read("tags.csv", csv_bytes),
                figures,
            )
            plan = timed(
                "CSV: dry run (all new)", lambda: tag_import.plan(None, data), figures
            )
            db.session.rollback()

            def import_csv() -> Any:
                result = tag_import.apply(None, data)
                db.session.commit()
                return result

            applied = timed("CSV: import and commit", import_csv, figures)
            data2 = timed(
                ".xlsx: read the file",
                lambda: tag_files.read("tags.xlsx", xlsx_bytes),
                figures,
            )
            plan2 = timed(
                ".xlsx: dry run (against the register)",
                lambda: tag_import.plan(None, data2),
                figures,
            )
            db.session.rollback()

            def import_xlsx() -> Any:
                result = tag_import.apply(None, data2)
                db.session.commit()
                return result

            applied2 = timed(".xlsx: import and commit", import_xlsx, figures)
            ids = tag_export.scoped_ids(None)
            timed(
                "export the register as CSV",
                lambda: b"".join(tag_export.export_file("csv", ids)),
                figures,
            )
            db.session.remove()
            db.engine.dispose()

    print(f"Tag import, {args.tags:,} tags, {args.users:,} users, {kind}")
    print(f"  CSV {len(csv_bytes):,} bytes, .xlsx {len(xlsx_bytes):,} bytes")
    for result, name in (
        (plan, "CSV dry run"),
        (applied, "CSV import"),
        (plan2, ".xlsx dry run"),
        (applied2, ".xlsx import"),
    ):
        print(
            f"  {name}: {result.count('new')} new, {result.count('changed')} changed,"
            f" {result.count('unchanged')} unchanged, {len(result.errors)} refused"
        )
    for label, seconds in figures:
        print(f"  {label:44} {seconds:7.2f} s")
    if os.environ.get("DATABASE_URL"):
        drop_schema()


if __name__ == "__main__":
    main()
