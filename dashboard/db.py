"""The one place that opens DuckDB: one connection per process, one cursor per request.

DuckDB allows one writing process, so the server process owns the file; every request
(and so every Dash callback, which runs inside a request) takes its own `conn.cursor()`,
closed when the request ends. Never share a cursor between threads.

`Database.lock_down` locks the connection down: no query can read or write a file outside the
folders the writer loads from, attach another database file, install or load an extension, or
change a setting. DuckDB's settings belong to the database instance, not to a cursor, and the
writer's cursor shares the instance with the pages', so the inbox and the archive (the API
spool is inside it) stay readable, and the backup folder writable; everything else is refused.
"""
from __future__ import annotations

import threading
from pathlib import Path

import duckdb
from flask import Flask, current_app, g

from etl.db import connect

_EXTENSION = "thuocdo_db"

# The server's connection reads files only from its ingestion folders (inbox, archive and the
# spool inside it); `etl load` into a running server loads copies kept there (dashboard/ingest.py).
LOCK_DOWN = True


class Database:
    """The server's connection to its DuckDB file (migrated on open)."""

    def __init__(self, path: str | Path, memory_limit: str = "2GB"):
        self.path = Path(path)
        self.conn = connect(self.path, memory_limit=memory_limit)
        self._lock = threading.Lock()
        self.locked_to: list[str] = []  # the folders files may be read from, once locked down

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:  # creating cursors is cheap (~25 µs) but not documented as thread-safe
            return self.conn.cursor()

    def lock_down(self, readable: list[str | Path]) -> list[str]:
        """Refuse file access outside `readable` (folders), ATTACH of files, INSTALL/LOAD of
        extensions that are not built in, and every later SET, for every cursor of this
        connection. Irreversible for the life of the connection. Returns the folders allowed."""
        folders = sorted({str(Path(f).resolve()).rstrip("/") + "/" for f in readable})
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in folders)
        with self._lock:
            self.conn.execute(f"SET allowed_directories = [{listed}]")
            self.conn.execute("SET autoinstall_known_extensions = false")
            self.conn.execute("SET autoload_known_extensions = false")
            self.conn.execute("SET enable_external_access = false")  # the database's own files stay open
            self.conn.execute("SET lock_configuration = true")        # last: nothing above can be undone
        self.locked_to = folders
        return folders

    def close(self) -> None:
        self.conn.close()


def init_app(server: Flask, database: Database, lock_down: bool | None = None) -> None:
    """Register the database; with `lock_down` (default LOCK_DOWN) lock its connection down to
    the ingestion folders first."""
    if LOCK_DOWN if lock_down is None else lock_down:
        from dashboard.ingest import folders

        where = folders(server.config["THUOCDO"], database.path)
        lake = [server.config["THUOCDO"]["LAKE_DIR"]] if server.config["THUOCDO"]["LAKE_DIR"] else []  # the writer appends there
        database.lock_down([where["inbox"], where["archive"], where["backups"]] + lake)
    server.extensions[_EXTENSION] = database
    server.teardown_appcontext(_close_cursor)


def database() -> Database:
    return current_app.extensions[_EXTENSION]


def cursor() -> duckdb.DuckDBPyConnection:
    """This request's cursor, opened on first use."""
    if "db_cursor" not in g:
        g.db_cursor = database().cursor()
    return g.db_cursor


def _close_cursor(_exc=None) -> None:
    cur = g.pop("db_cursor", None)
    if cur is not None:
        cur.close()
