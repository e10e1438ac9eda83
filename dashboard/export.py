"""CSV and Excel files of exactly the table a user sees: same rows, order and columns.

Text cells that a spreadsheet would run as a formula (starting with = + - @, or a tab or
carriage return) are prefixed with an apostrophe (OWASP "CSV injection").
"""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_FORMATS = {"rate": "0.0%", "score": "0.0", "score2": "0.00", "count": "#,##0"}


def escape_cell(value):
    """Numbers stay numbers; text that could start a formula is neutralised."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _rows(rows: list[dict], columns: list[tuple[str, str, str | None]]):
    for row in rows:
        yield [escape_cell(row.get(col_id)) for col_id, _, _ in columns]


def to_csv(rows: list[dict], columns: list[tuple[str, str, str | None]]) -> bytes:
    """UTF-8 with a BOM (Excel then reads Vietnamese correctly); empty cell for no value."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([escape_cell(label) for _, label, _ in columns])
    for values in _rows(rows, columns):
        writer.writerow(["" if v is None else v for v in values])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict], columns: list[tuple[str, str, str | None]], sheet: str = "Thuoc do") -> bytes:
    """One sheet; rates keep their full value with a percentage format."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    ws.append([escape_cell(label) for _, label, _ in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for values in _rows(rows, columns):
        ws.append(values)
    for index, (_, _, kind) in enumerate(columns, start=1):
        fmt = EXCEL_FORMATS.get(kind or "")
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = fmt
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
