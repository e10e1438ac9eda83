"""The demo data generator (etl/demo): deterministic, contract-shaped, and loadable clean."""
from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import duckdb
import pytest

from etl.demo import build_demo, write_demo_files

UNTIL = "2026-11"
ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
LOAD_ORDER = ("units", "officials", "objectives", "key_results", "tasks", "ratings",
              "evaluations", "unit_evaluations", "checkins")


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory) -> list[Path]:
    return write_demo_files(tmp_path_factory.mktemp("tiny"), scale="tiny", seed=7, until=UNTIL)


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("tiny_db")
    db = base / "tiny.duckdb"
    summary = build_demo(db, scale="tiny", out_dir=base / "files", seed=7, until=UNTIL, progress=None)
    return db, summary


def _rows(path: Path, delimiter: str = ",") -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def _by_name(files: list[Path], name: str) -> Path:
    return next(p for p in files if p.name == name)


def test_same_seed_and_until_give_identical_bytes(tmp_path, tiny_files):
    again = write_demo_files(tmp_path / "again", scale="tiny", seed=7, until=UNTIL)
    assert [p.name for p in again] == [p.name for p in tiny_files]
    for a, b in zip(tiny_files, again):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_another_seed_gives_other_data(tmp_path, tiny_files):
    other = write_demo_files(tmp_path / "other", scale="tiny", seed=8, until=UNTIL)
    first = _by_name(tiny_files, "tasks_2026-01.parquet").read_bytes()
    assert _by_name(other, "tasks_2026-01.parquet").read_bytes() != first


def test_every_file_maps_to_a_contract_kind_in_load_order(tiny_files):
    from etl.kinds import kind_of_file

    kinds = []
    for path in tiny_files:
        kind = kind_of_file(path.name)
        assert kind is not None, path.name
        assert path.suffix in (".csv", ".xlsx", ".jsonl", ".parquet")
        kinds.append(kind.name)
    assert sorted(set(kinds), key=LOAD_ORDER.index) == list(LOAD_ORDER)
    order = [LOAD_ORDER.index(k) for k in kinds]
    assert order == sorted(order), "files must come in load order"
    # The demo scales exercise every format of the contract.
    assert {p.suffix for p in tiny_files} == {".csv", ".xlsx", ".jsonl", ".parquet"}


def test_unit_tree_has_one_root_and_one_head_per_unit(tiny_files):
    units = _rows(_by_name(tiny_files, "units.csv"))
    officials = _rows(_by_name(tiny_files, "officials.csv"), delimiter=";")
    ids = {u["unit_id"] for u in units}
    assert len(ids) == len(units)
    assert [u["unit_id"] for u in units if not u["parent_id"]] == ["HN"]
    parent = {u["unit_id"]: u["parent_id"] for u in units}
    for unit in ids:                                 # every unit reaches the root without a cycle
        seen, at = set(), unit
        while parent[at]:
            assert at not in seen and parent[at] in ids
            seen.add(at)
            at = parent[at]
    heads = {}
    for o in officials:
        assert o["unit_id"] in ids
        assert o["is_head"] in ("có", "không") and o["active"] in ("true", "false")
        if o["is_head"] == "có":
            heads[o["unit_id"]] = heads.get(o["unit_id"], 0) + 1
    assert heads == {u: 1 for u in ids}
    assert any(o["active"] == "false" for o in officials)


def test_ids_are_valid_and_text_is_nfc(tiny_files):
    units = _rows(_by_name(tiny_files, "units.csv"))
    officials = _rows(_by_name(tiny_files, "officials.csv"), delimiter=";")
    for row in units + officials:
        for key, value in row.items():
            if key.endswith("_id") and value:
                assert ID.fullmatch(value), value
            assert unicodedata.normalize("NFC", value) == value
    assert any("Đ" in o["full_name"] or "ễ" in o["full_name"] for o in officials)


def test_task_and_rating_files_keep_the_contract_rules(tiny_files):
    con = duckdb.connect()
    tasks = [str(p) for p in tiny_files if p.name.startswith("tasks_2") and p.suffix == ".parquet"]
    bad = con.execute(
        "SELECT count(*) FILTER (WHERE (status = 'done') <> (completed_at IS NOT NULL)), "
        "count(*) FILTER (WHERE due_at::DATE < assigned_at::DATE), count(*), "
        "count(*) FILTER (WHERE status = 'open'), count(DISTINCT task_id) "
        "FROM read_parquet(?, union_by_name = true)", [tasks]).fetchone()
    assert bad[0] == 0 and bad[1] == 0
    assert bad[2] == bad[4], "task ids are unique across the monthly files"
    assert bad[3] > 0
    ratings = [str(p) for p in tiny_files if p.name.startswith("ratings_") and p.suffix == ".parquet"]
    levels = con.execute("SELECT level, count(*) FILTER (WHERE reason IS NOT NULL) FROM "
                         "read_parquet(?) GROUP BY level ORDER BY level", [ratings]).fetchall()
    assert [lv for lv, _ in levels] == [1, 2, 3, 4]
    assert all(n == 0 for lv, n in levels if lv >= 3), "a reason only for levels 1-2"


def test_tiny_demo_loads_without_quarantine(tiny_db):
    _, summary = tiny_db
    assert summary["quarantined"] == 0, summary["problems"]
    assert summary["problems"] == []
    assert len(summary["ledger"]) == len(summary["files"])
    for entry in summary["ledger"]:
        assert entry["rows_read"] == entry["loaded"] + entry["duplicates"] + entry["quarantined"], entry
        assert entry["rows_read"] > 0, entry
    assert summary["rows_read"] == sum(summary["rows"].values())


def test_loaded_demo_has_updates_and_each_kind_of_rule_breach(tiny_db):
    db, _ = tiny_db
    con = duckdb.connect(str(db), read_only=True)
    try:
        # The update file's rows replaced open tasks: they are done, finished after the snapshot.
        assert con.execute("SELECT count(*) FROM tasks WHERE status = 'done' "
                           "AND completed_at > DATE '2026-11-15'").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM tasks WHERE status = 'open' "
                           "AND due_at < DATE '2026-11-15'").fetchone()[0] > 0
        period = "2026-09"
        checks = {
            "rating_outside_band": "SELECT count(*) FROM eval_current WHERE period = ? AND rating <> band",
            "final_without_self": "SELECT count(*) FROM eval_current WHERE period = ? AND NOT has_self_before",
            "self_inflation": "SELECT count(*) FROM eval_current WHERE period = ? AND "
                              "latest_self_rating = 'HTXS' AND rating IN ('HT', 'KHT') OR "
                              "period = ? AND latest_self_rating = 'HTT' AND rating = 'KHT'",
            "head_above_collective": "SELECT count(*) FROM eval_current e JOIN officials o USING (official_id) "
                                     "JOIN unit_eval_current u ON u.unit_id = o.unit_id AND u.period = e.period "
                                     "WHERE e.period = ? AND o.is_head AND e.rating = 'HTXS' AND u.rating <> 'HTXS'",
            "excellent_quota": "SELECT count(*) FROM (SELECT o.unit_id FROM eval_current e JOIN officials o "
                               "USING (official_id) WHERE e.period = ? GROUP BY o.unit_id "
                               "HAVING count(*) FILTER (WHERE e.rating = 'HTXS') > 0.3 * count(*))",
        }
        for rule, sql in checks.items():
            params = [period] * sql.count("?")
            assert con.execute(sql, params).fetchone()[0] > 0, rule
        # Cancelled without re-evaluation: a final exists but there is no current result.
        annulled = con.execute(
            "SELECT count(*) FROM (SELECT official_id, period FROM evaluations WHERE stage = 'cancel') c "
            "ANTI JOIN eval_current USING (official_id, period)").fetchone()[0]
        assert annulled > 0
        # The latest month has no evaluations yet; the month before has pending ones.
        assert con.execute("SELECT count(*) FROM evaluations WHERE period = ?", [UNTIL]).fetchone()[0] == 0
    finally:
        con.close()


def test_unknown_scale_and_bad_until_are_refused(tmp_path):
    with pytest.raises(ValueError):
        write_demo_files(tmp_path, scale="huge", until=UNTIL)
    with pytest.raises(ValueError):
        write_demo_files(tmp_path, scale="tiny", until="2026-13")
