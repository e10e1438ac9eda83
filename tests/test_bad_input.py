"""Bad input, through the real CLI: every deviation class of data-contract.md is loaded with
`python -m etl load FILE --db …` after the valid samples of data/samples/, and must give its
reason code on the right line, keep the raw text, load the file's good rows, exit with the
documented code and keep rows_read = loaded + duplicates + quarantined.

Also: replay after a late reference, a re-sent file, NFC text, local time, a 200 MB CSV under
a memory bound, and a database held by another process. data/samples/README.md documents the
same table."""
from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from etl_helpers import REPO, json_lines, run_cli

SAMPLES = REPO / "data" / "samples"
BAD = SAMPLES / "bad"
LATER = SAMPLES / "later"
VALID = ("units.csv", "officials.csv", "tasks.csv", "ratings.jsonl", "evaluations.csv",
         "unit_evaluations.xlsx", "objectives.csv", "key_results.csv", "checkins.csv")
EXIT_OK, EXIT_QUARANTINE, EXIT_USAGE, EXIT_BUSY, EXIT_ERROR = 0, 1, 2, 3, 4  # etl/cli.py
WHOLE_FILE = None  # the "line" of a whole-file rejection


# --- helpers -----------------------------------------------------------------------------

def query(db: Path, sql: str, params=()) -> list[tuple]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return conn.execute(sql, list(params)).fetchall()
    finally:
        conn.close()


def status(db: Path) -> list[dict]:
    return json_lines(run_cli("etl", "status", "--db", db, "--json", check_codes=(0,)).stdout)


def assert_accounting(entries: list[dict]) -> None:
    for e in entries:
        assert e["rows_read"] == e["loaded"] + e["duplicates"] + e["quarantined"], e
        if e["status"] == "replay":
            continue  # rows that fail again stay under the batch that first quarantined them
        if e["quarantined"]:
            assert sum(e["reasons"].values()) == e["quarantined"], e
        elif e["status"] == "rejected":  # a whole-file rejection: one reason, no rows
            assert sum(e["reasons"].values()) == 1, e
        else:
            assert e["reasons"] == {}, e


def load(db: Path, path: Path, codes=(EXIT_OK, EXIT_QUARANTINE), check_status=False):
    """`etl load PATH --json`: the process and the file's ledger entry. With check_status, the
    entry is also read back from `status --json` and every batch's accounting checked (one
    more process: the all-files test does this for every bad file at once)."""
    proc = run_cli("etl", "load", path, "--db", db, "--json", check_codes=codes)
    printed = json_lines(proc.stdout)
    assert len(printed) == 1, proc.stdout
    assert_accounting(printed)
    if not check_status:
        return proc, printed[0]
    entries = status(db)
    assert_accounting(entries)
    entry = next(e for e in entries if e["batch_id"] == printed[0]["batch_id"])
    assert entry == printed[0]
    return proc, entry


def file_lines(path: Path) -> list[str]:
    """The file's lines as text (line 1 = header), as a person reading it sees them."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    return text.splitlines()


def snapshot(db: Path) -> dict:
    """Every table's content (hashed) and the data version: what 'nothing changed' compares."""
    tables = [r[0] for r in query(db, "SELECT table_name FROM information_schema.tables "
                                      "WHERE table_schema = 'main' AND table_name NOT IN "
                                      "('ingest_ledger', 'quarantine', 'data_version') ORDER BY 1")]
    out = {}
    for t in tables:
        rows = sorted(map(repr, query(db, f"SELECT * EXCLUDE (batch_id) FROM {t}"
                                      if "batch_id" in [c[0] for c in query(db, f"DESCRIBE {t}")]
                                      else f"SELECT * FROM {t}")))
        out[t] = hashlib.sha1("\n".join(rows).encode()).hexdigest()
    out["data_version"] = query(db, "SELECT version FROM data_version")[0][0]
    out["quarantine"] = query(db, "SELECT count(*) FROM quarantine")[0][0]
    return out


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """The nine valid samples, loaded one `etl load` each, in the contract's order."""
    db = tmp_path_factory.mktemp("samples") / "base.duckdb"
    for name in VALID:
        run_cli("etl", "load", SAMPLES / name, "--db", db, check_codes=(EXIT_OK,))
    assert not Path(f"{db}.wal").exists()
    return db


@pytest.fixture
def db(base_db, tmp_path) -> Path:
    """A private copy of the loaded samples, so each bad file meets the same database."""
    copy = tmp_path / "t.duckdb"
    shutil.copyfile(base_db, copy)
    return copy


# --- the valid samples ---------------------------------------------------------------------

def test_valid_samples_load_without_quarantine(base_db):
    entries = status(base_db)
    assert [e["file"] for e in entries] == list(VALID)
    assert_accounting(entries)
    for e in entries:
        assert e["status"] == "loaded" and e["quarantined"] == 0 and e["duplicates"] == 0, e
        assert e["loaded"] == e["rows_read"] > 0, e
    counts = dict(query(base_db, "SELECT 'units', count(*) FROM units UNION ALL SELECT 'officials', count(*) "
                                 "FROM officials UNION ALL SELECT 'unit_evaluations', count(*) FROM unit_evaluations"))
    assert counts == {"units": 6, "officials": 7, "unit_evaluations": 4}


def test_local_time_and_day_first_dates(base_db):
    # 2026-10-31T17:30:00Z is 00:30 on 1 November in Hanoi, so it counts in November.
    assert query(base_db, "SELECT rated_at FROM ratings WHERE rating_id = 'DG-0004'") == [
        (dt.datetime(2026, 11, 1, 0, 30),)]
    assert query(base_db, "SELECT r_l1 FROM official_month WHERE official_id = 'CB006' AND period = '2026-11'") == [(1,)]
    # 05/10/2026 is 5 October, not 10 May.
    assert query(base_db, "SELECT assigned_at, due_at FROM tasks WHERE task_id = 'NV-2026-0001'") == [
        (dt.date(2026, 10, 5), dt.date(2026, 10, 20))]
    # An Excel date-time cell is local time as it stands.
    assert query(base_db, "SELECT acted_at FROM unit_evaluations WHERE event_id = 'DGTT-2026-10-04'") == [
        (dt.datetime(2026, 11, 7, 10, 0),)]


# --- every bad-input class ---------------------------------------------------------------------

@dataclass(frozen=True)
class Bad:
    file: str
    status: str                    # ledger status
    exit: int                      # `etl load` exit code
    lines: dict                    # line -> reason of every quarantine entry (WHOLE_FILE for a rejection)
    rows_read: int
    loaded: int
    duplicates: int = 0
    good: tuple = ()               # (table, key column, key) of the file's good rows, now in the database
    kept: tuple = ()               # (sql, expected rows): what the bad rows must not have changed
    raw_exact: bool = True         # the quarantined raw text is the file's line, character for character

    @property
    def reasons(self) -> dict:
        out: dict = {}
        for reason in self.lines.values():
            out[reason] = out.get(reason, 0) + 1
        return out


CASES = [
    Bad("tasks_missing_column.csv", "rejected", EXIT_QUARANTINE,
        {2: "missing_column", 3: "missing_column"}, rows_read=2, loaded=0),
    Bad("budget_2026.csv", "rejected", EXIT_QUARANTINE, {WHOLE_FILE: "unknown_kind"}, rows_read=0, loaded=0),
    Bad("tasks_bad_date.csv", "partial", EXIT_QUARANTINE, {3: "bad_date", 4: "bad_date"}, rows_read=4, loaded=2,
        good=(("tasks", "task_id", "NV-B02-0001"), ("tasks", "task_id", "NV-B02-0004"))),
    Bad("ratings_bad_timestamp.jsonl", "partial", EXIT_QUARANTINE, {2: "bad_timestamp", 3: "bad_timestamp"},
        rows_read=4, loaded=2,
        good=(("ratings", "rating_id", "DG-B03-0001"), ("ratings", "rating_id", "DG-B03-0004"))),
    Bad("tasks_completed_not_done.csv", "partial", EXIT_QUARANTINE,
        {3: "completed_at_not_done", 4: "completed_at_not_done"}, rows_read=3, loaded=1,
        good=(("tasks", "task_id", "NV-B04-0001"),)),
    Bad("tasks_done_without_completed.csv", "partial", EXIT_QUARANTINE, {3: "completed_at_missing"},
        rows_read=2, loaded=1, good=(("tasks", "task_id", "NV-B05-0001"),)),
    Bad("tasks_due_before_assigned.csv", "partial", EXIT_QUARANTINE, {3: "due_before_assigned"},
        rows_read=2, loaded=1, good=(("tasks", "task_id", "NV-B06-0001"),)),
    Bad("ratings_level_out_of_range.csv", "partial", EXIT_QUARANTINE,
        {3: "level_out_of_range", 4: "level_out_of_range"}, rows_read=4, loaded=2,
        good=(("ratings", "rating_id", "DG-B07-0001"), ("ratings", "rating_id", "DG-B07-0004"))),
    Bad("evaluations_score_out_of_range.csv", "partial", EXIT_QUARANTINE,
        {3: "score_out_of_range", 4: "score_out_of_range"}, rows_read=4, loaded=2,
        good=(("evaluations", "event_id", "DGCN-B08-001"), ("evaluations", "event_id", "DGCN-B08-004"))),
    Bad("evaluations_bad_rating.csv", "partial", EXIT_QUARANTINE, {2: "bad_rating", 4: "bad_rating"},
        rows_read=3, loaded=1, good=(("evaluations", "event_id", "DGCN-B09-002"),)),
    Bad("ratings_unknown_official.csv", "partial", EXIT_QUARANTINE, {3: "unknown_official"},
        rows_read=2, loaded=1, good=(("ratings", "rating_id", "DG-B10-0001"),)),
    Bad("officials_unknown_unit.csv", "partial", EXIT_QUARANTINE, {3: "unknown_unit"},
        rows_read=2, loaded=1, good=(("officials", "official_id", "CB008"),)),
    Bad("key_results_unknown_objective.csv", "partial", EXIT_QUARANTINE, {3: "unknown_objective"},
        rows_read=2, loaded=1, good=(("key_results", "kr_id", "KR-SNV-02"),)),
    Bad("checkins_unknown_key_result.csv", "partial", EXIT_QUARANTINE, {3: "unknown_key_result"},
        rows_read=2, loaded=1, good=(("checkins", "kr_id", "KR-PBD-02"),)),
    Bad("ratings_conflict.csv", "partial", EXIT_QUARANTINE, {3: "conflict"}, rows_read=3, loaded=1,
        duplicates=1, good=(("ratings", "rating_id", "DG-B11-0001"),),
        kept=(("SELECT level FROM ratings WHERE rating_id = 'DG-0003'", [(2,)]),)),
    Bad("evaluations_conflict.csv", "partial", EXIT_QUARANTINE, {3: "conflict"}, rows_read=3, loaded=1,
        duplicates=1, good=(("evaluations", "event_id", "DGCN-B12-001"),),
        kept=(("SELECT score, rating FROM evaluations WHERE event_id = 'DGCN-2026-10-003'", [(85.0, "HTT")]),
              ("SELECT rating FROM eval_current WHERE official_id = 'CB003' AND period = '2026-10'", [("HTT",)]))),
    Bad("units_cycle.csv", "partial", EXIT_QUARANTINE, {3: "unit_cycle", 4: "unit_cycle", 5: "unit_cycle"},
        rows_read=4, loaded=1, good=(("units", "unit_id", "PBD.VHXH"),),
        kept=(("SELECT parent_id FROM units WHERE unit_id = 'SNV'", [("HN",)]),
              ("SELECT count(*) FROM units WHERE unit_id LIKE 'TCT.%'", [(0,)]))),
    Bad("tasks_empty.csv", "rejected", EXIT_QUARANTINE, {WHOLE_FILE: "empty_file"}, rows_read=0, loaded=0),
    Bad("tasks_header_only.csv", "rejected", EXIT_QUARANTINE, {WHOLE_FILE: "empty_file"}, rows_read=0, loaded=0),
    Bad("unit_evaluations_truncated.xlsx", "rejected", EXIT_QUARANTINE, {WHOLE_FILE: "corrupt_file"},
        rows_read=0, loaded=0),
    Bad("ratings_corrupt.parquet", "rejected", EXIT_QUARANTINE, {WHOLE_FILE: "corrupt_file"},
        rows_read=0, loaded=0),
    Bad("ratings_damaged_page.parquet", "rejected", EXIT_QUARANTINE, {WHOLE_FILE: "corrupt_file"},
        rows_read=0, loaded=0,
        kept=(("SELECT count(*) FROM ratings WHERE rating_id LIKE 'DG-P15-%'", [(0,)]),)),
    Bad("ratings_malformed_line.jsonl", "partial", EXIT_QUARANTINE, {2: "malformed_line", 3: "malformed_line"},
        rows_read=4, loaded=2,
        good=(("ratings", "rating_id", "DG-B16-0001"), ("ratings", "rating_id", "DG-B16-0004"))),
    Bad("tasks_not_utf8.csv", "partial", EXIT_QUARANTINE, {3: "malformed_line"}, rows_read=3, loaded=2,
        good=(("tasks", "task_id", "NV-B17-0001"), ("tasks", "task_id", "NV-B17-0003")), raw_exact=False),
    Bad("tasks_resent.csv", "already_loaded", EXIT_OK, {}, rows_read=0, loaded=0),
    Bad("units_bad_text.csv", "partial", EXIT_QUARANTINE, {3: "bad_text", 4: "bad_text", 5: "bad_text"},
        rows_read=4, loaded=1, good=(("units", "unit_id", "PBD.TDP1"),),
        kept=(("SELECT count(*) FROM units WHERE unit_id IN ('PBD.TDP2', 'PBD.TDP3', 'PBD.TDP4')", [(0,)]),)),
    Bad("ratings_text_too_long.jsonl", "partial", EXIT_QUARANTINE, {2: "text_too_long", 4: "text_too_long"},
        rows_read=4, loaded=2,
        good=(("ratings", "rating_id", "DG-B18-0001"), ("ratings", "rating_id", "DG-B18-0003")),
        # a comment keeps its line break and tab; exactly 2,000 characters is within the limit
        kept=(("SELECT comment FROM ratings WHERE rating_id = 'DG-B18-0001'",
               [("Hướng dẫn kỹ.\nLần sau\tsẽ quay lại",)]),
              ("SELECT length(comment) FROM ratings WHERE rating_id = 'DG-B18-0003'", [(2000,)]))),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.file)
def test_bad_file(db, case: Bad):
    path = BAD / case.file
    before = query(db, "SELECT count(*) FROM quarantine")[0][0]
    proc, entry = load(db, path)

    assert proc.returncode == case.exit, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert (entry["file"], entry["status"]) == (case.file, case.status)
    assert entry["reasons"] == case.reasons
    assert entry["rows_read"] == case.rows_read
    assert entry["loaded"] == case.loaded
    assert entry["duplicates"] == case.duplicates
    assert entry["quarantined"] == sum(1 for line in case.lines if line is not WHOLE_FILE)
    if case.status == "rejected":
        assert entry["message"], "a rejected file says why"

    rows = query(db, "SELECT line, reason, raw, detail, file, resolved_by FROM quarantine "
                     "WHERE batch_id = ? ORDER BY line", [entry["batch_id"]])
    assert query(db, "SELECT count(*) FROM quarantine")[0][0] == before + len(rows)
    assert {line: reason for line, reason, *_ in rows} == case.lines
    lines = file_lines(path) if path.suffix in (".csv", ".jsonl") else []
    for line, reason, raw, detail, file, resolved_by in rows:
        assert file == case.file and resolved_by is None
        assert detail, f"{reason} has a sentence for people"
        if line is WHOLE_FILE:
            assert raw is None
        elif case.raw_exact:
            assert raw == lines[line - 1], f"line {line}: the raw text is kept"
        else:  # undecodable bytes: the readable part of the line is kept
            assert raw.split(",")[0] == lines[line - 1].split(",")[0] and len(raw) >= 0.8 * len(lines[line - 1])

    for table, key, value in case.good:
        assert query(db, f"SELECT count(*) FROM {table} WHERE {key} = ?", [value]) == [(1,)], (table, value)
        assert query(db, f"SELECT batch_id FROM {table} WHERE {key} = ?", [value]) == [(entry["batch_id"],)]
    for sql, expected in case.kept:
        assert query(db, sql) == expected, sql


def test_every_bad_sample_has_a_case():
    assert sorted(p.name for p in BAD.iterdir()) == sorted(c.file for c in CASES)


def test_all_bad_files_in_one_database(db):
    """Loaded together in one command, every file still accounts for its rows on its own,
    as `status --json` reports them."""
    files = sorted(BAD.iterdir())
    proc = run_cli("etl", "load", *files, "--db", db, "--json", check_codes=(EXIT_QUARANTINE,))
    assert len(json_lines(proc.stdout)) == len(files)
    entries = status(db)
    assert_accounting(entries)
    by_file = {e["file"]: e for e in entries[len(VALID):]}
    assert set(by_file) == {c.file for c in CASES}
    for case in CASES:
        e = by_file[case.file]
        assert (e["status"], e["reasons"], e["rows_read"], e["loaded"], e["duplicates"]) == (
            case.status, case.reasons, case.rows_read, case.loaded, case.duplicates), case.file


# --- a re-sent file, replay, NFC -------------------------------------------------------------

def test_same_file_under_another_name_changes_nothing(db):
    before = snapshot(db)
    proc, entry = load(db, BAD / "tasks_resent.csv", codes=(EXIT_OK,), check_status=True)
    first = next(e for e in status(db) if e["file"] == "tasks.csv")
    assert entry["status"] == "already_loaded" and entry["duplicate_of"] == first["batch_id"]
    assert "tasks.csv" in entry["message"]
    assert snapshot(db) == before
    # And again under a third name, after other loads: still nothing.
    third = db.parent / "tasks_2026-10-31_gui_lai.csv"
    shutil.copyfile(SAMPLES / "tasks.csv", third)
    load(db, third, codes=(EXIT_OK,))
    assert snapshot(db) == before


def ratings_count(db: Path, official: str, period: str) -> int:
    got = query(db, "SELECT coalesce(sum(r_l1 + r_l2 + r_l3 + r_l4), 0) FROM official_month "
                    "WHERE official_id = ? AND period = ?", [official, period])
    return got[0][0]


def test_replay_after_the_official_arrives(db):
    assert ratings_count(db, "CB099", "2026-10") == 0
    _, entry = load(db, BAD / "ratings_unknown_official.csv", check_status=True)
    [(qid, line, resolved)] = query(db, "SELECT quarantine_id, line, resolved_by FROM quarantine "
                                        "WHERE batch_id = ?", [entry["batch_id"]])
    assert (line, resolved) == (3, None)

    # Replay before the official exists: the row stays, still unknown_official.
    proc = run_cli("etl", "replay", "--db", db, "--json", check_codes=(EXIT_QUARANTINE,))
    [early] = json_lines(proc.stdout)
    assert (early["kind"], early["rows_read"], early["loaded"], early["quarantined"]) == ("ratings", 1, 0, 1)
    assert early["reasons"] == {"unknown_official": 1}
    assert query(db, "SELECT reason, resolved_by FROM quarantine WHERE quarantine_id = ?", [qid]) == [
        ("unknown_official", None)]

    load(db, LATER / "officials_new_hire.csv", codes=(EXIT_OK,))
    proc = run_cli("etl", "replay", "--db", db, "--json", check_codes=(EXIT_OK,))
    [batch] = json_lines(proc.stdout)
    assert (batch["kind"], batch["status"], batch["rows_read"], batch["loaded"], batch["quarantined"]) == (
        "ratings", "replay", 1, 1, 0)
    assert query(db, "SELECT resolved_by FROM quarantine WHERE quarantine_id = ?", [qid]) == [(batch["batch_id"],)]
    assert query(db, "SELECT level, rated_at, batch_id FROM ratings WHERE rating_id = 'DG-B10-0002'") == [
        (3, dt.datetime(2026, 10, 8, 8, 25), batch["batch_id"])]
    assert ratings_count(db, "CB099", "2026-10") == 1
    kpis = json_lines(run_cli("dashboard", "kpis", "--db", db, "--official", "CB099", "--period", "2026-10",
                              check_codes=(0,)).stdout)[0]
    assert kpis["ratings_count"] == 1 and kpis["satisfaction_rate"] == 1.0
    assert_accounting(status(db))

    # Nothing is left to replay.
    proc = run_cli("etl", "replay", "--db", db, "--json", check_codes=(EXIT_OK,))
    assert json_lines(proc.stdout) == []


def test_decomposed_text_is_stored_composed(db):
    path = LATER / "officials_nfd.csv"
    text = path.read_text(encoding="utf-8")
    assert unicodedata.normalize("NFD", text) == text != unicodedata.normalize("NFC", text)
    proc, entry = load(db, path, codes=(EXIT_OK, EXIT_QUARANTINE), check_status=True)
    # CB010 is new; CB003 is the same official, the same text once composed: a duplicate.
    assert (entry["status"], entry["loaded"], entry["duplicates"], entry["quarantined"]) == ("loaded", 1, 1, 0), entry
    assert proc.returncode == EXIT_OK
    [(name, position, is_head, active)] = query(
        db, "SELECT full_name, position, is_head, active FROM officials WHERE official_id = 'CB010'")
    assert name == "Nguyễn Thị Ánh Tuyết" == unicodedata.normalize("NFC", name)
    assert position == "Chuyên viên" and (is_head, active) == (False, True)
    assert query(db, "SELECT full_name FROM officials WHERE official_id = 'CB003'") == [("Lê Minh Đức",)]


# --- CSV line numbers ----------------------------------------------------------------------------

TASK_HEADER = "task_id,official_id,title,origin,assigned_at,due_at,completed_at,status,quality_failures,updated_at"
GOOD_TASK = "NV-L-0001,CB003,Lập báo cáo tuần,assigned,2026-10-05,2026-10-09,,open,0,2026-10-05 08:00:00"
LATE_TASK = "NV-L-0002,CB003,Báo cáo tháng,assigned,2026-10-20,2026-10-09,,open,0,2026-10-05 08:00:00"


def test_a_csv_the_reader_fails_on_is_not_called_empty(db, tmp_path):
    """A quoted line break (Alt+Enter in an Excel cell) made DuckDB's CSV scanner fail, and
    every such failure was reported as empty_file, "has no header row": its message lists
    the dialect, with `comment = (empty)`."""
    path = tmp_path / "tasks_note_with_line_break.csv"
    path.write_text(f'{TASK_HEADER}\n{GOOD_TASK.replace("Lập báo cáo tuần", chr(34) + "Lập báo cáo" + chr(10) + "tuần" + chr(34))}\n'
                    f"{LATE_TASK}\n", encoding="utf-8")
    proc, entry = load(db, path)
    assert "Traceback" not in proc.stderr
    assert "empty_file" not in entry["reasons"], entry


def test_a_quoted_line_break_is_read_and_counted_as_one_row(db, tmp_path):
    """A title is one line (data-contract.md, text limits), so the row with the quoted line break
    is read whole and quarantined as bad_text, and the next row keeps its physical line number."""
    path = tmp_path / "tasks_note_with_line_break.csv"
    path.write_text(f'{TASK_HEADER}\n{GOOD_TASK.replace("Lập báo cáo tuần", chr(34) + "Lập báo cáo" + chr(10) + "tuần" + chr(34))}\n'
                    f"{LATE_TASK}\n", encoding="utf-8")
    _, entry = load(db, path)
    assert (entry["status"], entry["loaded"], entry["reasons"]) == (
        "partial", 0, {"bad_text": 1, "due_before_assigned": 1})
    # The late task starts on physical line 4 of the file.
    assert query(db, "SELECT line, reason FROM quarantine WHERE batch_id = ? ORDER BY line", [entry["batch_id"]]) == [
        (2, "bad_text"), (4, "due_before_assigned")]


def test_line_numbers_after_a_blank_line(db, tmp_path):
    path = tmp_path / "tasks_blank_line.csv"
    path.write_text(f"{TASK_HEADER}\n{GOOD_TASK}\n\n{LATE_TASK}\n", encoding="utf-8")
    _, entry = load(db, path)
    assert (entry["loaded"], entry["reasons"]) == (1, {"due_before_assigned": 1})
    assert query(db, "SELECT line, raw FROM quarantine WHERE batch_id = ?", [entry["batch_id"]]) == [
        (4, LATE_TASK)]


def test_a_line_of_empty_quotes_after_a_blank_line_is_a_row_with_its_line(db, tmp_path):
    """Found by the fuzzer: with a blank line in the file, a line holding only "" is a row to
    DuckDB but was none to the line counter; the two disagreed, no row got a line number, and
    all four bad rows were neither loaded nor quarantined (rows_read 4 = 0 + 0 + 0)."""
    path = tmp_path / "tasks_empty_quotes.csv"
    path.write_text(f'{TASK_HEADER}\n{GOOD_TASK}\n\n{LATE_TASK}\n""\nT-ONLY-ID\n', encoding="utf-8")
    _, entry = load(db, path)
    assert (entry["rows_read"], entry["loaded"], entry["quarantined"]) == (4, 1, 3)
    assert [line for line, in query(db, "SELECT line FROM quarantine WHERE batch_id = ? ORDER BY line",
                                    [entry["batch_id"]])] == [4, 5, 6]


def test_quality_failures_left_out_or_empty_is_zero_and_a_bad_one_is_quarantined(db, tmp_path):
    """The contract gives quality_failures a default of 0: a file without the column, or an
    empty cell, loads as 0 (it once failed the whole file on a NOT NULL constraint)."""
    header = TASK_HEADER.replace(",quality_failures", "")
    without = tmp_path / "tasks_without_quality_failures.csv"
    without.write_text(f"{header}\n{GOOD_TASK.replace(',open,0,', ',open,')}\n", encoding="utf-8")
    proc, entry = load(db, without)
    assert (entry["status"], entry["loaded"]) == ("loaded", 1), proc.stderr
    mixed = tmp_path / "tasks_quality_failures_cells.csv"
    mixed.write_text(f"{TASK_HEADER}\n{GOOD_TASK.replace('0001', '0101').replace(',open,0,', ',open,,')}\n"
                     f"{GOOD_TASK.replace('0001', '0102').replace(',open,0,', ',open,hai,')}\n", encoding="utf-8")
    _, entry = load(db, mixed)
    assert (entry["loaded"], entry["quarantined"]) == (1, 1) and len(entry["reasons"]) == 1, entry
    assert query(db, "SELECT task_id, quality_failures FROM tasks WHERE task_id IN ('NV-L-0001', 'NV-L-0101') "
                     "ORDER BY 1") == [("NV-L-0001", 0), ("NV-L-0101", 0)]


def test_a_row_with_more_fields_than_the_header_is_quarantined_not_trimmed(db, tmp_path):
    path = tmp_path / "tasks_extra_field.csv"
    path.write_text(f"{TASK_HEADER}\n{GOOD_TASK},surplus\n{LATE_TASK}\n", encoding="utf-8")
    _, entry = load(db, path)
    assert entry["reasons"] == {"malformed_line": 1, "due_before_assigned": 1}
    assert entry["loaded"] == 0
    assert query(db, "SELECT line, raw FROM quarantine WHERE batch_id = ? AND reason = 'malformed_line'",
                 [entry["batch_id"]]) == [(2, f"{GOOD_TASK},surplus")]


# --- the CLI's other exits -------------------------------------------------------------------

@pytest.mark.parametrize("args, code, words", [
    (("load", "data/samples/bad/no_such_tasks.csv"), EXIT_ERROR, "no such file"),
    (("load",), EXIT_USAGE, "files"),
    (("replay", "--bogus"), EXIT_USAGE, "--bogus"),
], ids=["missing file", "no file", "unknown option"])
def test_cli_exit_codes(tmp_path, args, code, words):
    proc = run_cli("etl", *args, "--db", tmp_path / "x.duckdb", check_codes=(code,))
    assert words in proc.stderr and "Traceback" not in proc.stderr


def test_database_held_by_another_process(db):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         "conn = duckdb.connect(sys.argv[1])\nprint('ready', flush=True)\ntime.sleep(120)", str(db)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        proc = run_cli("etl", "load", BAD / "tasks_bad_date.csv", "--db", db, check_codes=(EXIT_BUSY,))
        message = proc.stderr
        assert "Traceback" not in message
        assert str(holder.pid) in message and "server" in message
        assert "stop the server" in message  # what to do
    finally:
        holder.kill()
        holder.wait()
    # Once it is free, the same command works and nothing was half-loaded before.
    assert query(db, "SELECT count(*) FROM ingest_ledger WHERE file = 'tasks_bad_date.csv'") == [(0,)]
    load(db, BAD / "tasks_bad_date.csv")


# --- a 200 MB file -----------------------------------------------------------------------------

BIG_HEADER = "task_id,official_id,title,origin,assigned_at,due_at,completed_at,status,quality_failures,updated_at\n"


def write_big_tasks(path: Path, target_bytes: int = 200 * 2**20, block_rows: int = 10_000) -> int:
    """A tasks CSV of about target_bytes: one block of rows with a placeholder in the id,
    written again and again with a distinct block number. Returns the number of rows."""
    officials = ["CB001", "CB002", "CB003", "CB004", "CB005", "CB006", "CB007"]
    rows = []
    for i in range(block_rows):
        day = 1 + i % 20
        done = i % 4 != 0
        rows.append(
            f"BIG-@@@@-{i:05d},{officials[i % 7]},Số hoá hồ sơ lưu trữ đợt {i % 97} của đơn vị,"
            f"{'assigned' if i % 3 else 'registered'},2026-10-{day:02d},2026-10-{day + 9:02d},"
            f"{f'2026-10-{day + 4 + i % 7:02d}' if done else ''},{'done' if done else 'open'},"
            f"{i % 2},2026-10-{day + 4:02d} {8 + i % 10:02d}:{i % 60:02d}:00\n")
    block = "".join(rows).encode("utf-8")
    blocks = -(-target_bytes // len(block))
    with open(path, "wb") as f:
        f.write(BIG_HEADER.encode())
        for b in range(blocks):
            f.write(block.replace(b"@@@@", b"%04d" % b))
    return blocks * block_rows


def test_200_mb_csv_loads_within_memory(db, tmp_path):
    path = tmp_path / "tasks_big.csv"
    n = write_big_tasks(path)
    assert path.stat().st_size >= 200 * 2**20
    started = time.monotonic()
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "etl", "load", str(path), "--db", str(db), "--json"],
                                cwd=REPO, stdout=out, stderr=err)
        _, wait_status, usage = os.wait4(proc.pid, 0)  # this child's own peak, not all children's
    seconds = time.monotonic() - started
    code = os.waitstatus_to_exitcode(wait_status)
    assert code == EXIT_OK, (tmp_path / "err.txt").read_text()
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    print(f"200 MB CSV: {n:,} rows in {seconds:.1f} s, peak RSS {peak_mb:,.0f} MB")
    assert peak_mb < 2048, f"peak RSS {peak_mb:,.0f} MB"
    [entry] = [e for e in status(db) if e["file"] == "tasks_big.csv"]
    assert (entry["status"], entry["rows_read"], entry["loaded"], entry["quarantined"]) == ("loaded", n, n, 0)
    assert query(db, "SELECT count(*) FROM tasks WHERE task_id LIKE 'BIG-%'") == [(n,)]
    assert query(db, "SELECT sum(tasks_due) FROM official_month WHERE period = '2026-10'")[0][0] >= n


# --- the samples folder itself -----------------------------------------------------------------

def test_readme_lists_every_sample():
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for path in sorted(SAMPLES.rglob("*")):
        if path.is_file() and path.name not in ("README.md",) and "__pycache__" not in path.parts:
            assert f"`{path.relative_to(SAMPLES).as_posix()}`" in readme, path


def test_generated_samples_are_up_to_date():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    assert built == module.build(), "make_samples.py is deterministic"
    for path, data in built.items():
        assert path.read_bytes() == data, f"{path.name} is stale: run data/samples/make_samples.py"
