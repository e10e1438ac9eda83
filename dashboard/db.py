"""The one place that opens DuckDB: one connection per process, one cursor per request.

DuckDB allows one writing process, so the server process owns the file; every request
(and so every Dash callback, which runs inside a request) takes its own `conn.cursor()`,
closed when the request ends. Never share a cursor between threads.
"""
from __future__ import annotations

import threading
from pathlib import Path

import duckdb
from flask import Flask, current_app, g

from etl.db import connect

_EXTENSION = "thuocdo_db"


class Database:
    """The server's connection to its DuckDB file (migrated on open)."""

    def __init__(self, path: str | Path, memory_limit: str = "2GB"):
        self.path = Path(path)
        self.conn = connect(self.path, memory_limit=memory_limit)
        self._lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:  # creating cursors is cheap (~25 µs) but not documented as thread-safe
            return self.conn.cursor()

    def close(self) -> None:
        self.conn.close()


def init_app(server: Flask, database: Database) -> None:
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
