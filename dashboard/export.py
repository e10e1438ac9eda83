"""CSV and Excel files of exactly the table a user sees: same rows, order and columns, under a
few lines that say what the file is (title, scope, period, time of export).

- CSV for Excel (the default): what Excel opens correctly with Vietnamese regional settings:
  UTF-8 with a BOM, `;` between cells (the list separator there), numbers with a decimal
  comma and no thousands mark, unquoted (87,5), so Excel reads them as numbers; rates as
  percentages (the column label says "(%)"); dates dd/mm/yyyy.
- CSV for software (`machine=True`): `,` between cells, `.` decimals, rates as 0..1 floats,
  ISO dates: what scripts and the old format read.
Both start with the header lines, then an empty line, then the table's header row.
- Excel: the header lines on top, the table below with its header row frozen, rates kept
  whole with a percentage format.

Text cells that a spreadsheet would run as a formula (starting with = + - @, or a tab or
carriage return) are prefixed with an apostrophe (OWASP "CSV injection").
"""
from __future__ import annotations

import csv
import io
import math
import numbers
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from dashboard.i18n import t

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_FORMATS = {"rate": "0.0%", "score": "0.0", "score2": "0.00", "count": "#,##0", "number": "General",
                 "date": "dd/mm/yyyy", "datetime": "dd/mm/yyyy hh:mm"}
DECIMALS = 10  # enough that a number read back equals the metric to 1e-10


@dataclass(frozen=True)
class Header:
    """What a file is about, written above its table."""
    title: str
    scope: str          # "Sở Nội vụ (HN.SNV)"
    period: str         # "10/2026", or a range
    exported_at: datetime
    lang: str = "vi"

    def lines(self) -> list[tuple[str, str]]:
        return [(t("export_file", self.lang), self.title), (t("export_scope", self.lang), self.scope),
                (t("period", self.lang), self.period),
                (t("export_time", self.lang), self.exported_at.strftime("%d/%m/%Y %H:%M"))]


def escape_cell(value):
    """Numbers stay numbers; text that could start a formula is neutralised."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _decimal_comma(x: float) -> str:
    """12,5 · 87,53246753 · 3 (no exponent, no thousands mark, no trailing zeros)."""
    text = f"{x:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return ("0" if text in ("-0", "") else text).replace(".", ",")


def csv_value(value, kind: str | None, machine: bool = False) -> str:
    """One cell of a CSV file (see the module docstring for the two forms)."""
    if _missing(value):
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes") if machine else value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.isoformat() if machine else value.strftime("%d/%m/%Y")
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        if machine:
            return repr(float(value))
        return _decimal_comma(float(value) * (100 if kind == "rate" else 1))
    return str(escape_cell(str(value)))


def _label(label: str, kind: str | None, machine: bool) -> str:
    return escape_cell(f"{label} (%)" if kind == "rate" and not machine else label)


def to_csv(rows: list[dict], columns: list[tuple[str, str, str | None]], header: Header | None = None, *,
           machine: bool = False) -> bytes:
    """The file's bytes: BOM, header lines, an empty line, the table (empty cell for no value)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="," if machine else ";", lineterminator="\r\n")
    if header is not None:
        for label, value in header.lines():
            writer.writerow([escape_cell(label), escape_cell(value)])
        writer.writerow([])
    writer.writerow([_label(label, kind, machine) for _, label, kind in columns])
    for row in rows:
        writer.writerow([csv_value(row.get(col_id), kind, machine) for col_id, _, kind in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def read_csv_table(data: bytes) -> tuple[list[list[str]], list[list[str]]]:
    """(header lines, table rows with its header row first) of a file to_csv wrote, either form."""
    text = data.decode("utf-8-sig")
    first = text.split("\r\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if [] in rows:
        cut = rows.index([])
        return rows[:cut], rows[cut + 1:]
    return [], rows


def _xlsx_value(value, kind: str | None):
    if _missing(value):
        return None
    if isinstance(value, str):
        return escape_cell(value)
    return value


def to_xlsx(rows: list[dict], columns: list[tuple[str, str, str | None]], header: Header | None = None,
            sheet: str = "Thuoc do") -> bytes:
    """One sheet: the header lines, an empty row, then the table (its header row frozen and
    filterable); rates keep their full value with a percentage format."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    lines = header.lines() if header is not None else []
    for label, value in lines:
        ws.append([escape_cell(label), escape_cell(value)])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
    if lines:
        ws.cell(1, 2).font = Font(bold=True, size=13)
        ws.append([])
    head_row = len(lines) + 2 if lines else 1
    for index, (_, label, _) in enumerate(columns, start=1):
        cell = ws.cell(head_row, index, escape_cell(label))
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="EEF2F7")
    for r, row in enumerate(rows, start=head_row + 1):
        for index, (col_id, _, kind) in enumerate(columns, start=1):
            cell = ws.cell(r, index, _xlsx_value(row.get(col_id), kind))
            fmt = EXCEL_FORMATS.get(kind or "")
            if fmt and cell.value is not None:
                cell.number_format = fmt
    ws.freeze_panes = ws.cell(head_row + 1, 1).coordinate
    if columns:
        last = ws.cell(head_row + max(len(rows), 1), len(columns)).coordinate
        ws.auto_filter.ref = f"A{head_row}:{last}"
    for index, (col_id, label, _) in enumerate(columns, start=1):
        longest = max([len(str(label))] + [len(str(row.get(col_id) or "")) for row in rows[:500]])
        ws.column_dimensions[ws.cell(head_row, index).column_letter].width = min(max(10, longest + 2), 60)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def table_row(ws) -> int:
    """The row of the table's header in a sheet to_xlsx wrote (after the header lines)."""
    for row in range(1, min(ws.max_row, 20) + 1):
        if ws.cell(row, 1).value is None and row > 1:
            return row + 1
    return 1
