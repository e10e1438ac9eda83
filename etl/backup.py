"""Backups: a consistent snapshot of the database as a folder of Parquet files, and a restore
of such a folder into a new database file.

A snapshot is DuckDB's `EXPORT DATABASE` run in one read transaction, so the running server
takes it on a cursor of its own while its writer goes on loading (the snapshot holds what was
committed when it began). It is written to `<name>.partial` and renamed when complete: a folder
without that suffix is a whole backup. `manifest.json` beside the data says what it holds: the
schema version, each table's row count and each sequence's last value (DuckDB exports sequences
as new, so a restore would hand out ids again; the restore starts them past their last value).

A restore never writes into an existing file: restore into a new path, then swap files while
the server is stopped.
"""
from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from etl.errors import EtlError

MANIFEST = "manifest.json"
PARTIAL = ".partial"
_QUOTED = r"'((?:[^']|'')*)'"
_COPY_FROM = re.compile(r"(COPY\s+.+?\s+FROM\s+)" + _QUOTED, re.IGNORECASE)
_SEQUENCE = re.compile(r"CREATE SEQUENCE (\S+) (.*?)START (?:WITH )?-?\d+", re.IGNORECASE)


def default_folder(db_path: str | Path) -> Path:
    """`backups/` beside the database (the server's BACKUP_DIR setting may move it)."""
    return Path(db_path).resolve().parent / "backups"


def take(cur: duckdb.DuckDBPyConnection, folder: str | Path, *, now: datetime | None = None) -> dict:
    """Write a snapshot of the database `cur` belongs to into a new folder inside `folder`;
    its manifest (with `path`)."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    final = _unused(folder / f"thuocdo-{stamp}")
    partial = final.with_name(final.name + PARTIAL)
    shutil.rmtree(partial, ignore_errors=True)   # a crashed earlier attempt with the same name
    cur.execute("BEGIN TRANSACTION")
    try:  # one transaction: the counts below describe exactly what EXPORT writes
        cur.execute(f"EXPORT DATABASE {_literal(partial)} (FORMAT parquet, COMPRESSION zstd)")
        manifest = {
            "taken_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "schema_version": cur.execute("SELECT max(version) FROM schema_migrations").fetchone()[0],
            "tables": {name: cur.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                       for (name,) in cur.execute(
                           "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                           "AND NOT temporary ORDER BY table_name").fetchall()},
            "sequences": dict(cur.execute(
                "SELECT sequence_name, last_value FROM duckdb_sequences() "
                "WHERE database_name = current_database() AND last_value IS NOT NULL").fetchall()),
        }
    finally:
        cur.execute("COMMIT")
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    partial.rename(final)
    return {**manifest, "path": str(final)}


def restore(backup: str | Path, db_path: str | Path) -> dict:
    """Build a new database file `db_path` from the backup folder; its manifest, checked."""
    backup, db_path = Path(backup).resolve(), Path(db_path)
    manifest = read_manifest(backup)
    if db_path.exists() or Path(f"{db_path}.wal").exists():
        raise EtlError(f"{db_path} already exists; restore into a new file, then (with the server stopped) "
                       "move the old file aside and put the restored one in its place")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    partial = db_path.with_name(db_path.name + PARTIAL)
    partial.unlink(missing_ok=True)
    conn = duckdb.connect(str(partial))
    try:
        conn.execute(_schema(backup, manifest["sequences"]))
        conn.execute(_loads(backup))
        _check_counts(conn, manifest)
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    partial.rename(db_path)
    return {**manifest, "path": str(db_path)}


def read_manifest(backup: Path) -> dict:
    if backup.name.endswith(PARTIAL):
        raise EtlError(f"{backup} is an unfinished backup (the server stopped while writing it); use a complete one")
    try:
        return json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EtlError(f"{backup} is not a Thước đo backup (no {MANIFEST}); "
                       "backups are the folders `python -m etl backup` prints") from None


def _schema(backup: Path, sequences: dict[str, int]) -> str:
    """schema.sql with every sequence starting past the value it had reached."""
    def start_after(match: re.Match) -> str:
        last = sequences.get(match.group(1).strip('"'))
        start = 1 if last is None else last + 1
        return f"CREATE SEQUENCE {match.group(1)} {match.group(2)}START {start}"
    return _SEQUENCE.sub(start_after, (backup / "schema.sql").read_text(encoding="utf-8"))


def _loads(backup: Path) -> str:
    """load.sql reading from where the backup is now (EXPORT writes absolute paths, and the
    folder was renamed, or copied to another machine, since)."""
    def here(match: re.Match) -> str:
        name = Path(match.group(2).replace("''", "'")).name
        return match.group(1) + _literal(backup / name)
    return _COPY_FROM.sub(here, (backup / "load.sql").read_text(encoding="utf-8"))


def _check_counts(conn: duckdb.DuckDBPyConnection, manifest: dict) -> None:
    wrong = {name: (rows, conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
             for name, rows in manifest["tables"].items()}
    wrong = {name: pair for name, pair in wrong.items() if pair[0] != pair[1]}
    if wrong:
        shown = ", ".join(f"{name}: {want:,} in the backup, {got:,} restored" for name, (want, got) in wrong.items())
        raise EtlError(f"the restore does not match the backup's manifest ({shown}); the backup is damaged")


def _unused(path: Path) -> Path:
    n, candidate = 1, path
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
