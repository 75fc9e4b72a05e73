"""Tag register files: read an uploaded CSV or .xlsx into rows of cells, by column.

The columns of a tag file (issue #19 item 6), in any order; header names are read
case-insensitively, blanks, "-" and "_" ignored, and each accepts a few names:

=========  ===================================================  =========
column     header names accepted                                required
=========  ===================================================  =========
tag        tag, idtag, id tag, rfid, rfid tag                   yes
user       user, email, e-mail, user e-mail, user email         no
parent     parent, parent tag, parent idtag, parentidtag        no
expiry     expiry, expires, expires at, expiry date, expirydate no
blocked    blocked                                              no
groups     groups, group                                        no
=========  ===================================================  =========

A CSV is UTF-8 (with or without BOM; Windows-1252 is accepted too), separated by
"," or ";" (as Excel writes it in Swedish). An .xlsx is read from its first sheet.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook

from app.services.errors import InvalidInput

MAX_BYTES = 10 * 1024 * 1024  # 10 MB: ~ 150,000 tags as CSV
MAX_ROWS = 100_000
EXTENSIONS = ("csv", "xlsx")

COLUMNS = ("tag", "user", "parent", "expiry", "blocked", "groups")
_ALIASES = {
    "tag": ("tag", "idtag", "rfid", "rfidtag"),
    "user": ("user", "email", "useremail"),
    "parent": ("parent", "parenttag", "parentidtag"),
    "expiry": ("expiry", "expires", "expiresat", "expirydate"),
    "blocked": ("blocked",),
    "groups": ("groups", "group"),
}
_HEADER_NAMES = {alias: column for column, names in _ALIASES.items() for alias in names}


@dataclass(frozen=True)
class TagFile:
    """The rows of a tag file: `columns` maps a column to its cell index; rows are
    (file row number, cells) with the header as row 1."""

    columns: dict[str, int]
    rows: list[tuple[int, list[Any]]]

    def cell(self, cells: list[Any], column: str) -> Any:
        index = self.columns.get(column)
        if index is None or index >= len(cells):
            return None
        return cells[index]


def _normalised(header: Any) -> str:
    text = "" if header is None else str(header)
    return "".join(c for c in text.lower() if c not in " -_\t")


def _columns(header: list[Any]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        if _normalised(name) == "":
            continue
        column = _HEADER_NAMES.get(_normalised(name))
        if column is None:
            raise InvalidInput(
                _l(
                    "Unknown column %(name)s in the header; the columns are: "
                    "%(columns)s.",
                    name=str(name).strip(),
                    columns=", ".join(COLUMNS),
                )
            )
        if column in columns:
            raise InvalidInput(
                _l("The column %(name)s is there twice.", name=str(name).strip())
            )
        columns[column] = index
    if "tag" not in columns:
        raise InvalidInput(
            _l("The file has no column tag (the first row names the columns).")
        )
    return columns


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _csv_rows(data: bytes) -> list[list[Any]]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InvalidInput(
            _l("The CSV file cannot be read: %(reason)s.", reason=str(exc))
        ) from None


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise InvalidInput(
            _l("The file is not an Excel workbook (.xlsx) that can be read.")
        ) from None
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def extension_of(file_name: str) -> str:
    """The file's kind by its name (csv or xlsx); anything else is refused."""
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if extension not in EXTENSIONS:
        raise InvalidInput(
            _l(
                "A tag file is a .csv or an .xlsx file; this one is %(name)s.",
                name=file_name or "?",
            )
        )
    return extension


def read(file_name: str, data: bytes) -> TagFile:
    """Read a tag file; raises InvalidInput with the reason when it cannot be."""
    extension = extension_of(file_name)
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            _l(
                "The file is too big (%(size)d MB); at most %(max)d MB.",
                size=len(data) // (1024 * 1024) + 1,
                max=MAX_BYTES // (1024 * 1024),
            )
        )
    rows = _csv_rows(data) if extension == "csv" else _xlsx_rows(data)
    if not rows:
        raise InvalidInput(_l("The file is empty."))
    columns = _columns(rows[0])
    body = [
        (number, cells)
        for number, cells in enumerate(rows[1:], start=2)
        if any(cell not in (None, "") for cell in cells)
    ]
    if len(body) > MAX_ROWS:
        raise InvalidInput(
            _l(
                "The file has %(rows)d tags; at most %(max)d in one file.",
                rows=len(body),
                max=MAX_ROWS,
            )
        )
    return TagFile(columns, body)


# Cells: what a value in a column means.

CHUNK = 500  # bound parameters per IN (…) list
_TRUE = frozenset({"yes", "y", "true", "1", "x", "ja", "j", "blocked"})
_FALSE = frozenset({"", "no", "n", "false", "0", "nej"})


def chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """The values in slices of CHUNK (bound parameters per IN (…) list)."""
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))  # a decimal tag typed into Excel is a number
    return str(value).strip()


def cell_expiry(value: Any, zone: tzinfo) -> datetime | None:
    """A moment from a cell: an Excel date, or ISO text (a date alone: its 00:00);
    without an offset it is in the portal's time zone. Whole seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                _l(
                    "%(value)s is not a date (write 2027-12-31 or 2027-12-31 23:59).",
                    value=text,
                )
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC).replace(microsecond=0)


def yes_no(flag: bool) -> str:
    """A flag as the file writes it."""
    return "yes" if flag else "no"


def cell_blocked(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = cell_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(_l("%(value)s is not yes or no.", value=cell_text(value)))


def cell_groups(value: Any) -> list[str]:
    names = [name.strip() for name in cell_text(value).split(";")]
    return list(dict.fromkeys(name for name in names if name))
