"""Opening the DuckDB file: migrations on open, and a clear message when a server holds it."""
from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from pathlib import Path

import duckdb

from etl.errors import DatabaseBusy, EtlError

ETL_DIR = Path(__file__).resolve().parent
DEFAULT_DB = Path("data/thuocdo.duckdb")

# Memory cap for DuckDB itself: big loads spill to disk instead of growing past it.
DEFAULT_MEMORY_LIMIT = "3GB"


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every schema step, in order: schema.sql is version 1."""
    steps = [(1, "schema.sql", (ETL_DIR / "schema.sql").read_text(encoding="utf-8"))]
    for path in sorted((ETL_DIR / "migrations").glob("[0-9][0-9][0-9]_*.sql")):
        steps.append((int(path.name[:3]), path.name, path.read_text(encoding="utf-8")))
    versions = [v for v, _, _ in steps]
    if versions != list(range(1, len(steps) + 1)):
        raise EtlError(f"schema migrations are not numbered 1..n without gaps: {versions}")
    return steps


def schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def _fill_official_scores(conn) -> None:
    from etl.rollups import rebuild_scores

    rebuild_scores(conn, None)


def _cluster_lookup_tables(conn) -> None:
    from etl.clustering import compact_tables, tables_to_compact

    tables = tables_to_compact(conn)
    if tables:  # about a minute for a city's 45M rows: say why the open takes a while
        print(f"schema 4: rewriting {', '.join(tables)} in official_id order (once)", file=sys.stderr, flush=True)
    compact_tables(conn, tables)


# Python steps after a migration, for new rollups that an existing database must fill.
AFTER_MIGRATION = {3: _fill_official_scores, 4: _cluster_lookup_tables}


def migrate(conn: duckdb.DuckDBPyConnection) -> int:
    """Apply the schema steps this database has not seen yet; returns the version now."""
    current = schema_version(conn)
    steps = migrations()
    if current > len(steps):
        raise EtlError(
            f"this database has schema version {current}, newer than this program knows "
            f"({len(steps)}); update Thước đo before opening it"
        )
    for version, name, sql in steps[current:]:
        with transaction(conn):
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
            )
            conn.execute(sql)
            if version in AFTER_MIGRATION:
                AFTER_MIGRATION[version](conn)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)", [version, name])
    return len(steps)


@contextmanager
def transaction(conn):
    """Everything in the block committed whole, or rolled back whole."""
    conn.execute("BEGIN")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    # Outside the try: a COMMIT that fails (a full disk) has already ended the transaction, and a
    # ROLLBACK after it would raise "no transaction is active" in place of the real error.
    conn.execute("COMMIT")


_LOCK_PID = re.compile(r"PID (\d+)")


def connect(path: str | Path = DEFAULT_DB, *, read_only: bool = False,
            memory_limit: str = DEFAULT_MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating) the database; raise DatabaseBusy when a server holds it."""
    path = Path(path)
    if str(path) != ":memory:":
        if read_only and not path.exists():
            raise EtlError(f"no database at {path}; create it with `python -m etl init --db {path}`")
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = duckdb.connect(str(path), read_only=read_only,
                              config={"memory_limit": memory_limit})
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            pid = _LOCK_PID.search(text)
            who = f"process {pid.group(1)}" if pid else "another process"
            raise DatabaseBusy(
                f"the database {path} is in use by {who} (normally the running Thước đo server). "
                "DuckDB allows one writing process, and the server owns the file while it runs: "
                "stop the server, run this command, then start the server again."
            ) from None
        raise EtlError(f"cannot open the database {path}: {text}") from None
    conn.execute("SET enable_progress_bar = false")  # loads print their own summaries
    # A load's commit would otherwise often trigger a checkpoint of the whole file (4 s at
    # city scale); the WAL is replayed on open and checkpointed when it grows this large.
    conn.execute("SET checkpoint_threshold = '512MB'")
    if not read_only:
        migrate(conn)
    elif schema_version(conn) < len(migrations()):
        found = schema_version(conn)
        conn.close()
        raise EtlError(f"the database {path} has schema version {found}, older than this program's "
                       f"{len(migrations())}; upgrade it once with `python -m etl init --db {path}`")
    return conn
