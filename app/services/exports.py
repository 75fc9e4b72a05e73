"""Spreadsheet exports: .xlsx written row by row (openpyxl write-only), typed cells."""

from __future__ import annotations

import enum
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

# Excel's sheet holds 1,048,576 rows; one is the header.
XLSX_MAX_ROWS = 1_048_575
_CHUNK = 64 * 1024


def _cell_value(value: Any) -> Any:
    """Keep numbers and dates typed; Excel has no time zones, so UTC is written naive."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if value is None or isinstance(value, bool | int | float | date | str):
        return value
    return str(value)


def write_xlsx(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], out: IO[bytes]
) -> int:
    """Write a one-sheet workbook to `out`; return the number of data rows written."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([str(header) for header in headers])
    count = 0
    for row in rows:
        count += 1
        if count > XLSX_MAX_ROWS:
            raise OverflowError("more rows than an Excel sheet holds")
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=_cell_value(value))
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            cells.append(cell)
        sheet.append(cells)
    workbook.save(out)
    return count


def xlsx_chunks(
    headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Iterator[bytes]:
    """Build the workbook in a temporary file and yield it in chunks (bounded memory)."""
    with tempfile.TemporaryFile() as tmp:
        write_xlsx(headers, rows, tmp)
        tmp.seek(0)
        while chunk := tmp.read(_CHUNK):
            yield chunk
