"""Writing Arrow tables as contract files, byte-identical for identical input.

Nothing here depends on the clock: Parquet carries no timestamps, and the XLSX writer's
"modified" stamp and zip entry dates are pinned.
"""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# Rows per Parquet row group: DuckDB scans row groups in parallel and skips them by zone map.
ROW_GROUP = 256 * 1024
LOCAL = np.timedelta64(7, "h")     # Asia/Ho_Chi_Minh is UTC+7 all year


def write_parquet(table: pa.Table, path: Path) -> None:
    # store_schema=False: readers see plain strings, not Arrow dictionary columns.
    pq.write_table(table, path, row_group_size=ROW_GROUP, compression="zstd", store_schema=False)


def write_csv(table: pa.Table, path: Path, delimiter: str = ",", bom: bool = False) -> None:
    """Quotes only where needed, as spreadsheets export; nulls as empty cells. Columns should
    already be text or numbers (format dates first)."""
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        out = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        out.writerow(table.column_names)
        for batch in table.to_batches(max_chunksize=65536):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            out.writerows([["" if v is None else v for v in row] for row in zip(*columns)])


def write_jsonl(table: pa.Table, path: Path) -> None:
    """One JSON object per line; null fields are left out, as many exporters do."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in table.to_pylist():
            f.write(json.dumps({k: v for k, v in row.items() if v is not None},
                               ensure_ascii=False, separators=(",", ":")) + "\n")


def write_xlsx(table: pa.Table, path: Path, sheet: str) -> None:
    """First sheet, header row; timestamps as Excel date cells, like a real export."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    ws.append(table.column_names)
    for row in zip(*(table.column(c).to_pylist() for c in table.column_names)):
        ws.append(list(row))
    raw = io.BytesIO()
    book.save(raw)
    _pin_zip(raw.getvalue(), path)


_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _pin_zip(data: bytes, path: Path) -> None:
    """Rewrite an xlsx with fixed entry dates and document stamps (openpyxl uses now())."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _STAMP.sub(rb"\g<1>2025-07-01T00:00:00Z\g<2>", body)
            zout.writestr(zipfile.ZipInfo(info.filename, date_time=(2025, 7, 1, 0, 0, 0)), body,
                          compress_type=zipfile.ZIP_DEFLATED)
    path.write_bytes(out.getvalue())


# --- Column builders --------------------------------------------------------------------

def ids(prefix: str, start: int, n: int, width: int) -> pa.Array:
    """prefix + zero-padded sequence numbers start..start+n-1, built in C++."""
    seq = pc.cast(pa.array(np.arange(start, start + n, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(seq, width, "0"), "")


def pick(indices: np.ndarray, values, mask: np.ndarray | None = None) -> pa.Array:
    """A dictionary column: values[indices] (null where mask is true)."""
    idx = pa.array(indices.astype(np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(values), pa.string()))


def dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype("datetime64[D]"), mask=mask)


def timestamps(seconds: np.ndarray) -> pa.Array:
    """Naive local timestamps from seconds since 1970-01-01 local."""
    return pa.array(seconds.astype("datetime64[s]").astype("datetime64[us]"))


def iso_dates(days: np.ndarray, mask: np.ndarray | None = None, vn: bool = False) -> pa.Array:
    """'2026-01-05', or Vietnamese '05/01/2026' when vn."""
    text = np.datetime_as_string(days.astype("datetime64[D]"))
    if vn:
        text = np.array([f"{t[8:10]}/{t[5:7]}/{t[0:4]}" for t in text.tolist()], dtype=object)
    return pa.array(text.tolist(), pa.string(), mask=mask)


def iso_times(seconds: np.ndarray, form: np.ndarray | int = 0) -> pa.Array:
    """Local timestamps as text in the contract's forms: 0 naive local 'YYYY-MM-DD HH:MM:SS',
    1 UTC with 'Z', 2 local with '+07:00'."""
    local = seconds.astype("datetime64[s]")
    form = np.broadcast_to(np.asarray(form), local.shape)
    naive = np.char.replace(np.datetime_as_string(local), "T", " ")
    utc = np.char.add(np.datetime_as_string(local - LOCAL), "Z")
    offset = np.char.add(np.datetime_as_string(local), "+07:00")
    text = np.where(form == 0, naive, np.where(form == 1, utc, offset))
    return pa.array(text.tolist(), pa.string())


def numbers(values: np.ndarray, mask: np.ndarray | None = None, decimals: int = 0) -> pa.Array:
    """Numbers as text without a spurious '.0' (e.g. scores '86', confidence '0.75')."""
    out = [(f"{v:.{decimals}f}".rstrip("0").rstrip(".") if decimals else str(int(round(v))))
           for v in values.tolist()]
    return pa.array(out, pa.string(), mask=mask)


def epoch_seconds(days: np.ndarray, secs: np.ndarray) -> np.ndarray:
    return days.astype(np.int64) * 86400 + secs.astype(np.int64)

