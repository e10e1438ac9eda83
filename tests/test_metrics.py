"""Hand-computed KPIs and rules on small fixtures, loaded through the real loader.

Tree: C (city) > D (department) > P (office) > T (team, deep) ; C > E (no officials).
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from dashboard.metrics import lookups
from dashboard.metrics.compare import children, officials_ranking, ranking_size
from dashboard.metrics.kpis import (NotFound, official_kpis, official_kpis_with_previous, unit_kpis,
                                    unit_kpis_with_previous)
from dashboard.metrics.rules import rule_items
from dashboard.metrics.trends import unit_trend
from etl.db import connect
from etl.loader import load_file

AS_OF = "2026-10-20"


def _jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def _task(tid, official, due, status="done", completed=None, qf=0, assigned="2026-09-01"):
    return {"task_id": tid, "official_id": official, "title": tid, "assigned_at": assigned, "due_at": due,
            "status": status, "completed_at": completed, "quality_failures": qf,
            "updated_at": "2026-10-01T08:00:00"}


def _event(eid, official, stage, score=None, rating=None, at="2026-10-02T08:00:00", period="2026-09"):
    return {"event_id": eid, "official_id": official, "period": period, "stage": stage, "score": score,
            "rating": rating, "acted_at": at}


@pytest.fixture(scope="module")
def cur(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metrics")
    conn = connect(tmp / "m.duckdb")
    files = [
        _jsonl(tmp / "units.jsonl", [
            {"unit_id": "C", "parent_id": None, "name": "Thành phố"},
            {"unit_id": "D", "parent_id": "C", "name": "Sở"},
            {"unit_id": "P", "parent_id": "D", "name": "Phòng"},
            {"unit_id": "T", "parent_id": "P", "name": "Tổ"},
            {"unit_id": "E", "parent_id": "C", "name": "Sở trống"},
        ]),
        _jsonl(tmp / "officials.jsonl", [
            {"official_id": "H1", "unit_id": "P", "full_name": "Trưởng 1", "is_head": True},
            {"official_id": "H2", "unit_id": "P", "full_name": "Trưởng 2", "is_head": True},
            {"official_id": "A", "unit_id": "P", "full_name": "Cán bộ A"},
            {"official_id": "B", "unit_id": "T", "full_name": "Cán bộ B"},
            {"official_id": "X", "unit_id": "T", "full_name": "Đã nghỉ", "active": False},
            {"official_id": "Z", "unit_id": "D", "full_name": "Cán bộ Z"},
        ]),
        _jsonl(tmp / "tasks.jsonl", [
            _task("a1", "A", "2026-09-10", completed="2026-09-10"),             # on time: 1 point
            _task("a2", "A", "2026-09-20", completed="2026-09-25"),             # late: 0.75
            _task("a3", "A", "2026-09-30", completed="2026-10-02", qf=5),       # late, 5 failures: max(0, …) = 0
            _task("a4", "A", "2026-09-15", status="open"),                      # open, overdue: 0
            _task("a5", "A", "2026-09-12", status="cancelled"),                 # not counted anywhere
            _task("a6", "A", "2026-10-05", completed="2026-10-01"),             # due in another month
            _task("a7", "A", "2026-11-05", status="open", assigned="2026-10-01"),  # open, not yet due
            _task("b1", "B", "2026-09-05", completed="2026-09-04", qf=1),       # on time, 1 failure: 0.75
            _task("x1", "X", "2026-09-05", status="open"),                      # inactive official still counts
        ]),
        _jsonl(tmp / "ratings.jsonl", [
            {"rating_id": "r1", "official_id": "A", "rated_at": "2026-09-30T23:30:00Z", "level": 1},  # = 1 Oct local
            {"rating_id": "r2", "official_id": "A", "rated_at": "2026-09-30T16:30:00Z", "level": 4},  # 23:30 local, Sep
            {"rating_id": "r3", "official_id": "B", "rated_at": "2026-09-10 09:00:00", "level": 3},
            {"rating_id": "r4", "official_id": "B", "rated_at": "2026-09-11T09:00:00+07:00", "level": 2},
        ]),
        _jsonl(tmp / "evaluations.jsonl", [
            # A: self HT, then final HTXS at 95, cancelled, re-evaluated HT (55): current HT, self HT
            _event("e1", "A", "self", 60, at="2026-10-01T08:00:00"),
            _event("e2", "A", "final", 95, at="2026-10-02T08:00:00"),
            _event("e3", "A", "cancel", at="2026-10-03T08:00:00"),
            _event("e4", "A", "final", 55, at="2026-10-04T08:00:00"),
            # B: final without self, rating outside its band (score 80 = HTT, rated HTXS)
            _event("e5", "B", "final", 80, "HTXS"),
            # X: final then cancel with nothing after: no current result
            _event("e6", "X", "final", 70, at="2026-10-02T08:00:00"),
            _event("e7", "X", "cancel", at="2026-10-05T08:00:00"),
            # H1: self HTXS, final KHT -> self_inflation; head better than collective? KHT no
            _event("e8", "H1", "self", 95, at="2026-10-01T08:00:00"),
            _event("e9", "H1", "final", 40, at="2026-10-02T08:00:00"),
            # H2: self then final HTXS 92: head above the collective (HT)
            _event("e10", "H2", "self", 92, at="2026-10-01T08:00:00"),
            _event("e11", "H2", "final", 92, at="2026-10-02T08:00:00"),
            # Z (in D, no collective result for D): self and final HTXS, on_time_rate null (no tasks)
            _event("e12", "Z", "self", 91, at="2026-10-01T08:00:00"),
            _event("e13", "Z", "final", 91, at="2026-10-02T08:00:00"),
        ]),
        _jsonl(tmp / "unit_evaluations.jsonl", [
            {"event_id": "u1", "unit_id": "P", "period": "2026-09", "stage": "final", "score": 60,
             "acted_at": "2026-10-03T08:00:00"},
        ]),
    ]
    for f in files:
        entry = load_file(conn, f)
        assert entry["quarantined"] == 0, entry
    return conn.cursor()


def test_official_tasks_and_points(cur):
    k = official_kpis(cur, "A", "2026-09", AS_OF)
    assert (k["tasks_due"], k["tasks_done"], k["tasks_on_time"]) == (4, 3, 1)
    assert k["on_time_rate"] == pytest.approx(1 / 4)
    assert k["completion_rate"] == pytest.approx(3 / 4)
    assert k["task_score"] == pytest.approx(70 * (1 + 0.75 + 0 + 0) / 4)
    assert k["overdue_open"] == 1          # a4 only; a7 is not due before as_of
    assert k["officials_total"] == 1


def test_rating_at_2330_utc_belongs_to_the_next_local_month(cur):
    sep, oct_ = official_kpis(cur, "A", "2026-09", AS_OF), official_kpis(cur, "A", "2026-10", AS_OF)
    assert (sep["ratings_count"], sep["satisfaction_mean"], sep["dissatisfied_count"]) == (1, 4.0, 0)
    assert (oct_["ratings_count"], oct_["dissatisfied_count"], oct_["satisfaction_rate"]) == (1, 1, 0.0)


def test_unit_scope_sums_descendants_and_counts_inactive_facts(cur):
    k = unit_kpis(cur, "P", "2026-09", AS_OF)
    assert k["officials_total"] == 4       # H1, H2, A, B (X is inactive)
    assert k["tasks_due"] == 4 + 1 + 1      # A's four, B's one, X's one (inactive still counts)
    assert k["tasks_on_time"] == 2
    assert k["task_score"] == pytest.approx(70 * (1.75 + 0.75) / 6)
    assert k["overdue_open"] == 2          # a4 and x1
    assert k["ratings_count"] == 3 and k["satisfaction_rate"] == pytest.approx(2 / 3)
    assert k["rating_counts"] == {"HTXS": 2, "HTT": 0, "HT": 1, "KHT": 1}   # H2, B | A | H1
    assert k["rated_officials"] == 4
    assert k["pending_evaluations"] == 0   # X has no result but is inactive


def test_empty_scope_and_period_give_null_rates(cur):
    for k in (unit_kpis(cur, "E", "2026-09", AS_OF), unit_kpis(cur, "C", "2025-01", AS_OF)):
        assert k["tasks_due"] == 0 and k["ratings_count"] == 0
        for rate in ("on_time_rate", "completion_rate", "task_score", "satisfaction_rate", "satisfaction_mean"):
            assert k[rate] is None, rate
        assert k["rating_counts"] == {"HTXS": 0, "HTT": 0, "HT": 0, "KHT": 0}
    assert unit_kpis(cur, "E", "2026-09", AS_OF)["officials_total"] == 0


def test_cancel_then_reevaluation_and_cancel_alone(cur):
    a = official_kpis(cur, "A", "2026-09", AS_OF)
    assert a["rating_counts"]["HT"] == 1 and a["rated_officials"] == 1
    x = official_kpis(cur, "X", "2026-09", AS_OF)
    assert x["rated_officials"] == 0 and x["pending_evaluations"] == 0  # inactive: not pending


def _rules(cur, **kw):
    return {(i["rule"], i["unit_id"], i["official_id"]) for i in rule_items(cur, "2026-09", **kw)}


def test_rules_hand_computed(cur):
    assert _rules(cur, unit_id="C") == {
        ("head_above_collective", "P", "H2"),          # HTXS > collective HT; H1 (KHT) is not
        ("excellent_quota", "P", None),                # P's own: H1 KHT, H2 HTXS, A HT -> 1/3 > 30 %
        ("excellent_quota", "T", None),                # T's own rated: B HTXS -> 1/1
        ("excellent_quota", "D", None),                # D's own rated: Z HTXS -> 1/1 (D has no collective)
        ("rating_outside_band", "T", "B"),
        ("final_without_self", "T", "B"),
        ("self_inflation", "P", "H1"),                 # self HTXS vs KHT: 3 levels
    }


def test_rating_not_supported_needs_tasks(cur):
    # B: HTXS, 1 task on time -> rate 1.0, not fired. Z: HTXS with no tasks -> null rate, not fired.
    assert not any(r == "rating_not_supported" for r, _, _ in _rules(cur, unit_id="C"))


def test_rules_for_one_official_name_only_them(cur):
    assert _rules(cur, official_id="H2") == {("head_above_collective", "P", "H2")}
    k = official_kpis(cur, "B", "2026-09", AS_OF)
    assert {i["rule"] for i in k["violations"]} == {"rating_outside_band", "final_without_self"}
    assert k["warnings"] == []


def test_children_and_ranking_agree_with_unit_kpis(cur):
    kids = children(cur, "C", "2026-09", AS_OF).set_index("unit_id")
    assert list(kids.index) == ["D", "E"]
    d = unit_kpis(cur, "D", "2026-09", AS_OF)
    assert kids.loc["D", "tasks_due"] == d["tasks_due"]
    assert kids.loc["D", "on_time_rate"] == pytest.approx(d["on_time_rate"])
    assert kids.loc["D", "violations"] == len(d["violations"])
    assert kids.loc["E", "tasks_due"] == 0
    ranked = officials_ranking(cur, "P", "2026-09", sort_by="on_time_rate")
    assert ranked["official_id"].iloc[0] == "B"       # 1.0 beats A's 0.25; no-task officials last
    with pytest.raises(ValueError):
        officials_ranking(cur, "P", "2026-09", sort_by="1; DROP TABLE tasks")


@pytest.mark.parametrize("sort_by, descending", [("task_score", True), ("full_name", False), ("unit_name", True)])
def test_ranking_pages_put_together_are_the_whole_ranking(cur, sort_by, descending):
    whole = officials_ranking(cur, "C", "2026-09", sort_by, descending)
    assert len(whole) == ranking_size(cur, "C", "2026-09") >= 5
    pages = [officials_ranking(cur, "C", "2026-09", sort_by, descending, limit=2, offset=k) for k in range(0, 8, 2)]
    assert pd.concat(pages)["official_id"].tolist() == whole["official_id"].tolist()
    assert whole["unit_name"].notna().all()


def test_trend_has_every_month_and_matches_kpis(cur):
    trend = unit_trend(cur, "C", "2026-10", months=13).set_index("period")
    assert len(trend) == 13 and trend.index[0] == "2025-10"
    sep = unit_kpis(cur, "C", "2026-09", AS_OF)
    assert trend.loc["2026-09", "tasks_due"] == sep["tasks_due"]
    assert trend.loc["2026-09", "task_score"] == pytest.approx(sep["task_score"])
    assert trend.loc["2026-09", "HTXS"] == sep["rating_counts"]["HTXS"]


def test_unknown_ids_raise_not_found(cur):
    with pytest.raises(NotFound):
        unit_kpis(cur, "NOPE", "2026-09", AS_OF)
    with pytest.raises(NotFound):
        official_kpis(cur, "NOPE", "2026-09", AS_OF)


def test_a_page_read_of_two_months_gives_the_same_objects(cur):
    for unit in ("C", "D", "P", "T", "E"):
        assert unit_kpis_with_previous(cur, unit, "2026-10", AS_OF) == (
            unit_kpis(cur, unit, "2026-10", AS_OF), unit_kpis(cur, unit, "2026-09", AS_OF))
    for official in ("A", "B", "H1", "X"):
        assert official_kpis_with_previous(cur, official, "2026-10", AS_OF) == (
            official_kpis(cur, official, "2026-10", AS_OF), official_kpis(cur, official, "2026-09", AS_OF))


def test_latest_ratings_newest_first_with_ties_at_the_cut(tmp_path):
    conn = connect(tmp_path / "r.duckdb")
    ratings = [{"rating_id": f"R{i:02d}", "official_id": "Q", "rated_at": f"2026-10-{i + 1:02d}T09:00:00",
                "level": 4} for i in range(12)]
    # Three ratings in the same second as the 10th newest: the rating_id decides among them.
    ratings += [{"rating_id": f"S{i}", "official_id": "Q", "rated_at": "2026-10-03T09:00:00", "level": 1,
                 "comment": "chờ lâu"} for i in range(3)]
    for path in (_jsonl(tmp_path / "units.jsonl", [{"unit_id": "C", "parent_id": None, "name": "Thành phố"}]),
                 _jsonl(tmp_path / "officials.jsonl", [
                     {"official_id": "Q", "unit_id": "C", "full_name": "Quầy một cửa"},
                     {"official_id": "N", "unit_id": "C", "full_name": "Chưa được đánh giá"}]),
                 _jsonl(tmp_path / "ratings.jsonl", ratings)):
        assert load_file(conn, path)["status"] == "loaded"
    cur = conn.cursor()
    newest = lookups.latest_ratings(cur, "Q")
    assert [r["rating_id"] for r in newest] == [f"R{i:02d}" for i in range(11, 2, -1)] + ["S2"]
    assert newest[-1]["comment"] == "chờ lâu" and newest[0]["level"] == 4
    assert [r["rating_id"] for r in lookups.latest_ratings(cur, "Q", limit=2)] == ["R11", "R10"]
    assert lookups.latest_ratings(cur, "N") == []
    conn.close()
