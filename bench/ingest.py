"""Ingest benchmark: the loader against DuckDB's bare COPY of the same files, in one run.

City scale by default: 150,000 officials and 30 million tasks as 13 monthly exports, in
Parquet and in CSV; XLSX for one smaller export (a sheet holds at most 1,048,576 rows).
The loader's time includes everything a real load does: hashing the file, the ledger,
parsing and validation, reference and key checks, the write and the rollup update.
The baseline is `COPY tasks FROM file` into an empty table of the same columns.

    python bench/ingest.py                      # city scale (about 10 minutes here)
    python bench/ingest.py --tasks 3000000      # a quicker look
"""
from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import duckdb  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from _data import officials_table, tasks_table, write_parquet  # noqa: E402
from etl.db import connect  # noqa: E402
from etl.loader import load_file  # noqa: E402

TASK_COLUMNS = ("task_id, official_id, title, origin, assigned_at, due_at, completed_at, status, "
                "quality_failures, updated_at")


def make_files(work: Path, officials: int, tasks: int, months: int, xlsx_rows: int) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    units_t, officials_t = officials_table(officials)
    pq.write_table(units_t, work / "units.parquet")
    pq.write_table(officials_t, work / "officials.parquet")
    per_month = tasks // months
    files = {"parquet": [], "csv": [], "xlsx": []}
    conn = duckdb.connect()
    for m in range(months):
        path = work / f"tasks_{m:02d}.parquet"
        if not path.exists():
            write_parquet(tasks_table(per_month, officials, month=m, start=m * per_month), path)
        files["parquet"].append(path)
        csv = work / f"tasks_{m:02d}.csv"
        if not csv.exists():
            conn.execute(f"COPY (SELECT * FROM read_parquet('{path}')) TO '{csv}' (HEADER, DELIMITER ',')")
        files["csv"].append(csv)
    xlsx = work / "tasks_x.xlsx"
    if not xlsx.exists():
        _write_xlsx(tasks_table(xlsx_rows, officials, month=0, start=10**9), xlsx)
    files["xlsx"].append(xlsx)
    return files


def _write_xlsx(table, path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("tasks")
    sheet.append(table.column_names)
    for row in zip(*(table.column(c).to_pylist() for c in table.column_names)):
        sheet.append(list(row))
    book.save(path)


def template_db(work: Path) -> Path:
    """A database with the units and officials loaded, copied fresh for every measurement."""
    path = work / "template.duckdb"
    if not path.exists():
        conn = connect(path)
        for name in ("units.parquet", "officials.parquet"):
            entry = load_file(conn, work / name)
            assert entry["quarantined"] == 0, entry
        conn.execute("CHECKPOINT")
        conn.close()
    return path


def fresh_db(work: Path, name: str) -> Path:
    path = work / f"{name}.duckdb"
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)
    shutil.copy(template_db(work), path)
    return path


def bare_copy(work: Path, fmt: str, files: list[Path]) -> float:
    """Seconds for the baseline: DuckDB reading the same files into an empty table."""
    conn = connect(fresh_db(work, "copy"))
    conn.execute("CREATE TABLE tasks_copy AS SELECT * EXCLUDE (batch_id) FROM tasks LIMIT 0")
    started = time.perf_counter()
    for f in files:
        if fmt == "xlsx":  # no COPY for XLSX offline: the least a reader can do is openpyxl -> Arrow
            from etl.readers import read_into_raw
            raw = read_into_raw(conn, f)
            cols = ", ".join(f"{raw.columns[c.strip()]}" for c in TASK_COLUMNS.split(","))
            conn.execute(f"INSERT INTO tasks_copy SELECT {cols} FROM raw")
            conn.execute("DROP TABLE raw")
        else:
            conn.execute(f"COPY tasks_copy ({TASK_COLUMNS}) FROM '{f}'"
                         + (" (HEADER)" if fmt == "csv" else ""))
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def loader(work: Path, files: list[Path]) -> tuple[float, int]:
    conn = connect(fresh_db(work, "load"))
    rows = 0
    started = time.perf_counter()
    for f in files:
        entry = load_file(conn, f)
        assert entry["quarantined"] == 0 and entry["rows_read"] == entry["loaded"], entry
        rows += entry["loaded"]
    seconds = time.perf_counter() - started
    conn.close()
    return seconds, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--officials", type=int, default=150_000)
    ap.add_argument("--tasks", type=int, default=30_000_000)
    ap.add_argument("--months", type=int, default=13)
    ap.add_argument("--xlsx-rows", type=int, default=200_000)
    ap.add_argument("--formats", default="parquet,csv,xlsx")
    ap.add_argument("--work", type=Path, default=REPO / "data" / "bench")
    args = ap.parse_args()

    t0 = time.perf_counter()
    files = make_files(args.work, args.officials, args.tasks, args.months, args.xlsx_rows)
    print(f"data: {args.officials:,} officials; tasks {args.tasks:,} in {args.months} monthly files "
          f"(parquet, csv), xlsx {args.xlsx_rows:,} rows; prepared in {time.perf_counter() - t0:.0f} s")
    print(f"{'format':<8} {'rows':>12} {'MB':>7} {'COPY s':>8} {'COPY rows/s':>13} "
          f"{'loader s':>9} {'loader rows/s':>14} {'loader/COPY':>12}")
    for fmt in args.formats.split(","):
        size = sum(f.stat().st_size for f in files[fmt]) / 1e6
        copy_s = bare_copy(args.work, fmt, files[fmt])
        load_s, rows = loader(args.work, files[fmt])
        print(f"{fmt:<8} {rows:>12,} {size:>7.0f} {copy_s:>8.1f} {rows / copy_s:>13,.0f} "
              f"{load_s:>9.1f} {rows / load_s:>14,.0f} {copy_s / load_s:>11.0%}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
