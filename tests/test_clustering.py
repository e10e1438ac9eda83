"""Compaction: the per-official tables rewritten in official_id order keep every row, and a
lookup of one official then reads fewer row groups."""
from __future__ import annotations

import duckdb

from etl.clustering import CLUSTERED, compact, lookup_cost
from etl.db import connect
from etl.rollups import ROLLUP_TABLES, rebuild_all


def _contents(conn, table):
    return conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def _scattered(path, officials=3000, tasks_each=60):
    """Tasks appended in an order unrelated to official_id, so every row group spans every
    official (what a year of daily loads leaves behind)."""
    conn = connect(path)
    conn.execute("INSERT INTO units VALUES ('U', NULL, 'Đơn vị', 'department', 0)")
    conn.execute("INSERT INTO officials SELECT printf('CB%06d', i), 'U', 'Cán bộ ' || i, NULL, false, true, 0 "
                 "FROM range(?) r(i)", [officials])
    conn.execute(
        "INSERT INTO tasks SELECT printf('T%08d', i), printf('CB%06d', (i * 7919) % ?), 'Việc ' || i, 'assigned', "
        "DATE '2026-01-01' + (i % 300)::INT, DATE '2026-01-10' + (i % 300)::INT, NULL, 'open', 0, "
        "TIMESTAMP '2026-01-01 08:00:00', 0, (md5_number(printf('T%08d', i)) >> 64)::UBIGINT FROM range(?) r(i)", [officials, officials * tasks_each])
    rebuild_all(conn)
    return conn


def test_compaction_keeps_every_row_and_makes_lookups_read_one_row_group(tmp_path):
    conn = _scattered(tmp_path / "c.duckdb")
    before = {t: _contents(conn, t) for t in (*CLUSTERED, *ROLLUP_TABLES)}
    cost_before = lookup_cost(conn, "tasks")
    assert cost_before > 1.5, "the fixture should spread each official over row groups"

    done = compact(conn, max_spread=0.2)

    assert "tasks" in {d["table"] for d in done}
    tasks = next(d for d in done if d["table"] == "tasks")
    assert tasks["lookup_cost_before"] == round(cost_before, 2) and tasks["lookup_cost_after"] <= 1.5
    for table, rows in before.items():
        assert _contents(conn, table) == rows, f"{table} changed"
    # The physical order is official_id order now.
    ids = [r[0] for r in conn.execute("SELECT official_id FROM tasks").fetchall()]
    assert ids == sorted(ids)
    # Nothing left to do; the table's definition (NOT NULL) and indexes are the same.
    assert conn.execute("SELECT index_name FROM duckdb_indexes() WHERE table_name = 'tasks' ORDER BY 1"
                        ).fetchall() == [("tasks_key",), ("tasks_official",)]
    assert compact(conn, max_spread=0.2) == []
    try:
        conn.execute("INSERT INTO tasks (task_id) VALUES ('x')")
        raise AssertionError("NOT NULL constraints were lost")
    except duckdb.ConstraintException:
        pass
