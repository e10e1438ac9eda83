"""Reading one input file into a DuckDB temp table of raw rows, whatever its format.

Every reader produces the table `raw` with a `line` column (1-based line or row of the
source, header = line 1), one column per source column (names lower-cased), and a
`raw_text` SQL expression that rebuilds the row as text for the quarantine. CSV and
Parquet go through DuckDB's own readers; JSON Lines through Arrow; XLSX through openpyxl
(DuckDB's excel extension cannot be installed offline).
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl", ".parquet": "parquet"}


class FileRejected(Exception):
    """The whole file cannot be read; `reason` is the quarantine code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class RawFile:
    """What a reader leaves behind: the `raw` table and how to read its columns."""

    format: str
    columns: dict[str, str] = field(default_factory=dict)   # lower-case name -> SQL expression over raw
    types: dict[str, str] = field(default_factory=dict)     # lower-case name -> DuckDB type
    raw_text: str = "NULL"
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (line, raw text, detail)
    # name -> SQL condition that the row does not give the value at all (a JSON key left out,
    # or null), as opposed to an empty cell; defaults apply only then.
    absent: dict[str, str] = field(default_factory=dict)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_into_raw(conn: duckdb.DuckDBPyConnection, path: Path) -> RawFile:
    """Create temp table `raw` from the file; raise FileRejected when it cannot be read."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise FileRejected("unsupported_format",
                           f"{path.name}: unknown file type {path.suffix or '(none)'}; "
                           "use .csv, .xlsx, .jsonl or .parquet")
    if path.stat().st_size == 0:
        raise FileRejected("empty_file", f"{path.name} is empty (0 bytes)")
    drop_raw(conn)
    return {"csv": _read_csv, "xlsx": _read_xlsx, "jsonl": _read_jsonl, "parquet": _read_parquet}[fmt](conn, path)


def drop_raw(conn) -> None:
    """Remove what the last reader left (a table, or a view for Parquet)."""
    kind = conn.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'raw' "
                        "AND table_schema = 'main' AND table_catalog = 'temp'").fetchone()
    if kind:
        conn.execute("DROP VIEW raw" if kind[0] == "VIEW" else "DROP TABLE raw")


def _describe(conn, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute(f"DESCRIBE {table}").fetchall()]


def _sniff_delimiter(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.readline(1 << 20).decode("utf-8-sig", errors="replace")
    return ";" if head.count(";") > head.count(",") else ","


def _read_csv(conn, path: Path) -> RawFile:
    delim = _sniff_delimiter(path)
    try:
        _csv_into_raw(conn, path, delim, parallel=True)
    except duckdb.Error as exc:
        if "parallel" not in str(exc).lower():
            _reject_csv(path, exc)
        # A line break inside a quoted value (Alt+Enter in Excel) needs the serial reader.
        conn.execute("DROP TABLE IF EXISTS raw")
        try:
            _csv_into_raw(conn, path, delim, parallel=False)
        except duckdb.Error as exc2:
            _reject_csv(path, exc2)
    cols = [c for c, _ in _describe(conn, "raw")]
    rejects = conn.execute("SELECT DISTINCT line, csv_line, error_message FROM csv_rejects ORDER BY line").fetchall()
    rows = conn.execute("SELECT count(*) FROM raw").fetchone()[0]
    conn.execute("ALTER TABLE raw ADD COLUMN line BIGINT")
    if _physical_lines(path) == 1 + rows + len(rejects):
        # one record per line: a row's line is its position, shifted by rejected lines before it
        conn.execute("UPDATE raw SET line = rowid - (SELECT min(rowid) FROM raw) + 2")
        for bad in sorted(r[0] for r in rejects):
            conn.execute("UPDATE raw SET line = line + 1 WHERE line >= ?", [bad])
        malformed = [(line, text, f"malformed CSV line: {msg.splitlines()[0]}") for line, text, msg in rejects]
    else:
        # blank lines or quoted line breaks: count lines the way a person reads the file
        malformed = _number_lines_by_parsing(conn, path, delim, len(cols), rejects)
    raw_text = _joined(delim, cols)
    # DuckDB's sniffer names extra fields of early rows column5, …: a row with more fields
    # than the header is malformed, never loaded with values dropped.
    header = _header_fields(path, delim)
    extra = cols[len(header):]
    if extra:
        where = " OR ".join(f"{quote_ident(c)} IS NOT NULL" for c in extra)
        malformed += [(line, text, f"malformed CSV line: more fields than the {len(header)} of the header")
                      for line, text in conn.execute(f"SELECT line, {raw_text} FROM raw WHERE {where}").fetchall()]
        conn.execute(f"DELETE FROM raw WHERE {where}")
        cols = cols[:len(header)]
        raw_text = _joined(delim, cols)
        malformed.sort()
    if not cols:  # a first line with no field at all (blank): every line is "more than the header"
        raise FileRejected("empty_file", f"{path.name} has no header row (its first line is blank)")
    names = {c.lower().strip().lstrip("\ufeff"): quote_ident(c) for c in cols}
    return RawFile("csv", names, {k: "VARCHAR" for k in names}, raw_text, malformed)


def _joined(delim: str, cols: list[str]) -> str:
    """SQL that rebuilds a CSV row's text from its fields, for the quarantine."""
    return f"concat_ws({delim!r}, " + ", ".join(f"coalesce({quote_ident(c)}, '')" for c in cols) + ")"


def _header_fields(path: Path, delim: str) -> list[str]:
    with open(path, "r", encoding="utf-8-sig", errors="replace", newline="") as f:
        return next(csv.reader(f, delimiter=delim, quotechar='"'), [])


def _csv_into_raw(conn, path: Path, delim: str, parallel: bool) -> None:
    conn.execute("DROP TABLE IF EXISTS csv_rejects")
    conn.execute("DROP TABLE IF EXISTS csv_scans")
    # all_varchar: the loader parses every value itself, so a bad value becomes a quarantined
    # row with a reason instead of a failed file; short rows are padded, long ones rejected.
    conn.execute(
        "CREATE TEMP TABLE raw AS SELECT * FROM read_csv(?, delim = ?, header = true, all_varchar = true, "
        "quote = '\"', escape = '\"', null_padding = true, parallel = ?, store_rejects = true, "
        "rejects_table = 'csv_rejects', rejects_scan = 'csv_scans', encoding = 'utf-8', "
        "auto_detect = true, sample_size = 1024)", [str(path), delim, parallel])


def _reject_csv(path: Path, exc: Exception):
    # What failed is in the first lines; the rest lists the dialect, "comment = (empty)" too.
    what = " ".join(line.strip() for line in str(exc).splitlines()[:2])
    if "empty" in what.lower() or "no columns" in what.lower():
        raise FileRejected("empty_file", f"{path.name} has no header row") from None
    raise FileRejected("corrupt_file", f"{path.name} cannot be read as CSV: {what}") from None


def _physical_lines(path: Path) -> int:
    """Lines of the file up to its last non-blank one (blank lines at the very end do not count)."""
    newlines = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            newlines += block.count(b"\n")
        f.seek(max(0, f.tell() - 65536))
        tail = f.read()
    ending = tail[len(tail.rstrip(b"\r\n\t ")):]
    trailing = ending.count(b"\n")
    return newlines - trailing + 1


def _number_lines_by_parsing(conn, path: Path, delim: str, ncols: int, rejects) -> list[tuple[int, str, str]]:
    """Give raw rows and rejected records the line they start on, reading the file with
    Python's csv module the way DuckDB does: blank lines skipped, records of more fields
    than the header rejected. Slow, so only used when lines and records disagree."""

    kept, bad = [], []
    with open(path, "r", encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=delim, quotechar='"')
        next(reader, None)
        start = reader.line_num + 1
        for record in reader:
            if record:  # a blank line is no record; a line of "" is one, as DuckDB reads it
                (bad if len(record) > ncols or any("\ufffd" in v for v in record) else kept).append(
                    (start, delim.join(record)))
            start = reader.line_num + 1
    if len(kept) != conn.execute("SELECT count(*) FROM raw").fetchall()[0][0]:
        # The two parsers disagree: number the rows by position, so every row still has a line
        # (a row without one would be neither loaded nor quarantined: lost from the accounting).
        conn.execute("UPDATE raw SET line = rowid - (SELECT min(rowid) FROM raw) + 2")
        return [(line, text, f"malformed CSV line: {msg.splitlines()[0]}") for line, text, msg in rejects]
    lines = pa.table({"position": pa.array(range(len(kept)), pa.int64()),
                      "physical": pa.array([line for line, _ in kept], pa.int64())})
    conn.register("csv_lines", lines)
    try:
        conn.execute("UPDATE raw SET line = m.physical FROM csv_lines m "
                     "WHERE m.position = raw.rowid - (SELECT min(rowid) FROM raw)")
    finally:
        conn.unregister("csv_lines")
    messages = [msg.splitlines()[0] for _, _, msg in rejects] + [""] * len(bad)
    return [(line, text, f"malformed CSV line: {messages[i]}".rstrip(": "))
            for i, (line, text) in enumerate(bad)]


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# An .xlsx is a zip. Its directory states each part's size, and Python's zipfile never inflates
# a part past its stated size, so a zip bomb is refused from the directory, before a byte of it
# is inflated: a tiny file whose sheet expands to hundreds of MB took 1.7 GB and 15 s to read.
XLSX_MAX_EXPANDED = 1024 * 1024 * 1024   # all parts together, uncompressed
XLSX_MAX_RATIO = 100                     # uncompressed / compressed, for parts over XLSX_RATIO_FROM
XLSX_RATIO_FROM = 16 * 1024 * 1024       # (real sheets compress 5-20 times; bombs 1,000 times)


def _check_xlsx_expansion(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRejected("corrupt_file", f"{path.name} is not a readable .xlsx file ({exc})") from None
    total = sum(p.file_size for p in parts)
    if total > XLSX_MAX_EXPANDED:
        raise FileRejected("corrupt_file", f"{path.name} expands to {total // 2 ** 20:,} MB, more than the "
                                           f"{XLSX_MAX_EXPANDED // 2 ** 20:,} MB an .xlsx may; send it as .csv")
    for p in parts:
        if p.file_size > XLSX_RATIO_FROM and p.file_size > XLSX_MAX_RATIO * max(p.compress_size, 1):
            raise FileRejected("corrupt_file", f"{path.name}: {p.filename} expands {p.compress_size:,} bytes to "
                                               f"{p.file_size // 2 ** 20:,} MB (a zip bomb?); send it as .csv")


def _read_xlsx(conn, path: Path) -> RawFile:
    import openpyxl  # only needed for this format

    _check_xlsx_expansion(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError) as exc:  # SyntaxError: XML's ParseError
        raise FileRejected("corrupt_file", f"{path.name} is not a readable .xlsx file ({exc})") from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header, header_line = None, 0
        lines, columns = [], None
        for number, row in enumerate(rows, start=1):
            if header is None:
                if row and any(v not in (None, "") for v in row):
                    header = [_cell_text(v) or f"column{i + 1}" for i, v in enumerate(row)]
                    header_line = number
                    columns = [[] for _ in header]
                continue
            if not row or all(v in (None, "") for v in row):
                continue
            lines.append(number)
            for i, col in enumerate(columns):
                col.append(_cell_text(row[i]) if i < len(row) else None)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, SyntaxError) as exc:
        raise FileRejected("corrupt_file", f"{path.name}: the workbook is damaged ({exc})") from None
    finally:
        book.close()
    if header is None:
        raise FileRejected("empty_file", f"{path.name} has no header row in its first sheet")
    del header_line
    table = pa.table({"line": pa.array(lines, pa.int64()),
                      **{f"c{i}": pa.array(c, pa.string()) for i, c in enumerate(columns)}})
    conn.register("xlsx_rows", table)
    try:
        conn.execute("CREATE TEMP TABLE raw AS SELECT * FROM xlsx_rows")
    finally:
        conn.unregister("xlsx_rows")
    names = {}
    for i, h in enumerate(header):
        names.setdefault(h.lower().strip(), f"c{i}")
    raw_text = "concat_ws(',', " + ", ".join(f"coalesce(c{i}, '')" for i in range(len(header))) + ")"
    return RawFile("xlsx", names, {k: "VARCHAR" for k in names}, raw_text)


def _read_jsonl(conn, path: Path) -> RawFile:
    lines, texts = [], []
    with open(path, "r", encoding="utf-8-sig", errors="replace", newline="") as f:
        for number, text in enumerate(f, start=1):
            text = text.rstrip("\r\n")
            if text.strip():
                lines.append(number)
                texts.append(text)
    table = pa.table({"line": pa.array(lines, pa.int64()), "json": pa.array(texts, pa.string())})
    conn.register("jsonl_rows", table)
    try:
        # CASE, not AND: with AND, json_type still runs on an invalid line and raises. try():
        # json_valid itself raises on some invalid text (an escaped lone surrogate, "\ud800").
        conn.execute("CREATE TEMP TABLE raw AS SELECT line, json, "
                     "CASE WHEN coalesce(try(json_valid(json)), FALSE) THEN json_type(json) = 'OBJECT' "
                     "ELSE FALSE END AS json_ok "
                     "FROM jsonl_rows")
    finally:
        conn.unregister("jsonl_rows")
    keys = [r[0] for r in conn.execute(
        "SELECT DISTINCT unnest(json_keys(json)) FROM raw WHERE json_ok").fetchall()]
    names, absent = {}, {}
    for key in sorted(keys):
        path_expr = _sql_str("$." + json.dumps(key))
        if key.lower().strip() not in names:
            names[key.lower().strip()] = f"json_extract_string(json, {path_expr})"
            absent[key.lower().strip()] = f"coalesce(json_type(json_extract(json, {path_expr})), 'NULL') = 'NULL'"
    bad = conn.execute("SELECT line, json FROM raw WHERE NOT json_ok").fetchall()
    conn.execute("DELETE FROM raw WHERE NOT json_ok")
    malformed = [(line, text, "not a JSON object on one line") for line, text in bad]
    return RawFile("jsonl", names, {k: "VARCHAR" for k in names}, "json", malformed, absent)


def _read_parquet(conn, path: Path) -> RawFile:
    try:
        conn.execute("CREATE TEMP VIEW raw AS SELECT *, file_row_number + 1 AS line "
                     f"FROM read_parquet({_sql_str(str(path))}, file_row_number = true)")
        cols = _describe(conn, "raw")
    except duckdb.Error as exc:
        # No clean-up here: the failed statement aborted the loader's transaction (which it
        # rolls back), and a view that failed to bind was never created.
        raise FileRejected("corrupt_file",
                           f"{path.name} is not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    cols = [(c, t) for c, t in cols if c not in ("line", "file_row_number")]
    names, types = {}, {}
    for c, t in cols:
        key = c.lower().strip()
        if key not in names:
            names[key], types[key] = quote_ident(c), t
    raw_text = "to_json(struct_pack(" + ", ".join(f"{quote_ident(c)} := {quote_ident(c)}" for c, _ in cols) + "))"
    return RawFile("parquet", names, types, raw_text)


def check_parquet_pages(path: Path) -> None:
    """Raise FileRejected when a full scan of the Parquet file fails. Parquet is read lazily
    (a view): opening it checks only the footer, so a damaged page fails later, mid-load.
    Uses a connection of its own, since the loader's transaction has failed by then."""
    probe = duckdb.connect()
    try:
        probe.execute(f"SELECT max(hash(COLUMNS(*))) FROM read_parquet({_sql_str(str(path))})").fetchall()
    except duckdb.Error as exc:
        raise FileRejected("corrupt_file",
                           f"{path.name} is a damaged Parquet file ({str(exc).splitlines()[0]})") from None
    finally:
        probe.close()


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
