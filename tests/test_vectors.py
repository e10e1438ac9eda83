"""The shared contract vectors: load them with `python -m etl load` one file at a time, then
check `etl status --json` accounting and every `dashboard kpis` object (metrics.md)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl_helpers import json_lines, run_cli

VECTORS = Path(__file__).parent / "vectors"
EXPECTED = json.loads((VECTORS / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def vector_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("vectors") / "v.duckdb"
    for name in EXPECTED["load_order"]:
        run_cli("etl", "load", VECTORS / name, "--db", db)
    return db


@pytest.fixture(scope="module")
def status(vector_db):
    return json_lines(run_cli("etl", "status", "--db", vector_db, "--json").stdout)


@pytest.mark.parametrize("expect", EXPECTED["accounting"], ids=lambda a: a["file"])
def test_accounting(status, expect):
    entries = [e for e in status if e["file"] == expect["file"]]
    assert len(entries) == 1
    entry = entries[0]
    for key in ("rows_read", "quarantined", "duplicates"):
        if key in expect:
            assert entry[key] == expect[key], key
    assert entry["rows_read"] == entry["loaded"] + entry["duplicates"] + entry["quarantined"]
    assert sum(entry["reasons"].values()) == entry["quarantined"]


def test_repeated_file_changes_nothing(status):
    again = next(e for e in status if e["file"] == "tasks_again.csv")
    assert again["status"] == "already_loaded"
    assert again["loaded"] == 0 and "tasks_main.csv" in again["message"]


def _sorted_items(items):
    return sorted(items, key=lambda i: (i["rule"], i["unit_id"] or "", i["official_id"] or ""))


@pytest.mark.parametrize("case", EXPECTED["kpis"], ids=lambda c: " ".join(c["args"][:4]))
def test_kpis(vector_db, case):
    got = json.loads(run_cli("dashboard", "kpis", "--db", vector_db, *case["args"]).stdout)
    expect = case["expect"]
    who = "unit_id" if "--unit" in case["args"] else "official_id"
    assert set(got) == set(expect) | {who}
    for key, value in expect.items():
        if key in ("violations", "warnings"):
            assert _sorted_items(got[key]) == _sorted_items(value), key
        elif isinstance(value, float):
            assert got[key] == pytest.approx(value, abs=1e-9, rel=0), key
        else:
            assert got[key] == value, key
