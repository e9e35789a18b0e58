"""Write tables to CSV (UTF-8 with BOM, for Excel) or XLSX, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from bot.services.contacts.rows import FORMULA_STARTS


def neutralise(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else neutralise(v) for v in row])
            count += 1
    return count


# Column widths come from the header and the first rows: write-only sheets take widths first.
WIDTH_SAMPLE = 200


def write_xlsx(
    path: Path, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]
) -> int:
    """Write one sheet per (title, header, rows); returns the number of data rows."""
    workbook = XlsxWriter()
    count = sum(workbook.add(title, header, rows) for title, header, rows in sheets)
    workbook.save(path)
    return count


class XlsxWriter:
    """A workbook in openpyxl's write-only mode: each sheet's rows go to a temporary file as
    they are added, so memory stays flat however many rows, and the caller may drop them."""

    def __init__(self) -> None:
        from openpyxl import Workbook
        from openpyxl.styles import Font

        self.workbook = Workbook(write_only=True)
        self.bold = Font(bold=True)

    def add(self, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Add a sheet; returns its number of data rows."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.utils import get_column_letter

        sheet = self.workbook.create_sheet(title[:31])
        sheet.freeze_panes = "A2"
        remaining = iter(rows)
        first = [[neutralise(v) for v in row] for row in islice(remaining, WIDTH_SAMPLE)]
        for index in range(len(header)):
            width = max(len(str(r[index] or "")) for r in [list(header), *first])
            sheet.column_dimensions[get_column_letter(index + 1)].width = min(max(width + 2, 8), 60)
        cells = []
        for name in header:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = self.bold
            cells.append(cell)
        sheet.append(cells)
        for values in first:
            sheet.append(values)
        count = len(first)
        for row in remaining:
            sheet.append([neutralise(v) for v in row])
            count += 1
        return count

    def save(self, path: Path) -> None:
        self.workbook.save(path)


def write_table(
    path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], title: str
) -> int:
    """Write CSV or XLSX by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_csv(path, header, rows)
    if suffix == ".xlsx":
        return write_xlsx(path, [(title, header, rows)])
    raise ValueError(f"{path.name}: use a .csv or .xlsx file name")
