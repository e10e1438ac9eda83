"""Ingestion inside the running server: the one writer, the inbox, `etl load` over the socket,
and the versioned HTTP API (idempotent, acknowledged after the commit, scoped device tokens)."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest
import requests

from conftest import kpis_cli, run_dashboard, start_server, stop_server
from etl.db import connect
from etl.inbox import Inbox
from etl.writer import Writer
from etl_helpers import json_lines, run_cli

CSV_HEAD = "rating_id,official_id,counter_id,procedure_code,rated_at,level,reason,comment\n"


def _copy(demo, tmp_path, name="db.duckdb") -> Path:
    path = tmp_path / name
    shutil.copy(demo.path, path)
    return path


def _count(db: Path, sql: str, params=()):
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return conn.execute(sql, list(params)).fetchone()[0]
    finally:
        conn.close()


def _rating(rid: str, official: str, counter="Q1", level=4, at="2026-10-20T09:00:00+07:00") -> dict:
    return {"rating_id": rid, "official_id": official, "counter_id": counter, "rated_at": at, "level": level}


# --- the writer, in process -----------------------------------------------------------------

@pytest.fixture
def writer(demo, tmp_path):
    conn = connect(_copy(demo, tmp_path))
    w = Writer(conn.cursor(), tmp_path / "spool", tmp_path / "archive", batch_seconds=0.05, idle_seconds=3600)
    commits = []
    w.on_commit(commits.append)
    w.start()
    yield w, conn, commits
    w.stop()
    conn.close()


def test_records_get_a_result_each_and_a_retry_changes_nothing(writer, demo):
    w, conn, commits = writer
    records = [_rating("T-1", demo.official), _rating("T-2", demo.official, level=9), _rating("T-3", "NOBODY")]
    batch, results = w.submit_records("ratings", records)
    assert [r.result for r in results] == ["loaded", "level_out_of_range", "unknown_official"]
    assert "outside" in results[1].detail
    before = conn.execute("SELECT count(*), sum(r_l4) FROM official_month").fetchone()
    _, again = w.submit_records("ratings", records)       # the same bytes: the earlier batch's answers
    assert [r.result for r in again] == ["duplicate", "level_out_of_range", "unknown_official"]
    _, mixed = w.submit_records("ratings", [records[0], _rating("T-4", demo.official)])
    assert [r.result for r in mixed] == ["duplicate", "loaded"]
    assert conn.execute("SELECT count(*) FROM ratings WHERE rating_id LIKE 'T-%'").fetchone()[0] == 2
    assert conn.execute("SELECT sum(r_l4) FROM official_month").fetchone()[0] == before[1] + 1
    entry = conn.execute("SELECT file, kind, rows_read, loaded, quarantined FROM ingest_ledger WHERE batch_id = ?",
                         [batch]).fetchone()
    assert entry[0].startswith("ratings_api_") and entry[1:] == ("ratings", 3, 1, 2)  # accounted like a file
    archived = list((w.archive_dir / "api").rglob("ratings_api_*.jsonl"))
    assert len(archived) == 3 and not any(w.spool_dir.glob("*.jsonl"))


def test_a_commit_names_the_scopes_it_moved(writer, demo):
    w, conn, commits = writer
    w.submit_records("ratings", [_rating("S-1", demo.official)])
    unit = conn.execute("SELECT unit_id FROM officials WHERE official_id = ?", [demo.official]).fetchone()[0]
    ancestors = {r[0] for r in conn.execute("SELECT ancestor FROM unit_closure WHERE descendant = ?", [unit]).fetchall()}
    assert commits[-1].touched == frozenset(ancestors)
    assert demo.other_dept not in commits[-1].touched and demo.root in commits[-1].touched
    assert commits[-1].new_ratings[-1][:3] == ("S-1", demo.official, unit)
    n = len(commits)
    w.submit_records("ratings", [_rating("S-1", demo.official)])   # a duplicate moves nothing
    assert len(commits) == n


def test_arrivals_in_one_window_share_one_commit(demo, tmp_path):
    conn = connect(_copy(demo, tmp_path))
    w = Writer(conn.cursor(), tmp_path / "spool", tmp_path / "archive", batch_seconds=1.0, idle_seconds=3600)
    w.start()
    try:
        w.submit_records("ratings", [_rating("W-0", demo.official)])  # the window starts now
        import threading
        answers = {}
        threads = [threading.Thread(target=lambda i=i: answers.__setitem__(
            i, w.submit_records("ratings", [_rating(f"W-{i}", demo.official)]))) for i in range(1, 6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len({batch for batch, _ in answers.values()}) == 1, "five arrivals within a window, one batch"
        assert all(r[0].result == "loaded" for _, r in answers.values())
    finally:
        w.stop()
        conn.close()


def test_a_batch_left_in_the_spool_is_loaded_at_start(demo, tmp_path):
    conn = connect(_copy(demo, tmp_path))
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "ratings_api_crash_1.jsonl").write_text(json.dumps(_rating("C-1", demo.official)) + "\n")
    w = Writer(conn.cursor(), spool, tmp_path / "archive", batch_seconds=0.05).start()
    w.stop()
    assert conn.execute("SELECT count(*) FROM ratings WHERE rating_id = 'C-1'").fetchone()[0] == 1
    assert not list(spool.glob("*.jsonl"))
    conn.close()


def test_inbox_archives_loaded_files_and_rejects_with_a_reason(writer, demo, tmp_path):
    w, conn, _ = writer
    inbox = Inbox(w, tmp_path / "inbox", tmp_path / "archive", tmp_path / "rejected")
    for folder in (inbox.inbox, inbox.archive, inbox.rejected):
        folder.mkdir(exist_ok=True)
    (inbox.inbox / "ratings_ok.csv").write_text(CSV_HEAD + f"I-1,{demo.official},Q1,,2026-10-02T08:00:00,3,,\n")
    (inbox.inbox / "notakind.csv").write_text("a,b\n1,2\n")
    (inbox.inbox / "ratings_half.csv.part").write_text(CSV_HEAD)      # still being written
    (inbox.inbox / ".ratings_hidden.csv").write_text(CSV_HEAD)
    entries = inbox.sweep()
    assert [e["status"] for e in entries] == ["loaded", "rejected"]
    assert list((tmp_path / "archive").rglob("ratings_ok.csv"))
    reason = (tmp_path / "rejected" / "notakind.csv.reason.txt").read_text()
    assert "does not start with a known kind" in reason and (tmp_path / "rejected" / "notakind.csv").exists()
    assert sorted(p.name for p in inbox.inbox.iterdir()) == [".ratings_hidden.csv", "ratings_half.csv.part"]
    assert conn.execute("SELECT level FROM ratings WHERE rating_id = 'I-1'").fetchone()[0] == 3


# --- the real server -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live_server(demo, tmp_path_factory):
    """A server of its own on a copy of the demo database, with a counter device and a system token."""
    base = tmp_path_factory.mktemp("ingest")
    db = base / "live.duckdb"
    shutil.copy(demo.path, db)
    (base / "before.duckdb").write_bytes(db.read_bytes())
    tokens = {}
    for name, extra in (("kiosk1", ["--counter", "Q1"]), ("kiosk2", ["--counter", "Q2"]), ("tasks-sys", [])):
        out = run_dashboard("devices", "add", name, *extra, "--db", db)
        assert out.returncode == 0, out.stderr
        tokens[name] = next(line.split()[-1] for line in out.stdout.splitlines() if line.startswith("token:"))
    assert run_dashboard("devices", "assign", "kiosk1", demo.official, "--db", db).returncode == 0
    srv = start_server(db, base / "server.log", env={"THUOCDO_API_MAX_RECORDS": "50"})
    srv.tokens = tokens
    yield srv
    stop_server(srv)


def _post(srv, kind, records, token="kiosk1", **kw):
    return requests.post(f"{srv.base_url}/api/v1/{kind}", json=records, timeout=30,
                         headers={"Authorization": f"Bearer {srv.tokens[token]}"}, **kw)


def test_api_loads_acknowledges_after_commit_and_retries_change_nothing(live_server, demo):
    batch = [_rating("API-1", demo.official), _rating("API-2", demo.official, level=0)]
    first = _post(live_server, "ratings", batch)
    assert first.status_code == 207, first.text
    body = first.json()
    assert [(r["id"], r["result"], r["status"]) for r in body["results"]] == [
        ("API-1", "loaded", 201), ("API-2", "level_out_of_range", 422)]
    # Acknowledged after the commit: another process sees the row the moment the answer arrives.
    out = run_cli("etl", "status", "--db", live_server.db, "--json")
    assert any(e["batch_id"] == body["batch_id"] and e["loaded"] == 1 for e in json_lines(out.stdout))
    again = _post(live_server, "ratings", batch).json()
    assert [r["result"] for r in again["results"]] == ["duplicate", "level_out_of_range"] and again["loaded"] == 0


def test_device_tokens_are_scoped(live_server, demo):
    srv = live_server
    other_counter = _post(srv, "ratings", [_rating("X-1", demo.official, counter="Q2")])
    not_on_duty = _post(srv, "ratings", [_rating("X-2", demo.other_official)])
    assert other_counter.status_code == not_on_duty.status_code == 422
    assert {r["result"] for r in other_counter.json()["results"] + not_on_duty.json()["results"]} == {"forbidden"}
    assert _post(srv, "tasks", [{"task_id": "x"}]).status_code == 403          # a counter posts ratings only
    auth = {"Authorization": f"Bearer {srv.tokens['kiosk1']}"}
    assert requests.get(f"{srv.base_url}/api/v1/counters/Q2/duty", headers=auth).status_code == 403
    assert requests.post(f"{srv.base_url}/api/v1/counters/Q1/duty", headers=auth,
                         json={"official_id": demo.other_official}).status_code == 403
    for path in ("/", f"/unit/{demo.dept}", f"/api/kpis?unit={demo.dept}&period={demo.period}",
                 f"/api/v1/kpis?unit={demo.dept}&period={demo.period}", "/api/v1/openapi.json", "/api/data-version"):
        r = requests.get(srv.base_url + path, headers=auth, allow_redirects=False)
        assert r.status_code in (302, 401), (path, r.status_code)
    cb = requests.post(srv.base_url + "/_dash-update-component", headers=auth, json={})
    assert cb.status_code == 401
    assert requests.post(f"{srv.base_url}/api/v1/ratings", json=[_rating("X-3", demo.official)]).status_code == 401
    # The queue system (a system token) sets the duty; the kiosk then reads it.
    sys_auth = {"Authorization": f"Bearer {srv.tokens['tasks-sys']}"}
    r = requests.post(f"{srv.base_url}/api/v1/counters/Q2/duty", headers=sys_auth, json={"official_id": demo.official})
    assert r.status_code == 200 and r.json()["official"]["official_id"] == demo.official
    duty = requests.get(f"{srv.base_url}/api/v1/counters/Q2/duty",
                        headers={"Authorization": f"Bearer {srv.tokens['kiosk2']}"}).json()
    assert duty["official"]["official_id"] == demo.official


def test_api_limits(live_server, demo):
    srv = live_server
    too_many = _post(srv, "ratings", [_rating(f"L-{i}", demo.official) for i in range(51)])
    assert too_many.status_code == 413 and "at most 50" in too_many.json()["error"]
    huge = requests.post(f"{srv.base_url}/api/v1/ratings", data=b"[" + b" " * 2_000_000 + b"]",
                         headers={"Authorization": f"Bearer {srv.tokens['kiosk1']}",
                                  "Content-Type": "application/json"})
    assert huge.status_code == 413
    for body in (b"not json", b"{}", b"[]", b'"x"'):
        r = requests.post(f"{srv.base_url}/api/v1/ratings", data=body,
                          headers={"Authorization": f"Bearer {srv.tokens['kiosk1']}"})
        assert r.status_code == 400, body
    junk = _post(srv, "ratings", ["not an object", 7])  # each is answered, and kept in quarantine
    assert junk.status_code == 422 and [r["result"] for r in junk.json()["results"]] == ["malformed_line"] * 2


def test_revoked_device_stops_at_its_next_request(live_server, demo):
    srv = live_server
    assert run_dashboard("devices", "add", "short-lived", "--counter", "Q9", "--db", srv.db).returncode == 0
    out = run_dashboard("devices", "add", "short-lived2", "--counter", "Q9", "--db", srv.db)
    token = next(line.split()[-1] for line in out.stdout.splitlines() if line.startswith("token:"))
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{srv.base_url}/api/v1/device", headers=auth).json()["counter_id"] == "Q9"
    assert run_dashboard("devices", "revoke", "short-lived2", "--db", srv.db).returncode == 0
    assert requests.get(f"{srv.base_url}/api/v1/device", headers=auth).status_code == 401


def test_etl_load_while_the_server_runs(live_server, demo, tmp_path):
    f = tmp_path / "ratings_cli.csv"
    f.write_text(CSV_HEAD + f"CLI-1,{demo.official},Q1,,2026-10-03T08:00:00,4,,\n"
                            f"CLI-2,{demo.official},Q1,,2026-10-03T08:00:00,5,,\n")
    out = run_cli("etl", "load", str(f), "--db", str(live_server.db))
    assert out.returncode == 1, out.stderr                         # as offline: a row was quarantined
    assert "ratings_cli.csv" in out.stdout and "partial" in out.stdout and "level_out_of_range" in out.stdout
    again = run_cli("etl", "load", str(f), "--db", str(live_server.db), "--json")
    assert again.returncode == 0 and json_lines(again.stdout)[0]["status"] == "already_loaded"
    status = run_cli("etl", "status", "--db", str(live_server.db))      # status and replay work too
    assert "ratings_cli.csv" in status.stdout and "rows in quarantine" in status.stdout
    replay = run_cli("etl", "replay", "--db", str(live_server.db), "--json")
    assert all(e["status"] == "replay" for e in json_lines(replay.stdout))


def test_inbox_of_the_running_server(live_server, demo):
    inbox = live_server.db.parent / "inbox"
    tmp = live_server.db.parent / "ratings_drop.csv.tmp"
    tmp.write_text(CSV_HEAD + f"IN-1,{demo.official},Q1,,2026-10-04T08:00:00,2,cho_lau,\n")
    os.replace(tmp, inbox / "ratings_drop.csv")                   # producers rename in
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (inbox / "ratings_drop.csv").exists():
        time.sleep(0.1)
    assert list((live_server.db.parent / "archive").rglob("ratings_drop.csv"))


def test_openapi_describes_exactly_the_routes(live_server, demo):
    from conftest import http_login
    s = http_login(live_server.base_url, demo.logins["admin"])
    spec = s.get(live_server.base_url + "/api/v1/openapi.json").json()
    assert spec["openapi"] == "3.1.0"
    described = {(path, method.upper()) for path, ops in spec["paths"].items()
                 for method in ops if method in ("get", "post", "put", "delete", "patch")}
    routes = set()
    for rule in _api_v1_rules():
        path = rule.rule.replace("<kind>", "{kind}").replace("<counter_id>", "{counter_id}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if path == "/api/v1/{kind}":
                routes |= {(f"/api/v1/{k}", method) for k in ("ratings", "tasks", "evaluations")}
            else:
                routes.add((path, method))
    assert described == routes


def _api_v1_rules():
    from flask import Flask
    from dashboard.api import v1
    app = Flask("probe")
    app.register_blueprint(v1.bp)
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")]


def test_replaying_the_archive_rebuilds_the_same_kpis(live_server, demo, tmp_path):
    """Everything the API took is in the archive as contract files: loaded into the database as
    it was before, they give the same KPIs as the server's."""
    _post(live_server, "ratings", [_rating(f"R-{i}", demo.official, level=1 + i % 4) for i in range(10)])
    replica = tmp_path / "replica.duckdb"
    shutil.copy(live_server.db.parent / "before.duckdb", replica)
    archived = sorted((live_server.db.parent / "archive").rglob("*.*sv")) + \
        sorted((live_server.db.parent / "archive" / "api").rglob("*.jsonl"))
    files = sorted(archived, key=lambda p: p.stat().st_mtime)
    assert files
    run_cli("etl", "load", *map(str, files), "--db", str(replica))
    # The server holds its file; its KPIs come over the API instead of a second open.
    from conftest import http_login
    s = http_login(live_server.base_url, demo.logins["admin"])
    served = s.get(f"{live_server.base_url}/api/v1/kpis",
                   params={"unit": demo.root, "period": "2026-10", "as_of": "2026-10-31"}).json()
    assert served["ratings_count"] > 0
    assert served == kpis_cli(replica, "--unit", demo.root, "--period", "2026-10", "--as-of", "2026-10-31")
