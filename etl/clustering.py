"""Keeping the per-official tables ordered by official_id, so that one official's rows sit in
one or two row groups of 122,880 rows.

DuckDB keeps each row group's min and max official_id and skips the row groups that cannot
hold the one asked for; in official_id order the column also compresses into runs, so the
rows found are cheap to fetch, and so is the commit of a load that deletes rows from a table
with an official_id index (DuckDB fetches each deleted row's key to remove it). In load order
a city's 30M tasks spread every official over all 250 row groups. Rows appended by later loads
form row groups that span many officials again; `layout` and `spread` measure that, and
`compact` rewrites a table in order when it has grown.
"""
from __future__ import annotations

import bisect
import re
import time

from etl.db import transaction

# table -> the order it is kept in (official_id first).
CLUSTERED = {
    "tasks": "official_id, due_at, task_id",
    "ratings": "official_id, rated_at, rating_id",
    "evaluations": "official_id, period, acted_at, event_id",
    "official_month": "official_id, period",
    "official_open_due": "official_id, due_at",
    "eval_current": "official_id, period",
}

# Rewrite a table when more than this share of its row groups span many officials (appended
# since the last rewrite). Each such row group costs a lookup without an index about 2 ms
# (its official_id values are compared one by one); the rollup tables reach it after a day
# or two of loads and take a second or two to rewrite, the city's tasks after about a month.
MAX_SPREAD = 0.10


def layout(conn, table: str, officials: list[str] | None = None) -> tuple[float, int]:
    """(lookup cost, row groups) of a table, from one read of its storage info. The lookup
    cost is how many row groups hold rows of one official, on average, from the row groups'
    min/max official_id: 1 for a table in official_id order."""
    officials = officials if officials is not None else _official_ids(conn)
    ranges = conn.execute(
        "SELECT min(stats.min), max(stats.max) FROM pragma_storage_info(?) "
        "WHERE column_name = 'official_id' AND segment_type <> 'VALIDITY' GROUP BY row_group_id",
        [table]).fetchall()
    if not officials:
        return 0.0, len(ranges)
    covered = 0
    for low, high in ranges:
        if low is None or high is None:
            continue
        covered += bisect.bisect_right(officials, high) - bisect.bisect_left(officials, low)
    return covered / len(officials), len(ranges)


def lookup_cost(conn, table: str, officials: list[str] | None = None) -> float:
    return layout(conn, table, officials)[0]


def spread(cost: float, groups: int) -> float:
    """The share of a table's row groups beyond the one an official needs: 0 in order."""
    return max(0.0, (cost - 1) / groups) if groups > 1 else 0.0


def compact_tables(conn, tables) -> list[dict]:
    """Rewrite each table in its CLUSTERED order, within the caller's transaction: a new table
    with the same definition (NOT NULLs, defaults) is filled in order, takes the old one's
    name and gets its indexes again. (Appending a sorted copy and deleting the old rows took
    10 minutes for 30M tasks; this takes about 40 s.) Returns the seconds each took."""
    done = []
    for table in tables:
        if table not in CLUSTERED:
            raise ValueError(f"{table} is not a clustered table; choose from {', '.join(CLUSTERED)}")
        started = time.perf_counter()
        definition = conn.execute("SELECT sql FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
                                  [table]).fetchone()[0]
        indexes = [r[0] for r in conn.execute(
            "SELECT sql FROM duckdb_indexes() WHERE table_name = ? AND schema_name = 'main'", [table]).fetchall()]
        staging = f"{table}__ordered"
        conn.execute(re.sub(rf"^CREATE TABLE (main\.)?{table}\b", f"CREATE TABLE {staging}", definition))
        conn.execute(f"INSERT INTO {staging} SELECT * FROM {table} ORDER BY {CLUSTERED[table]}")
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE {staging} RENAME TO {table}")
        for sql in indexes:
            conn.execute(sql)
        done.append({"table": table, "seconds": round(time.perf_counter() - started, 2)})
    return done


def tables_to_compact(conn, max_spread: float = MAX_SPREAD) -> list[str]:
    officials = _official_ids(conn)
    return [t for t in CLUSTERED if spread(*layout(conn, t, officials)) > max_spread]


def compact(conn, force: bool = False, max_spread: float = MAX_SPREAD) -> list[dict]:
    """Compact the clustered tables spread over more than max_spread of their row groups (all
    with force), each in its own transaction, then checkpoint. Returns, per table, the lookup
    cost before and after and the seconds it took."""
    officials = _official_ids(conn)
    done = []
    for table in CLUSTERED:
        before, groups = layout(conn, table, officials)
        if not force and spread(before, groups) <= max_spread:
            continue
        with transaction(conn):
            (entry,) = compact_tables(conn, [table])
        done.append({**entry, "lookup_cost_before": round(before, 2),
                     "lookup_cost_after": round(lookup_cost(conn, table, officials), 2)})
    if done:
        conn.execute("CHECKPOINT")
    return done


def _official_ids(conn) -> list[str]:
    return [r[0] for r in conn.execute("SELECT official_id FROM officials ORDER BY official_id").fetchall()]
