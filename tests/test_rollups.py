"""Incremental rollups equal a full rebuild after a random sequence of loads.

The sequence mixes new tasks, corrections (newer and stale updates, reassignments,
cancellations), ratings, evaluation events with cancels and re-evaluations, officials
moving between units and units moving in the tree.
"""
from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from etl.db import connect
from etl.loader import load_file
from etl.rollups import ROLLUP_TABLES, rebuild_all

UNITS = ["R", "A", "B", "A1", "A2", "B1", "A1x"]
PARENTS = {"R": None, "A": "R", "B": "R", "A1": "A", "A2": "A", "B1": "B", "A1x": "A1"}


def _write(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def _snapshot(conn):
    return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in ROLLUP_TABLES}


def _random_batches(rng: random.Random, tmp_path):
    officials = {f"O{i:02d}": rng.choice(UNITS) for i in range(24)}
    yield _write(tmp_path / "units_0.jsonl",
                 [{"unit_id": u, "parent_id": PARENTS[u], "name": f"Đơn vị {u}"} for u in UNITS])
    yield _write(tmp_path / "officials_0.jsonl",
                 [{"official_id": o, "unit_id": u, "full_name": f"Cán bộ {o}", "is_head": False, "active": True}
                  for o, u in officials.items()])
    tasks: dict[str, dict] = {}
    clock = dt.datetime(2026, 9, 1, 8, 0)
    event_no = rating_no = 0
    for step in range(14):
        clock += dt.timedelta(hours=7)
        kind = rng.choice(["tasks", "tasks", "ratings", "evaluations", "officials", "units"])
        if kind == "tasks":
            rows = []
            for _ in range(rng.randint(5, 40)):
                if tasks and rng.random() < 0.5:
                    row = dict(rng.choice(list(tasks.values())))  # a correction of a known task
                    offset = rng.choice([-30, 30, 60])             # stale (older) or newer
                else:
                    tid = f"T{len(tasks):04d}"
                    assigned = dt.date(2026, rng.randint(7, 11), rng.randint(1, 28))
                    row = {"task_id": tid, "title": f"Nhiệm vụ {tid}", "assigned_at": assigned.isoformat(),
                           "due_at": (assigned + dt.timedelta(days=rng.randint(0, 40))).isoformat()}
                    offset = 0
                row["official_id"] = rng.choice(list(officials))
                row["status"] = rng.choice(["open", "done", "done", "cancelled"])
                due = dt.date.fromisoformat(row["due_at"])
                row["completed_at"] = ((due + dt.timedelta(days=rng.randint(-5, 5))).isoformat()
                                       if row["status"] == "done" else None)
                row["quality_failures"] = rng.choice([0, 0, 1, 2, 5])
                row["updated_at"] = (clock + dt.timedelta(minutes=offset)).isoformat()
                rows.append(row)
                current = tasks.get(row["task_id"])
                if current is None or current["updated_at"] <= row["updated_at"]:
                    tasks[row["task_id"]] = row
            yield _write(tmp_path / f"tasks_{step}.jsonl", rows)
        elif kind == "ratings":
            rows = []
            for _ in range(rng.randint(3, 20)):
                rating_no += 1
                # some at 23:30 UTC: the next local day, and at a month's end the next month
                stamp = dt.datetime(2026, rng.randint(8, 11), rng.choice([1, 15, 30]), rng.choice([2, 23]), 30)
                rows.append({"rating_id": f"R{rating_no:05d}", "official_id": rng.choice(list(officials)),
                             "rated_at": stamp.isoformat() + "Z", "level": rng.randint(1, 4)})
            yield _write(tmp_path / f"ratings_{step}.jsonl", rows)
        elif kind == "evaluations":
            rows = []
            for o in rng.sample(list(officials), 8):
                for stage in rng.choice([["self", "final"], ["final", "cancel"], ["cancel", "final"],
                                         ["review"], ["final"], ["self", "final", "cancel", "final"]]):
                    event_no += 1
                    clock += dt.timedelta(minutes=1)
                    rows.append({"event_id": f"E{event_no:05d}", "official_id": o,
                                 "period": rng.choice(["2026-09", "2026-10"]), "stage": stage,
                                 "score": None if stage == "cancel" else rng.randint(30, 100),
                                 "acted_at": clock.isoformat()})
            yield _write(tmp_path / f"evaluations_{step}.jsonl", rows)
        elif kind == "officials":
            moved = rng.sample(list(officials), 5)
            for o in moved:
                officials[o] = rng.choice(UNITS)
            yield _write(tmp_path / f"officials_{step}.jsonl",
                         [{"official_id": o, "unit_id": officials[o], "full_name": f"Cán bộ {o}",
                           "active": rng.random() < 0.8} for o in moved])
        else:
            # move a leaf office under another parent (no cycle)
            PARENTS["A1x"] = rng.choice(["A1", "B", "B1", "R"])
            yield _write(tmp_path / f"units_{step}.jsonl",
                         [{"unit_id": "A1x", "parent_id": PARENTS["A1x"], "name": "Tổ A1x"}])


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_incremental_rollups_equal_full_rebuild(tmp_path, seed):
    conn = connect(tmp_path / "r.duckdb")
    for path in _random_batches(random.Random(seed), tmp_path):
        entry = load_file(conn, path)
        assert entry["rows_read"] == entry["loaded"] + entry["duplicates"] + entry["quarantined"]
        assert entry["quarantined"] == 0, entry
    incremental = _snapshot(conn)
    assert incremental["official_month"], "the sequence produced no task or rating sums"
    rebuild_all(conn)
    rebuilt = _snapshot(conn)
    for table in ROLLUP_TABLES:
        assert incremental[table] == rebuilt[table], table


def test_a_key_hash_shared_by_two_tasks_does_not_join_them(tmp_path):
    """Stored rows are found by key_hash; a different task with the same hash must stay a
    different task (forced here: a 64-bit collision is too rare to wait for)."""
    conn = connect(tmp_path / "collide.duckdb")
    load_file(conn, _write(tmp_path / "units_0.jsonl", [{"unit_id": "R", "parent_id": None, "name": "Gốc"}]))
    load_file(conn, _write(tmp_path / "officials_0.jsonl", [
        {"official_id": "O1", "unit_id": "R", "full_name": "Cán bộ 1", "is_head": False, "active": True}]))
    task = {"official_id": "O1", "title": "Việc", "assigned_at": "2026-10-01", "due_at": "2026-10-20",
            "status": "open", "updated_at": "2026-10-01T08:00:00"}
    load_file(conn, _write(tmp_path / "tasks_1.jsonl", [{**task, "task_id": "OLD-1"}]))
    conn.execute("UPDATE tasks SET key_hash = (md5_number('NEW-1') >> 64)::UBIGINT WHERE task_id = 'OLD-1'")
    entry = load_file(conn, _write(tmp_path / "tasks_2.jsonl", [{**task, "task_id": "NEW-1", "status": "done",
                                                                 "completed_at": "2026-10-05"}]))
    assert (entry["loaded"], entry["duplicates"]) == (1, 0), entry
    assert conn.execute("SELECT task_id, status FROM tasks ORDER BY 1").fetchall() == [
        ("NEW-1", "done"), ("OLD-1", "open")]
    assert conn.execute("SELECT tasks_due, tasks_done FROM official_month").fetchall() == [(2, 1)]
