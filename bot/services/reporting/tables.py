"""Write tables to CSV (UTF-8 with BOM, for Excel) or XLSX, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
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


def write_xlsx(
    path: Path, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]
) -> int:
    """Write one sheet per (title, header, rows); returns the number of data rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    count = 0
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title[:31])
        sheet.append(list(header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([neutralise(v) for v in row])
            count += 1
        sheet.freeze_panes = "A2"
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)
    workbook.save(path)
    return count


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
