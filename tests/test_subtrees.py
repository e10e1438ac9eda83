"""The in-memory subtree rollups: read once per data version, never stale after a load, and
never mixed up between two databases."""
from __future__ import annotations

import json

from dashboard.metrics.kpis import unit_kpis
from dashboard.metrics.subtrees import subtree_rollups
from etl.db import connect
from etl.loader import load_file


def _jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def _database(folder, tasks: int):
    folder.mkdir()
    conn = connect(folder / "same_name.duckdb")
    load_file(conn, _jsonl(folder / "units.jsonl", [{"unit_id": "C", "parent_id": None, "name": "Thành phố"},
                                                    {"unit_id": "P", "parent_id": "C", "name": "Phường"}]))
    load_file(conn, _jsonl(folder / "officials.jsonl", [{"official_id": "A", "unit_id": "P", "full_name": "Cán bộ A"}]))
    _load_tasks(conn, folder, range(tasks))
    return conn


def _load_tasks(conn, folder, numbers):
    rows = [{"task_id": f"t{i}", "official_id": "A", "title": f"Việc {i}", "assigned_at": "2026-09-01",
             "due_at": "2026-09-15", "status": "open", "updated_at": "2026-09-01T08:00:00"} for i in numbers]
    return load_file(conn, _jsonl(folder / f"tasks_{numbers[0]}.jsonl", rows))


def test_a_load_is_seen_at_once_and_the_version_is_read_once(tmp_path):
    conn = _database(tmp_path / "one", tasks=2)
    cur = conn.cursor()
    assert unit_kpis(cur, "C", "2026-09", "2026-10-01")["overdue_open"] == 2
    first = subtree_rollups(cur)
    assert subtree_rollups(conn.cursor()) is first, "the same version is read once for every cursor"

    _load_tasks(conn, tmp_path / "one", range(2, 5))

    assert subtree_rollups(cur) is not first
    kpis = unit_kpis(cur, "C", "2026-09", "2026-10-01")
    assert kpis["tasks_due"] == 5 and kpis["overdue_open"] == 5


def test_two_databases_of_the_same_name_do_not_share_rollups(tmp_path):
    one = _database(tmp_path / "one", tasks=1).cursor()
    two = _database(tmp_path / "two", tasks=3).cursor()
    assert unit_kpis(one, "C", "2026-09", "2026-10-01")["tasks_due"] == 1
    assert unit_kpis(two, "C", "2026-09", "2026-10-01")["tasks_due"] == 3
    assert unit_kpis(one, "C", "2026-09", "2026-10-01")["tasks_due"] == 1


def test_subtree_rule_hits_are_the_same_gathered_or_filtered():
    """A small subtree gathers its units' hits, a large one filters the period's: both give
    the hits inside, in rule, unit_id, official_id (NULLS FIRST) order."""
    from dashboard.metrics.subtrees import SubtreeRollups

    hits = [("excellent_quota", "P", None), ("rating_outside_band", "P", "A"), ("rating_outside_band", "T", "B"),
            ("self_inflation", "P", "A"), ("self_inflation", "Q", "C")]
    tree = SubtreeRollups(hits={"2026-09": hits},
                          descendants={"D": frozenset({"D", "P", "T"}), "T": frozenset({"T"})})
    for rule, unit, official in hits:
        tree.unit_hits.setdefault((unit, "2026-09"), []).append((rule, unit, official))
    inside_d = [h for h in hits if h[1] in {"D", "P", "T"}]
    assert len(tree.descendants["D"]) < len(hits)          # gathered and sorted
    assert tree.rule_hits("D", "2026-09") == inside_d
    tree.hits["2026-09"] = hits[:3]                          # now the subtree is not smaller: filtered
    assert tree.rule_hits("D", "2026-09") == inside_d[:3]
    assert tree.rule_hits("T", "2026-09") == [("rating_outside_band", "T", "B")]
    assert tree.rule_hits("X", "2026-09") == []


def test_history_names_its_actors_and_a_renamed_actor_after_the_load(tmp_path):
    """Actor names are kept with the data version: a load that renames someone is seen."""
    from dashboard.metrics.lookups import evaluation_history

    folder = tmp_path / "names"
    conn = _database(folder, tasks=1)
    load_file(conn, _jsonl(folder / "officials_boss.jsonl",
                           [{"official_id": "B", "unit_id": "P", "full_name": "Trưởng phòng B"}]))
    load_file(conn, _jsonl(folder / "evaluations.jsonl", [
        {"event_id": "e1", "official_id": "A", "period": "2026-09", "stage": "self", "score": 80,
         "actor_id": "A", "acted_at": "2026-10-01T08:00:00"},
        {"event_id": "e2", "official_id": "A", "period": "2026-09", "stage": "final", "score": 85,
         "actor_id": "B", "acted_at": "2026-10-03T08:00:00"}]))
    cur = conn.cursor()
    names = {e["event_id"]: e["actor_name"] for e in evaluation_history(cur, "A")}
    assert names == {"e1": "Cán bộ A", "e2": "Trưởng phòng B"}
    load_file(conn, _jsonl(folder / "officials_renamed.jsonl",
                           [{"official_id": "B", "unit_id": "P", "full_name": "Trưởng phòng Bình"}]))
    assert {e["event_id"]: e["actor_name"] for e in evaluation_history(cur, "A")}["e2"] == "Trưởng phòng Bình"
