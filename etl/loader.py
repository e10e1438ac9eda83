"""The loader core: one file (or one replay batch) in one transaction, with exact accounting.

For every batch: rows_read = loaded + duplicates + quarantined. Good rows are written and
the rollups updated in the same transaction as the facts; bad rows go to the quarantine
with their line, text and reason; a file whose content was loaded before is a no-op.
"""
from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from etl import rollups
from etl.db import transaction
from etl.kinds import INSERT_ONLY, KINDS, LATEST_WINS, Kind, kind_of_file
from etl.readers import FileRejected, RawFile, check_parquet_pages, drop_raw, read_into_raw
from etl.validate import s, source_record_sql, staging_sql

# Load order of kinds, so that references exist before the facts that name them.
KIND_ORDER = ("units", "officials", "objectives", "key_results", "tasks", "ratings",
              "evaluations", "unit_evaluations", "checkins")


@dataclass
class LoadDetails:
    """What a caller inside the server wants beyond the ledger entry: each line's result
    (`loaded`, `duplicate`, `stale` or the quarantine reason) for the API's per-record answers,
    and the units whose subtree figures moved (None: any may have) for the live pages."""
    lines: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # line -> (result, detail)
    touched: set[str] | None = field(default_factory=set)
    # Ratings written, newest last, for the live feed of wall displays (at most FEED_ROWS).
    new_ratings: list[tuple] = field(default_factory=list)  # FEED_COLUMNS


FEED_ROWS = 200
# A rating as the live feed shows it: no citizen data, just who, where, when and how.
FEED_COLUMNS = "r.rating_id, r.official_id, o.unit_id, r.counter_id, r.rated_at, r.level"


# A row's action in `keyed` as the API reports it.
_LINE_RESULT = {"apply": "loaded", "superseded": "loaded", "duplicate": "duplicate", "stale": "stale"}


def file_hash(path: Path) -> str:
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def load_paths(conn: duckdb.DuckDBPyConnection, paths) -> list[dict]:
    """Load files one by one (each in its own transaction); returns their ledger entries."""
    return [load_file(conn, Path(p)) for p in paths]


def _now():
    return time.time()


def _begin_batch(conn, file: str, path: str | None, kind: str | None, fmt: str | None,
                 content_hash: str | None) -> int:
    batch_id = conn.execute("SELECT nextval('ingest_batch_seq')").fetchone()[0]
    conn.execute(
        "INSERT INTO ingest_ledger (batch_id, file, path, kind, format, content_hash, status, started_at) "
        "VALUES (?, ?, ?, ?, ?, ?, 'running', now()::TIMESTAMP)",
        [batch_id, file, path, kind, fmt, content_hash])
    return batch_id


def _finish_batch(conn, batch_id: int, status: str, counts: dict, started: float,
                  message: str | None = None, duplicate_of: int | None = None) -> None:
    conn.execute(
        "UPDATE ingest_ledger SET status = ?, message = ?, duplicate_of = ?, rows_read = ?, loaded = ?, "
        "duplicates = ?, quarantined = ?, finished_at = now()::TIMESTAMP, seconds = ? WHERE batch_id = ?",
        [status, message, duplicate_of, counts.get("rows_read", 0), counts.get("loaded", 0),
         counts.get("duplicates", 0), counts.get("quarantined", 0), round(_now() - started, 4), batch_id])


def ledger_entry(conn, batch_id: int) -> dict:
    """One ledger row as the dict `status --json` prints, with quarantine reasons counted."""
    cur = conn.cursor()
    row = cur.execute(
        "SELECT batch_id, file, path, kind, format, status, message, duplicate_of, rows_read, loaded, "
        "duplicates, quarantined, started_at, seconds FROM ingest_ledger WHERE batch_id = ?",
        [batch_id]).fetchone()
    keys = ("batch_id", "file", "path", "kind", "format", "status", "message", "duplicate_of",
            "rows_read", "loaded", "duplicates", "quarantined", "started_at", "seconds")
    entry = dict(zip(keys, row))
    entry["started_at"] = entry["started_at"].isoformat(timespec="seconds") if entry["started_at"] else None
    entry["reasons"] = dict(cur.execute(
        "SELECT reason, count(*) FROM quarantine WHERE batch_id = ? OR retried_by = ? GROUP BY reason "
        "ORDER BY reason", [batch_id, batch_id]).fetchall())
    return entry


def status_report(conn) -> tuple[list[dict], list[tuple[str, int]]]:
    """Every batch's ledger entry, and the quarantined rows still waiting, by reason."""
    ids = [r[0] for r in conn.execute("SELECT batch_id FROM ingest_ledger ORDER BY batch_id").fetchall()]
    waiting = conn.execute("SELECT reason, count(*) FROM quarantine WHERE resolved_by IS NULL "
                           "GROUP BY reason ORDER BY count(*) DESC").fetchall()
    return [ledger_entry(conn, i) for i in ids], waiting


def load_file(conn: duckdb.DuckDBPyConnection, path: Path, details: LoadDetails | None = None) -> dict:
    """Load one contract file; returns its ledger entry. Never raises for bad input.
    `details`, when given, is filled in (see LoadDetails)."""
    details = details if details is not None else LoadDetails()
    started = _now()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    digest = file_hash(path)
    kind = kind_of_file(path.name)
    fmt = path.suffix.lower().lstrip(".")
    earlier = conn.execute(
        "SELECT batch_id, file FROM ingest_ledger WHERE content_hash = ? AND status IN ('loaded', 'partial') "
        "ORDER BY batch_id LIMIT 1", [digest]).fetchone()
    if earlier:
        batch_id = _begin_batch(conn, path.name, str(path), kind and kind.name, fmt, digest)
        _finish_batch(conn, batch_id, "already_loaded", {}, started,
                      f"same content as {earlier[1]} (batch {earlier[0]}), loaded before: nothing changed",
                      duplicate_of=earlier[0])
        return ledger_entry(conn, batch_id)
    if kind is None:
        batch_id = _begin_batch(conn, path.name, str(path), None, fmt, digest)
        _reject(conn, batch_id, path.name, None, "unknown_kind",
                f"{path.name}: the name does not start with a known kind "
                f"({', '.join(KIND_ORDER)}); rename it, e.g. tasks_{path.name}", started)
        return ledger_entry(conn, batch_id)

    # The raw rows are read before the transaction: a reader may retry another way (CSV with
    # quoted line breaks) after an error, which inside a transaction would abort it.
    try:
        raw = read_into_raw(conn, path)
        with _transaction(conn):
            batch_id = _begin_batch(conn, path.name, str(path), kind.name, fmt, digest)
            counts = _load_rows(conn, kind, raw, batch_id, path, details)
            status = "partial" if counts["quarantined"] else "loaded"
            message = None
            if counts["rows_read"] == 0:
                status, message = "rejected", f"{path.name} has a header but no rows"
                _record_file_reason(conn, batch_id, path.name, kind.name, "empty_file", message)
            elif counts.get("missing"):
                status = "rejected"
                message = (f"{path.name}: required column(s) {', '.join(counts['missing'])} missing; "
                           f"every row is kept in quarantine")
            _finish_batch(conn, batch_id, status, counts, started, message)
            if counts["loaded"]:
                _bump_data_version(conn)
    except FileRejected as rejected:  # nothing of the file was written; the ledger says why
        _cleanup(conn)
        batch_id = _begin_batch(conn, path.name, str(path), kind.name, fmt, digest)
        _reject(conn, batch_id, path.name, kind.name, rejected.reason, str(rejected), started)
    details.lines.update((line, (reason, detail)) for line, reason, detail in conn.execute(
        "SELECT line, reason, detail FROM quarantine WHERE batch_id = ? AND line IS NOT NULL", [batch_id]).fetchall())
    return ledger_entry(conn, batch_id)


@contextmanager
def _transaction(conn):
    """One batch's transaction (etl.db.transaction); the batch's temp tables are dropped
    either way."""
    try:
        with transaction(conn):
            yield
    finally:
        _cleanup(conn)


def _load_rows(conn, kind: Kind, raw: RawFile, batch_id: int, path: Path, details: LoadDetails) -> dict:
    """_load_raw, with a Parquet file whose pages cannot be read rejected as corrupt_file."""
    try:
        return _load_raw(conn, kind, raw, batch_id, path.name, details=details)
    except duckdb.Error:
        if raw.format == "parquet":
            check_parquet_pages(path)  # raises FileRejected when the file is at fault
        raise


def _bump_data_version(conn) -> None:
    """Pages poll this number; it moves in the same transaction as the data."""
    conn.execute("UPDATE data_version SET version = version + 1, changed_at = now()::TIMESTAMP")


def _reject(conn, batch_id, file, kind, reason, message, started) -> None:
    _record_file_reason(conn, batch_id, file, kind, reason, message)
    _finish_batch(conn, batch_id, "rejected", {}, started, message)


def _record_file_reason(conn, batch_id, file, kind, reason, message) -> None:
    """A whole-file rejection is a quarantine entry without a line, so reasons count it."""
    conn.execute(
        "INSERT INTO quarantine VALUES (nextval('quarantine_seq'), ?, ?, ?, NULL, NULL, NULL, ?, ?, NULL, NULL)",
        [batch_id, file, kind, reason, message])


def _cleanup(conn) -> None:
    conn.execute("DROP VIEW IF EXISTS changed_new")
    for name in ("staged", "stored_ids", "stored", "keyed", "changed_old", "csv_rejects", "csv_scans"):
        conn.execute(f"DROP TABLE IF EXISTS {name}")
    drop_raw(conn)


def _load_raw(conn, kind: Kind, raw: RawFile, batch_id: int, file: str, replay: bool = False,
              details: LoadDetails | None = None) -> dict:
    """Validate `raw`, write good rows and rollups, quarantine the rest; return the counts."""
    missing = [c for c in kind.required if c not in raw.columns]
    malformed = len(raw.malformed)
    for line, text, detail in raw.malformed:
        conn.execute("INSERT INTO quarantine VALUES (nextval('quarantine_seq'), ?, ?, ?, ?, ?, NULL, "
                     "'malformed_line', ?, NULL, NULL)", [batch_id, file, kind.name, line, text, detail])
    if missing:
        n = conn.execute(
            f"INSERT INTO quarantine SELECT nextval('quarantine_seq'), ?, ?, ?, line, {raw.raw_text}, NULL, "
            f"'missing_column', ?, NULL, NULL FROM raw",
            [batch_id, file, kind.name, f"required column(s) {', '.join(missing)} missing from the header"]
        ).fetchone()[0]
        return {"rows_read": n + malformed, "loaded": 0, "duplicates": 0, "quarantined": n + malformed,
                "missing": missing}

    carry = ("qid",) if replay else ()
    conn.execute(f"CREATE TEMP TABLE staged AS {staging_sql(kind, raw, carry)}")
    _check_references(conn, kind)
    _classify(conn, kind)
    counts = _write(conn, kind, batch_id, details or LoadDetails())
    counts["rows_read"] = conn.execute("SELECT count(*) FROM staged").fetchone()[0] + malformed
    counts["quarantined"] = _quarantine(conn, kind, raw, batch_id, file, replay) + malformed
    return counts


def _check_references(conn, kind: Kind) -> None:
    """References within a kind (units' parents, objectives' parents) may name a row of the
    same file, so they are checked after validation; other references were joined there."""
    if kind.name == "units":
        _check_unit_tree(conn)
        return
    for ref in (r for r in kind.refs if r.table == kind.table):
        for _ in range(50):  # a quarantined parent makes its children unknown too
            changed = conn.execute(
                f"UPDATE staged SET _reason = ?, _detail = ? || {ref.column} || ? "
                f"WHERE _reason IS NULL AND {ref.column} IS NOT NULL "
                f"AND NOT EXISTS (SELECT 1 FROM {ref.table} t WHERE t.{ref.key} = staged.{ref.column}) "
                f"AND NOT EXISTS (SELECT 1 FROM staged o WHERE o._reason IS NULL "
                f"AND o.{ref.key} = staged.{ref.column})",
                [ref.reason, f"{ref.column} ", f" is not a known {ref.table[:-1].replace('_', ' ')}; "
                 "load it, then run `python -m etl replay`"]).fetchone()[0]
            if not changed:
                break


def _check_unit_tree(conn) -> None:
    """Units: parents must exist (in the database or this file) and the tree must stay a tree."""
    existing = dict(conn.execute("SELECT unit_id, parent_id FROM units").fetchall())
    rows = conn.execute(
        "SELECT unit_id, parent_id, line FROM staged WHERE _reason IS NULL ORDER BY line").fetchall()
    proposed = dict(existing)
    for unit_id, parent_id, _ in rows:  # the last row of a unit in the file wins
        proposed[unit_id] = parent_id
    bad: dict[str, tuple[str, str]] = {}
    for start in {r[0] for r in rows}:
        seen, node = [], start
        while node is not None and node not in seen and node in proposed:
            seen.append(node)
            node = proposed[node]
        if node is not None and node in seen and start in seen[seen.index(node):]:
            cycle = seen[seen.index(node):]
            bad[start] = ("unit_cycle", "parent_id forms a cycle: " + " → ".join(cycle + [node]))
    for _ in range(len(rows) + 1):
        changed = False
        for unit_id, parent_id, _ in rows:
            if unit_id in bad or parent_id is None:
                continue
            if parent_id not in proposed or (parent_id in bad and parent_id not in existing):
                bad[unit_id] = ("unknown_unit", f"parent_id {parent_id} is not a known unit; "
                                "load it, then run `python -m etl replay`")
                changed = True
        if not changed:
            break
    if bad:
        conn.executemany("UPDATE staged SET _reason = ?, _detail = ? WHERE _reason IS NULL AND unit_id = ?",
                         [(r, d, u) for u, (r, d) in bad.items()])


def _same(kind: Kind, a: str, b: str) -> str:
    return " AND ".join(f"{a}.{c.name} IS NOT DISTINCT FROM {b}.{c.name}" for c in kind.columns)


def _classify(conn, kind: Kind) -> None:
    """Give every good row an action: apply, superseded, duplicate, stale or conflict.

    Per key, one row of the file wins (insert-only: the first; latest-wins: the newest;
    upsert: the last) and is judged against the database; the others against it.
    """
    key = ", ".join(kind.key)
    repeats = conn.execute(f"SELECT count(*) > count(DISTINCT ({key})) FROM staged WHERE _reason IS NULL"
                           ).fetchone()[0]
    if kind.mode == INSERT_ONLY:
        order = "line"
    elif kind.mode == LATEST_WINS:
        order = f"{kind.order_by} DESC, line DESC"
    else:
        order = "line DESC"
    rank = f"row_number() OVER (PARTITION BY {key} ORDER BY {order})" if repeats else "1"
    on_db = " AND ".join(f"t.{c} = k.{c}" for c in kind.key)
    if kind.mode == INSERT_ONLY:
        verdict = f"CASE WHEN {_same(kind, 'k', 't')} THEN 'duplicate' ELSE 'conflict' END"
    elif kind.mode == LATEST_WINS:
        verdict = (f"CASE WHEN {_same(kind, 'k', 't')} THEN 'duplicate' "
                   f"WHEN t.{kind.order_by} > k.{kind.order_by} THEN 'stale' ELSE 'apply' END")
    else:
        verdict = f"CASE WHEN {_same(kind, 'k', 't')} THEN 'duplicate' ELSE 'apply' END"
    # The stored rows with the file's keys, found by a semi join that hashes the (small) file
    # side and scans the table once; `existed` marks rows that replace one of them. On a
    # table with key_hash the join is on that integer: the rare row of another key with the
    # same hash is dropped by the exact join below. The row ids come first and the rows after:
    # a scan that fetches every column decodes each vector holding a match, which made a
    # 1,000-row file's lookup cost as much as a day's (bench/day_floor.py).
    if kind.hashed_key:
        conn.execute(f"CREATE TEMP TABLE stored_ids AS SELECT rowid AS _rid FROM {kind.table} WHERE key_hash IN "
                     f"(SELECT {kind.key_hash_sql('f')} FROM staged f WHERE f._reason IS NULL)")
        conn.execute(f"CREATE TEMP TABLE stored AS SELECT t.rowid AS _rid, t.* EXCLUDE (key_hash) "
                     f"FROM {kind.table} t WHERE t.rowid IN (SELECT _rid FROM stored_ids)")
    else:
        key_match = " AND ".join(f"t.{c} = f.{c}" for c in kind.key)
        conn.execute(f"CREATE TEMP TABLE stored AS SELECT t.rowid AS _rid, t.* FROM {kind.table} t "
                     f"WHERE EXISTS (SELECT 1 FROM staged f WHERE f._reason IS NULL AND {key_match})")
    conn.execute(
        f"CREATE TEMP TABLE keyed AS SELECT k.*, t.{kind.key[0]} IS NOT NULL AS existed, t._rid, "
        f"CASE WHEN k.rn > 1 THEN NULL WHEN t.{kind.key[0]} IS NULL THEN 'apply' ELSE {verdict} END AS action "
        f"FROM (SELECT *, {rank} AS rn FROM staged WHERE _reason IS NULL) k "
        f"LEFT JOIN stored t ON k.rn = 1 AND {on_db}")
    if repeats:
        on = " AND ".join(f"k.{c} = w.{c}" for c in kind.key)
        conn.execute(
            f"UPDATE keyed k SET action = CASE WHEN {_same(kind, 'k', 'w')} THEN 'duplicate' "
            f"WHEN {str(kind.mode == INSERT_ONLY).upper()} THEN 'conflict' ELSE 'superseded' END "
            f"FROM keyed w WHERE w.rn = 1 AND k.rn > 1 AND {on}")
    if conn.execute("SELECT count(*) FROM keyed WHERE action = 'conflict'").fetchone()[0]:
        key_text = " || '/' || ".join(f"CAST(k.{c} AS VARCHAR)" for c in kind.key)
        conn.execute(
            f"UPDATE staged s SET _reason = 'conflict', _detail = {s(' / '.join(kind.key) + ' ')} || {key_text} || "
            f"CASE WHEN k.rn = 1 THEN ' was loaded before with different content' "
            f"ELSE ' appears earlier in this file with different content' END || "
            f"'; an insert-only record is never changed' FROM keyed k WHERE k.action = 'conflict' AND k.line = s.line")


def _write(conn, kind: Kind, batch_id: int, details: LoadDetails) -> dict:
    cols = ", ".join(c.name for c in kind.columns)
    conn.execute(f"CREATE TEMP VIEW changed_new AS SELECT {cols}, {batch_id}::BIGINT AS batch_id "
                 f"FROM keyed WHERE action = 'apply'")
    conn.execute("CREATE TEMP TABLE changed_old AS SELECT * EXCLUDE (_rid) FROM stored "
                 "WHERE _rid IN (SELECT _rid FROM keyed WHERE action = 'apply' AND existed)")
    if conn.execute("SELECT count(*) FROM changed_old").fetchone()[0]:
        conn.execute(f"DELETE FROM {kind.table} WHERE rowid IN "
                     f"(SELECT _rid FROM keyed WHERE action = 'apply' AND existed)")
    hashed = (", key_hash", f", {kind.key_hash_sql()}") if kind.hashed_key else ("", "")
    conn.execute(f"INSERT INTO {kind.table} ({cols}, batch_id{hashed[0]}) SELECT *{hashed[1]} FROM changed_new")
    touched = rollups.apply_changes(conn, kind.name)
    if kind.name == "ratings":
        details.new_ratings += conn.execute(
            f"SELECT * FROM (SELECT {FEED_COLUMNS} FROM changed_new r JOIN officials o USING (official_id) "
            f"ORDER BY r.rated_at DESC LIMIT ?) ORDER BY rated_at", [FEED_ROWS]).fetchall()
    details.touched = None if touched is None or details.touched is None else details.touched | touched
    details.lines.update((line, (_LINE_RESULT[action], None)) for line, action in conn.execute(
        "SELECT line, action FROM keyed WHERE action <> 'conflict'").fetchall())
    loaded, duplicates = conn.execute(
        "SELECT count(*) FILTER (WHERE action IN ('apply', 'superseded')), "
        "count(*) FILTER (WHERE action IN ('duplicate', 'stale')) FROM keyed").fetchone()
    return {"loaded": loaded, "duplicates": duplicates}


def _quarantine(conn, kind: Kind, raw: RawFile, batch_id: int, file: str, replay: bool) -> int:
    """Bad rows to the quarantine with their source text and values, taken from `raw`."""
    if replay:
        # A replayed row that fails again stays where it is, with its newest reason.
        conn.execute("UPDATE quarantine q SET reason = s._reason, detail = s._detail, retried_by = ? "
                     "FROM staged s WHERE s.qid = q.quarantine_id AND s._reason IS NOT NULL", [batch_id])
        conn.execute("UPDATE quarantine q SET resolved_by = ? FROM staged s "
                     "WHERE s.qid = q.quarantine_id AND s._reason IS NULL", [batch_id])
        return conn.execute("SELECT count(*) FROM staged WHERE _reason IS NOT NULL").fetchone()[0]
    return conn.execute(
        f"INSERT INTO quarantine SELECT nextval('quarantine_seq'), ?, ?, ?, s.line, r.raw_text, r.record, "
        f"s._reason, s._detail, NULL, NULL FROM staged s JOIN ("
        f"SELECT line, {raw.raw_text} AS raw_text, {source_record_sql(kind, raw)} AS record FROM raw "
        f"WHERE line IN (SELECT line FROM staged WHERE _reason IS NOT NULL)) r USING (line) "
        f"WHERE s._reason IS NOT NULL", [batch_id, file, kind.name]).fetchone()[0]


# Quarantined rows of one kind (?) that a replay retries: those whose reference was unknown.
_REPLAYABLE = "kind = ? AND resolved_by IS NULL AND reason LIKE 'unknown_%' AND record IS NOT NULL"


def replay(conn: duckdb.DuckDBPyConnection) -> list[dict]:
    """Retry quarantined rows whose reference was unknown; one batch per kind, in load order."""
    entries = []
    for name in KIND_ORDER:
        kind = KINDS[name]
        waiting = conn.execute(f"SELECT count(*) FROM quarantine WHERE {_REPLAYABLE}", [name]).fetchone()[0]
        if not waiting:
            continue
        started = _now()
        with _transaction(conn):
            batch_id = _begin_batch(conn, "replay", None, name, "quarantine", None)
            conn.execute("CREATE TEMP TABLE raw AS SELECT quarantine_id AS qid, record, "
                         f"row_number() OVER (ORDER BY quarantine_id) AS line FROM quarantine WHERE {_REPLAYABLE}",
                         [name])
            raw = RawFile("quarantine", {c.name: f"json_extract_string(record, '$.{c.name}')" for c in kind.columns},
                          {}, "CAST(record AS VARCHAR)")
            counts = _load_raw(conn, kind, raw, batch_id, "replay", replay=True)
            _finish_batch(conn, batch_id, "replay", counts, started,
                          f"retried {counts['rows_read']} quarantined {name} rows")
            if counts["loaded"]:
                _bump_data_version(conn)
        entries.append(ledger_entry(conn, batch_id))
    return entries
