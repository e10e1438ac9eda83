"""The lake: the committed facts as partitioned Parquet, the open format a cluster reads.

    lake/<kind>/period=YYYY-MM/<source>-export-<id>-<n>.parquet   written by `etl lake export`
    lake/<kind>/period=YYYY-MM/<source>-b<first>-<last>.parquet    appended by the server's writer
    lake/units/<source>.parquet, lake/officials/<source>.parquet   snapshots of the tree and people
    lake/_state/<source>.json                                      the last batch in the lake

The facts are a log: a task corrected later appears again with a newer updated_at (and a
higher batch_id), maybe under another month. Readers keep the latest version of each key
(`latest_sql`), so a version present twice (a crash between the rename and the state file,
an export over appended files) changes nothing. `<source>` names the server that wrote the
files (a province), so many servers can share one lake.

No reader ever sees half a file: every file is written under a name starting with "." (Spark
and `lake_files` skip those), fsynced, then renamed; an export writes its partitions in a
temporary folder first and renames each one into place.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from etl.errors import EtlError
from etl.kinds import KINDS
from etl.writer import fsync_path

log = logging.getLogger("thuocdo.lake")

# Fact kinds the rollups read, with the month each row belongs to (its partition).
FACTS = {
    "tasks": "strftime(due_at, '%Y-%m')",
    "ratings": "strftime(rated_at, '%Y-%m')",
    "evaluations": "period",
    "unit_evaluations": "period",
}
SNAPSHOTS = ("units", "officials")
_SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def columns(kind: str) -> list[str]:
    """The lake's columns of a kind: the contract's, then the batch that wrote the row."""
    return [c.name for c in KINDS[kind].columns] + ["batch_id"]


def _with_period(kind: str) -> str:
    """A fact kind's lake columns and `period`, its partition's month (a column of the files too)."""
    extra = "" if "period" in columns(kind) else f", {FACTS[kind]} AS period"
    return ", ".join(columns(kind)) + extra


def latest_sql(kind: str, source: str) -> str:
    """SELECT of the current rows of a fact kind from `source` (a table or view of the lake's
    rows): per key, the newest version (latest-wins kinds: by their order column, then batch),
    as the loader keeps them. DuckDB dialect; etl/spark translates it."""
    k = KINDS[kind]
    cols = ", ".join(columns(kind))
    order = (f"{k.order_by} DESC, " if k.order_by else "") + "batch_id DESC"
    return (f"SELECT {cols} FROM (SELECT {cols}, row_number() OVER (PARTITION BY {', '.join(k.key)} "
            f"ORDER BY {order}) AS version FROM {source}) AS versions WHERE version = 1")


def check_source(source: str) -> str:
    if not _SOURCE.match(source):
        raise EtlError(f"lake source {source!r}: use 1-64 letters, digits, '-' or '_' (e.g. the province's code)", 2)
    return source


def lake_files(lake: Path, kind: str) -> list[Path]:
    """The complete Parquet files of a kind (names starting with '.' or '_' are work in progress)."""
    base = Path(lake) / kind
    if not base.is_dir():
        return []
    return sorted(p for p in base.rglob("*.parquet")
                  if not any(part.startswith((".", "_")) for part in p.relative_to(base).parts))


def _copy(conn, select: str, target: Path, params=()) -> int:
    """SELECT to one Parquet file, atomically: a hidden name, fsync, rename. Rows written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    n = conn.execute(f"COPY ({select}) TO '{_quote(tmp)}' (FORMAT parquet, COMPRESSION zstd)", list(params)).fetchone()[0]
    fsync_path(tmp)
    os.replace(tmp, target)
    fsync_path(target.parent)
    return n


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _state_path(lake: Path, source: str) -> Path:
    return Path(lake) / "_state" / f"{source}.json"


def read_state(lake: Path, source: str) -> dict:
    path = _state_path(lake, source)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _write_state(lake: Path, source: str, state: dict) -> None:
    path = _state_path(lake, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_path(path.parent)


def _last_batch(conn) -> int:
    return conn.execute("SELECT coalesce(max(batch_id), 0) FROM ingest_ledger").fetchone()[0]


def write_snapshots(conn, lake: Path, source: str) -> int:
    rows = 0
    for kind in SNAPSHOTS:
        rows += _copy(conn, f"SELECT {', '.join(columns(kind))} FROM {kind} ORDER BY {KINDS[kind].key[0]}",
                      Path(lake) / kind / f"{source}.parquet")
    return rows


def export(conn, lake: Path, source: str = "local") -> dict:
    """Every current fact of the database into the lake, partition by partition, replacing what
    `source` had there; the unit tree and officials as snapshots. Returns rows and seconds."""
    lake, source = Path(lake), check_source(source)
    started = time.perf_counter()
    upto = _last_batch(conn)
    export_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    work = lake / f".export-{export_id}"
    rows: dict[str, int] = {}
    try:
        for kind in FACTS:
            out = work / kind
            out.mkdir(parents=True)
            rows[kind] = conn.execute(
                f"COPY (SELECT {_with_period(kind)} FROM {kind}) TO '{_quote(out)}' "
                f"(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (period), WRITE_PARTITION_COLUMNS true, "
                f"FILENAME_PATTERN '{source}-export-{export_id}-{{i}}')").fetchone()[0]
            for part in sorted(p for p in out.iterdir() if p.is_dir()):
                _install_partition(part, lake / kind / part.name, source)
        rows["snapshots"] = write_snapshots(conn, lake, source)
        _write_state(lake, source, {"batch_id": upto, "export": export_id})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    facts = sum(v for k, v in rows.items() if k in FACTS)
    return {"lake": str(lake), "source": source, "rows": rows, "batch_id": upto, "seconds": round(seconds, 3),
            "rows_per_second": round(facts / seconds) if seconds else None}


def _install_partition(new: Path, target: Path, source: str) -> None:
    """Put a finished partition in place: a new partition by one rename of its folder; an
    existing one gets the new files (each renamed in), then loses `source`'s older files.
    In between a reader may see a row twice, which `latest_sql` keeps once."""
    for f in new.iterdir():
        fsync_path(f)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(new, target)
        fsync_path(target.parent)
        return
    older = [p for p in target.iterdir() if p.name.startswith(f"{source}-") and p.suffix == ".parquet"]
    for f in new.iterdir():
        os.replace(f, target / f.name)
    fsync_path(target)
    for p in older:
        p.unlink()


class LakeAppender:
    """The server writer's hook: after a commit, the facts of every batch newer than the lake's
    state are appended (one file per kind and month), and the snapshots rewritten when the unit
    tree or the officials changed. A crash before the state file is written appends the same
    rows again next time, which readers keep once; a failure is logged and caught up later."""

    def __init__(self, lake: Path, source: str = "local"):
        self.lake, self.source = Path(lake), check_source(source)
        self.lake.mkdir(parents=True, exist_ok=True)
        self.appended_rows = 0

    def after_commit(self, conn) -> int:
        state = read_state(self.lake, self.source)
        done = state.get("batch_id", 0)
        upto = _last_batch(conn)
        if upto <= done:
            return 0
        rows = 0
        for kind, period in FACTS.items():
            where = "batch_id > ? AND batch_id <= ?"
            months = [r[0] for r in conn.execute(f"SELECT DISTINCT {period} FROM {kind} WHERE {where}",
                                                 [done, upto]).fetchall()]
            for month in months:
                rows += _copy(conn, f"SELECT {_with_period(kind)} FROM {kind} "
                                    f"WHERE {where} AND {period} = ?",
                              self.lake / kind / f"period={month}" / f"{self.source}-b{done + 1}-{upto}.parquet",
                              [done, upto, month])
        changed = conn.execute(
            "SELECT count(*) FROM ingest_ledger WHERE batch_id > ? AND batch_id <= ? AND kind IN ('units', 'officials') "
            "AND loaded > 0", [done, upto]).fetchone()[0]
        if changed or not all((self.lake / k / f"{self.source}.parquet").exists() for k in SNAPSHOTS):
            write_snapshots(conn, self.lake, self.source)
        _write_state(self.lake, self.source, {**state, "batch_id": upto})
        self.appended_rows += rows
        return rows
