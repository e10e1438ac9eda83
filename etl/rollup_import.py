"""`python -m etl rollups import DIR --db PATH`: a dashboard database served from rollups computed
elsewhere (the Spark job's output), holding the unit tree and the officials but no facts.

A national server keeps the country's rollups, not its 500M tasks a year. Its pages read the
rollups as a province's do; the few that list raw facts (an official's tasks, ratings and
evaluation events) say that the detail lives on the province's server (`is_rollups_only`).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from etl.clustering import CLUSTERED
from etl.db import transaction
from etl.errors import EtlError
from etl.lake import FACTS, SNAPSHOTS
from etl.rollups import FULL_BUILD, ROLLUP_TABLES

IMPORT_FORMAT = "rollups"  # ingest_ledger.format of an import: marks a rollups-only database
_ORDER = {**{s.table: s.order_by for s in FULL_BUILD if s.order_by}, **CLUSTERED}


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def import_rollups(conn, folder: Path) -> dict:
    """Replace the database's rollups, units and officials by those in `folder`, in one
    transaction. Refuses a database that holds facts: its own rollups would stop matching them."""
    folder = Path(folder)
    manifest_path = folder / "_manifest.json"
    if not manifest_path.is_file():
        raise EtlError(f"{folder} is not a finished rollup folder (no _manifest.json): run "
                       f"`python -m etl spark rollups --lake DIR --out {folder}` and wait for it to end")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    tables = (*SNAPSHOTS, *ROLLUP_TABLES)
    missing = [t for t in tables if not (folder / t).is_dir()]
    if missing:
        raise EtlError(f"{folder}: table folder(s) {', '.join(missing)} missing")
    held = {k: conn.execute(f"SELECT count(*) FROM {k}").fetchone()[0] for k in FACTS}
    if any(held.values()):
        raise EtlError("this database holds facts (" + ", ".join(f"{k} {n:,}" for k, n in held.items() if n)
                       + "): rollups computed elsewhere would not match them. Import into a dashboard "
                       "database of its own, e.g. --db data/national.duckdb")
    started = time.perf_counter()
    rows = {}
    with transaction(conn):
        for table in tables:
            conn.execute(f"DELETE FROM {table}")
            files = sorted(str(p) for p in (folder / table).glob("*.parquet"))
            if not files:
                rows[table] = 0
                continue
            order = f" ORDER BY {_ORDER[table]}" if table in _ORDER else ""
            rows[table] = conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet(?){order}",
                                       [files]).fetchone()[0]
        batch_id = conn.execute("SELECT nextval('ingest_batch_seq')").fetchone()[0]
        seconds = round(time.perf_counter() - started, 4)
        conn.execute(
            "INSERT INTO ingest_ledger (batch_id, file, path, kind, format, status, message, rows_read, loaded, "
            "started_at, finished_at, seconds) VALUES (?, ?, ?, NULL, ?, 'imported', ?, ?, ?, now()::TIMESTAMP, "
            "now()::TIMESTAMP, ?)",
            [batch_id, folder.name, str(folder), IMPORT_FORMAT,
             f"rollups computed by {manifest.get('engine', '?')} at {manifest.get('computed_at', '?')}",
             sum(rows.values()), sum(rows.values()), seconds])
        conn.execute("UPDATE data_version SET version = version + 1, changed_at = now()::TIMESTAMP")
    conn.execute("CHECKPOINT")
    return {"db_rows": rows, "batch_id": batch_id, "seconds": round(time.perf_counter() - started, 3),
            "computed_at": manifest.get("computed_at")}


def is_rollups_only(cur) -> bool:
    """The database serves imported rollups: no facts of its own, so fact lists are elsewhere."""
    return bool(cur.execute("SELECT count(*) FROM ingest_ledger WHERE format = ?", [IMPORT_FORMAT]).fetchone()[0]
                and not cur.execute("SELECT count(*) FROM (SELECT 1 FROM tasks LIMIT 1)").fetchone()[0])
