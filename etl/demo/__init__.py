"""Seeded, deterministic demo data: contract files (data-contract.md) for a Hanoi-like city,
then loaded through the project's loader.

    build_demo("data/demo.duckdb")                       # ~2,000 officials, under a minute
    build_demo("data/city.duckdb", scale="city")         # 150,000 officials, ~30 M tasks

Same seed and same `until` give byte-identical files. The package is split by subject:
names (Vietnamese reference data), org (units and officials), tasks, ratings, evaluations,
okr, and writers (file formats).
"""
from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from etl.demo import evaluations, okr, ratings, tasks, writers as w
from etl.demo.org import Org, build_org
from etl.demo.scales import SCALES, Scale, Timeline

__all__ = ["build_demo", "write_demo_files", "default_until", "SCALES"]

KINDS = ("units", "officials", "tasks", "ratings", "evaluations", "unit_evaluations",
         "objectives", "key_results", "checkins")
EXTENSIONS = (".csv", ".xlsx", ".jsonl", ".parquet")
LEDGER_KEYS = ("file", "kind", "status", "rows_read", "loaded", "duplicates", "quarantined")
DEFAULT_OUT = {"demo": Path("data/demo"), "city": Path("data/city"), "tiny": Path("data/tiny")}


def default_until() -> str:
    """The current month in Asia/Ho_Chi_Minh, 'YYYY-MM'."""
    return dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")


def write_demo_files(out_dir, scale: str = "demo", seed: int = 42, until: str | None = None) -> list[Path]:
    """Write the dataset's contract files into out_dir and return them in load order
    (units, officials, objectives, key_results, tasks…, ratings…, evaluations…,
    unit_evaluations…, checkins…). Earlier generated files in out_dir are removed first."""
    return _write(Path(out_dir), scale, seed, until or default_until(), None)[0]


def build_demo(db_path, scale: str = "demo", out_dir=None, seed: int = 42, until: str | None = None,
               progress: Callable[[str], None] | None = print, memory_limit: str | None = None) -> dict:
    """Write the demo files (see write_demo_files) and load them into the DuckDB at db_path.

    Returns a summary: scale, seed, until, out_dir, db_path, files, rows per kind, the
    loader's totals (rows_read, loaded, duplicates, quarantined), files that did not load
    cleanly (problems), the ledger entry of every file, and seconds for generation,
    loading and in total. An existing database is
    loaded into, not replaced (loading a file twice changes nothing). `memory_limit` raises the
    loader's DuckDB cap for scales past a city (a month's tasks file is staged whole)."""
    from etl.db import DEFAULT_MEMORY_LIMIT, connect          # imported here: generation works without the loader
    from etl.clustering import compact
    from etl.loader import load_paths

    until = until or default_until()
    out = Path(out_dir) if out_dir is not None else DEFAULT_OUT[scale]
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    paths, counts = _write(out, scale, seed, until, say)
    generated = time.perf_counter()

    ledger = []
    conn = connect(db_path, memory_limit=memory_limit or DEFAULT_MEMORY_LIMIT)
    try:
        for path in paths:
            t = time.perf_counter()
            entry = load_paths(conn, [path])[0]
            ledger.append(entry)
            say(f"loaded {path.name}: {entry.get('status')} {entry.get('loaded')}/{entry.get('rows_read')} rows, "
                f"{entry.get('quarantined')} quarantined ({time.perf_counter() - t:.1f} s)")
        for done in compact(conn):
            say(f"compacted {done['table']} in official_id order ({done['seconds']} s)")
    finally:
        conn.close()
    loaded = time.perf_counter()

    totals = {k: sum(int(e.get(k) or 0) for e in ledger)
              for k in ("rows_read", "loaded", "duplicates", "quarantined")}
    problems = [e for e in ledger if e.get("quarantined") or e.get("status") not in ("loaded", "already_loaded")]
    return {
        "scale": scale, "seed": seed, "until": until, "out_dir": str(out), "db_path": str(db_path),
        "files": [p.name for p in paths], "rows": counts, **totals,
        "problems": [{k: e.get(k) for k in ("file", "status", "message", "quarantined", "reasons")}
                     for e in problems],
        "ledger": [{k: e.get(k) for k in LEDGER_KEYS} for e in ledger],
        "seconds": {"generate": round(generated - started, 2), "load": round(loaded - generated, 2),
                    "total": round(loaded - started, 2)},
    }


# --- Orchestration ------------------------------------------------------------------

def _is_generated(path: Path) -> bool:
    name = path.name.lower()
    return path.suffix.lower() in EXTENSIONS and any(
        re.match(rf"{k}($|[^a-z])", name) for k in KINDS)


def _write(out: Path, scale_name: str, seed: int, until: str,
           say: Callable[[str], None] | None) -> tuple[list[Path], dict[str, int]]:
    if scale_name not in SCALES:
        raise ValueError(f"unknown scale {scale_name!r}; use one of {', '.join(SCALES)}")
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", until):
        raise ValueError(f"until must be 'YYYY-MM', not {until!r}")
    say = say or (lambda _msg: None)
    scale = SCALES[scale_name]
    tl = Timeline.ending(until)
    out.mkdir(parents=True, exist_ok=True)
    for old in sorted(out.iterdir()):
        if old.is_file() and _is_generated(old):
            old.unlink()

    org = build_org(scale, seed)
    writer = _Writer(out, say)
    writer.organisation(org)
    objectives, key_results, checkins = okr.build(org, tl, seed)
    writer.put("objectives.csv", objectives)
    writer.put("key_results.csv", key_results)
    stats = writer.tasks(org, tl, scale, seed)
    writer.ratings(org, tl, scale, seed)
    writer.evaluations(org, tl, scale, seed, *stats)
    writer.put("checkins.jsonl", checkins)
    return writer.paths, writer.counts


class _Writer:
    """Writes files in load order and keeps the list and the row counts per kind."""

    def __init__(self, out: Path, say: Callable[[str], None]):
        self.out, self.say = out, say
        self.paths: list[Path] = []
        self.counts: dict[str, int] = {}

    def put(self, name: str, table: pa.Table, **csv_options) -> None:
        path = self.out / name
        t = time.perf_counter()
        suffix = path.suffix
        if suffix == ".parquet":
            w.write_parquet(table, path)
        elif suffix == ".csv":
            w.write_csv(table, path, **csv_options)
        elif suffix == ".jsonl":
            w.write_jsonl(table, path)
        elif suffix == ".xlsx":
            w.write_xlsx(table, path, sheet=path.stem)
        self.paths.append(path)
        kind = next(k for k in sorted(KINDS, key=len, reverse=True) if name.startswith(k))
        self.counts[kind] = self.counts.get(kind, 0) + table.num_rows
        self.say(f"wrote {name}: {table.num_rows:,} rows ({time.perf_counter() - t:.1f} s)")

    def organisation(self, org: Org) -> None:
        parent = [org.unit_ids[p] if p >= 0 else None for p in org.unit_parent.tolist()]
        self.put("units.csv", pa.table({
            "unit_id": org.unit_ids, "parent_id": pa.array(parent, pa.string()),
            "name": org.unit_names, "kind": org.unit_kinds}))
        # As exported from Excel in Vietnam: ';' delimiter, UTF-8 BOM, Vietnamese booleans.
        self.put("officials.csv", pa.table({
            "official_id": org.official_ids,
            "unit_id": [org.unit_ids[u] for u in org.off_unit.tolist()],
            "full_name": org.full_names, "position": org.positions,
            "is_head": ["có" if h else "không" for h in org.is_head.tolist()],
            "active": ["true" if a else "false" for a in org.active.tolist()],
        }), delimiter=";", bom=True)

    def tasks(self, org: Org, tl: Timeline, scale: Scale, seed: int):
        """Monthly task files, then the update file; returns per-month (assigned, on_time)."""
        n_off = len(org.official_ids)
        assigned = np.zeros((len(tl.periods), n_off), np.int32)
        on_time = np.zeros((len(tl.periods), n_off), np.int32)
        official_ids = pa.array(org.official_ids, pa.string())
        updates = []
        for i, period in enumerate(tl.periods):
            m = tasks.generate_month(org, tl, i, scale, seed)
            kept = m["status"] != 2
            assigned[i] = np.bincount(m["who"][kept], minlength=n_off)
            on_time[i] = np.bincount(m["who"][m["on_time"]], minlength=n_off)
            # Demo files mix typed and text Parquet columns; the loader must take both.
            style = "iso" if scale.mixed_formats and i % 3 == 1 else "typed"
            self.put(f"tasks_{period}.parquet", tasks.task_table(tl, i, m, official_ids, style))
            later = np.flatnonzero(m["later"])
            if len(later):
                updates.append(tasks.task_table(tl, i, m, official_ids, "vn" if scale.mixed_formats else "typed",
                                                rows=later))
            del m
        if updates:
            name = tasks.update_file_name(tl) + (".jsonl" if scale.mixed_formats else ".parquet")
            self.put(name, tasks.update_table(updates))
        return assigned, on_time

    def ratings(self, org: Org, tl: Timeline, scale: Scale, seed: int) -> None:
        official_ids = pa.array(org.official_ids, pa.string())
        for i, period in enumerate(tl.periods):
            m = ratings.generate_month(org, tl, i, scale, seed)
            as_csv = scale.mixed_formats and i % 2 == 0
            table = ratings.rating_table(tl, i, m, official_ids, "mixed" if as_csv else "typed", seed)
            self.put(f"ratings_{period}.{'csv' if as_csv else 'parquet'}", table)

    def evaluations(self, org: Org, tl: Timeline, scale: Scale, seed: int,
                    assigned: np.ndarray, on_time: np.ndarray) -> None:
        """Evaluations of every month but the last (they are made early the next month)."""
        typed = not scale.mixed_formats
        unit_tables = []
        for i, period in enumerate(tl.periods[:-1]):
            people, units = evaluations.period_events(org, tl, i, assigned[i], on_time[i], seed)
            yymm = period[2:4] + period[5:]
            table = evaluations.event_table(people, org.official_ids, org.official_ids, "official_id",
                                            f"XL{yymm}-", period, typed)
            self.put(f"evaluations_{period}.{'parquet' if typed else 'csv'}", table)
            unit_tables.append(evaluations.event_table(units, org.unit_ids, org.official_ids, "unit_id",
                                                       f"TT{yymm}-", period, True, width=5))
        table = pa.concat_tables([_decode(t) for t in unit_tables])
        # A spreadsheet, as collective results are usually kept; Parquet at city scale.
        self.put("unit_evaluations." + ("parquet" if typed else "xlsx"), table)


def _decode(table: pa.Table) -> pa.Table:
    """Dictionary columns to plain ones, so that tables of different months concatenate."""
    return table.cast(pa.schema([pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type)
                                          else f.type) for f in table.schema]))
