"""app/services/exports.py: streamed .xlsx with typed cells, and CSV (spec §6)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from app.models import AlarmState
from app.services import exports

HEADERS = [
    "when",
    "duration",
    "energy",
    "count",
    "ok",
    "text",
    "day",
    "nothing",
    "state",
]
ROW = (
    datetime(2026, 3, 2, 8, 30, 15, 400_000, tzinfo=UTC),
    timedelta(hours=5, minutes=16, seconds=50),
    12.345,
    7,
    True,
    "A & B <c>\x07",
    date(2026, 3, 2),
    None,
    AlarmState.CLEARED,
)


def workbook(chunks):
    return load_workbook(io.BytesIO(b"".join(chunks)))


def test_cells_keep_their_types():
    sheet = workbook(exports.stream_xlsx(HEADERS, [ROW])).active
    header, row = sheet.iter_rows(values_only=True)
    assert list(header) == HEADERS
    assert row == (
        datetime(2026, 3, 2, 8, 30, 15, 400_000),
        timedelta(hours=5, minutes=16, seconds=50),
        12.345,
        7,
        True,
        "A & B <c>",
        datetime(2026, 3, 2),
        None,
        "cleared",
    )
    assert sheet["A2"].is_date and sheet["B2"].number_format == "[h]:mm:ss"


def test_times_are_written_in_the_portals_zone():
    rows = [(datetime(2026, 7, 1, 22, 30, tzinfo=UTC),)]
    sheet = workbook(
        exports.stream_xlsx(["when"], rows, zone=ZoneInfo("Europe/Stockholm"))
    )
    assert sheet.active["A2"].value == datetime(2026, 7, 2, 0, 30)


def test_the_first_bytes_leave_before_any_row_is_read():
    def rows():
        raise AssertionError("read too early")
        yield ()

    first = next(exports.stream_xlsx(["a"], rows()))
    assert first.startswith(b"PK")


def test_a_sheet_is_a_valid_zip_with_every_part():
    data = b"".join(exports.stream_xlsx(["a"], [(1,)], title="Statistics: 2026/03"))
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == [
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        "xl/worksheets/sheet1.xml",
    ]
    assert load_workbook(io.BytesIO(data)).sheetnames == ["Statistics  2026 03"]


def test_more_rows_than_a_sheet_holds_are_refused(monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)
    with pytest.raises(exports.ExportTooLarge, match="more than an Excel sheet holds"):
        b"".join(exports.stream_xlsx(["n"], [(n,) for n in range(4)]))


def test_a_sheet_of_exactly_the_limit_is_written(monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)
    sheet = workbook(exports.stream_xlsx(["n"], [(n,) for n in range(3)])).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [0, 1, 2]


def test_csv_has_no_row_limit_and_times_as_on_screen(monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)
    rows = [
        (
            datetime(2026, 3, 2, 8, 30, 15, 400_000, tzinfo=UTC),
            timedelta(minutes=90),
            n,
            None,
        )
        for n in range(5000)
    ]
    text = b"".join(
        exports.stream_csv(["when", "duration", "n", "none"], rows)
    ).decode()
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["when", "duration", "n", "none"]
    assert lines[1] == ["2026-03-02 08:30:15.4", "5400", "0", ""]
    assert len(lines) == 5001


@pytest.mark.parametrize(
    ("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")]
)
def test_column_letters(index, letters):
    assert exports.column_letter(index) == letters
