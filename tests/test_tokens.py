"""Device and display tokens (dashboard/tokens.py) and their CLI, offline and through a running
server. Real DuckDB files: copies of the demo database (the session's server may own the original)."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import run_dashboard, start_server, stop_server
from dashboard import tokens
from dashboard.errors import DashboardError
from etl.db import connect

TOKEN_LINE = re.compile(r"^token: (\S+)$", re.M)


@pytest.fixture(scope="module")
def base(demo, tmp_path_factory) -> Path:
    """One snapshot of the demo database for this module; every test copies it again (~0.1 s)."""
    path = tmp_path_factory.mktemp("tokens") / "base.duckdb"
    shutil.copy(demo.path, path)
    wal = Path(f"{demo.path}.wal")
    if wal.exists():
        shutil.copy(wal, f"{path}.wal")
    conn = connect(path)  # replay the WAL and migrate once
    # A clean slate: other modules may have registered their screens in the session's demo.
    conn.execute("DELETE FROM counter_duty; DELETE FROM devices; DELETE FROM displays")
    conn.close()
    return path


@pytest.fixture
def db(base, tmp_path) -> Path:
    path = tmp_path / "x.duckdb"
    shutil.copy(base, path)
    return path


@pytest.fixture
def cur(db):
    conn = connect(db)
    yield conn.cursor()
    conn.close()


def _officials(cur, n=2):
    return [r[0] for r in cur.execute(
        "SELECT official_id FROM officials WHERE active ORDER BY official_id LIMIT ?", [n]).fetchall()]


def _token(output: str) -> str:
    found = TOKEN_LINE.findall(output)
    assert len(found) == 1, output
    return found[0]


# --- the functions ---------------------------------------------------------------------------

def test_a_device_token_is_returned_once_and_only_its_hash_is_stored(cur):
    token = tokens.add_device(cur, "kiosk-01", counter_id="Q1")
    system = tokens.add_device(cur, "task.software")
    assert len(token) >= 40 and token != system
    stored = cur.execute("SELECT * FROM devices").fetchall()
    assert token not in repr(stored) and system not in repr(stored)
    assert cur.execute("SELECT token_hash FROM devices WHERE name = 'kiosk-01'").fetchone()[0] == tokens.hash_token(token)

    device = tokens.device_for_token(cur, token)
    assert device.name == "kiosk-01" and device.counter_id == "Q1" and not device.is_system
    assert tokens.device_for_token(cur, system).is_system
    with pytest.raises(DashboardError, match="already exists"):
        tokens.add_device(cur, "kiosk-01", counter_id="Q2")
    with pytest.raises(DashboardError, match="invalid device name"):
        tokens.add_device(cur, "kiosk 01")


def test_wrong_or_revoked_tokens_find_nothing(cur):
    token = tokens.add_device(cur, "kiosk-02", counter_id="Q2")
    stored_hash = tokens.hash_token(token)
    for wrong in (tokens.new_token(), token[:-1], token + " ", "", None, 42, ["x"], "a" * 100_000, stored_hash):
        assert tokens.device_for_token(cur, wrong) is None, wrong
    assert tokens.revoke_device(cur, "kiosk-02") is True
    assert tokens.device_for_token(cur, token) is None
    assert tokens.revoke_device(cur, "kiosk-02") is False
    with pytest.raises(DashboardError, match="no device 'nope'.*devices list"):
        tokens.revoke_device(cur, "nope")


def test_duty_history_current_and_every_official(cur):
    first, second = _officials(cur)
    tokens.add_device(cur, "kiosk-03", counter_id="Q3")
    assert tokens.duty(cur, "Q3") is None and tokens.duty_officials(cur, "Q3") == set()

    d = tokens.assign_duty(cur, "Q3", first, "queue")
    name, unit = cur.execute("SELECT full_name, unit_id FROM officials WHERE official_id = ?", [first]).fetchone()
    assert d["counter_id"] == "Q3" and d["official_id"] == first and d["full_name"] == name and d["unit_id"] == unit
    assert set(d) == {"counter_id", "official_id", "full_name", "position", "unit_id", "since"}

    assert tokens.assign_device(cur, "kiosk-03", second, "cli:test")["official_id"] == second
    tokens.assign_duty(cur, "Q3", second, "queue")  # the same official again: no new row
    assert tokens.duty(cur, "Q3")["official_id"] == second
    assert tokens.duty_officials(cur, "Q3") == {first, second}
    assert cur.execute("SELECT count(*) FROM counter_duty WHERE counter_id = 'Q3'").fetchone()[0] == 2
    listed = {r["name"]: r for r in tokens.list_devices(cur)}["kiosk-03"]
    assert listed["duty_official_id"] == second and listed["quiet"] is True  # never seen


def test_duty_refuses_unknown_or_inactive_officials_and_system_tokens(cur):
    official = _officials(cur, 1)[0]
    with pytest.raises(DashboardError, match="no official 'CB-NOBODY'.*check the id"):
        tokens.assign_duty(cur, "Q4", "CB-NOBODY", "queue")
    cur.execute("UPDATE officials SET active = false WHERE official_id = ?", [official])
    with pytest.raises(DashboardError, match="not active; choose an active official"):
        tokens.assign_duty(cur, "Q4", official, "queue")
    tokens.add_device(cur, "queue.system")
    with pytest.raises(DashboardError, match="system token"):
        tokens.assign_device(cur, "queue.system", _officials(cur, 1)[0], "cli")
    with pytest.raises(DashboardError, match="no device"):
        tokens.assign_device(cur, "ghost", _officials(cur, 1)[0], "cli")
    assert tokens.duty(cur, "Q4") is None


def test_device_heartbeat_adds_repeats_and_survives_a_concurrent_write(cur):
    tokens.add_device(cur, "kiosk-05", counter_id="Q5")
    tokens.record_device_heartbeat(cur, "kiosk-05", {"build": "1.2", "queue": 3}, 4)
    tokens.record_device_heartbeat(cur, "kiosk-05", {"build": "1.3"}, 2)
    row = {r["name"]: r for r in tokens.list_devices(cur)}["kiosk-05"]
    assert row["ignored_repeats"] == 6 and row["heartbeat"] == {"build": "1.3"} and row["quiet"] is False

    # Another request holds an uncommitted write of the same row: ours is dropped, not raised.
    held = cur.cursor()
    held.execute("BEGIN")
    held.execute("UPDATE devices SET last_seen_at = last_seen_at WHERE name = 'kiosk-05'")
    tokens.record_device_heartbeat(cur, "kiosk-05", {"build": "1.4"}, 1)
    held.execute("COMMIT")
    row = {r["name"]: r for r in tokens.list_devices(cur)}["kiosk-05"]
    assert row["ignored_repeats"] == 6 and row["heartbeat"] == {"build": "1.3"}


def test_displays_add_lookup_heartbeat_and_revoke(cur, demo):
    token = tokens.add_display(cur, "lobby", demo.dept, panels="okr,tiles", rotate_seconds=20)
    display = tokens.display_for_token(cur, token)
    assert (display.name, display.unit_id, display.panels, display.rotate_seconds) == ("lobby", demo.dept, ("okr", "tiles"), 20)
    assert token not in repr(cur.execute("SELECT * FROM displays").fetchall())
    default = tokens.display_for_token(cur, tokens.add_display(cur, "hall", demo.root))
    assert default.panels == tokens.PANELS and default.rotate_seconds == 15

    quiet = {r["name"]: r["quiet"] for r in tokens.list_displays(cur)}
    assert quiet == {"lobby": True, "hall": True}  # no heartbeat yet
    tokens.record_display_heartbeat(cur, "lobby", {"build": "b7", "screen": "1920x1080", "data_version": 12,
                                                   "cookie": "not kept"})
    rows = {r["name"]: r for r in tokens.list_displays(cur)}
    assert rows["lobby"]["quiet"] is False and rows["hall"]["quiet"] is True
    assert rows["lobby"]["heartbeat"] == {"build": "b7", "screen": "1920x1080", "data_version": 12}

    assert tokens.revoke_display(cur, "lobby") and tokens.display_for_token(cur, token) is None
    assert {r["name"]: r["quiet"] for r in tokens.list_displays(cur)}["lobby"] is False  # revoked: not flagged
    assert tokens.display_for_token(cur, tokens.new_token()) is None
    assert tokens.display_for_token(cur, None) is None


def test_display_mistakes_say_what_to_do(cur, demo):
    with pytest.raises(DashboardError, match="no unit 'NOWHERE'.*--unit"):
        tokens.add_display(cur, "d1", "NOWHERE")
    with pytest.raises(DashboardError, match="unknown panel 'map'.*tiles,children,ratings,attention,okr"):
        tokens.add_display(cur, "d1", demo.dept, panels="tiles,map")
    with pytest.raises(DashboardError, match="at least 5"):
        tokens.add_display(cur, "d1", demo.dept, rotate_seconds=2)
    with pytest.raises(DashboardError, match="invalid display name"):
        tokens.add_display(cur, "d/1", demo.dept)
    tokens.add_display(cur, "d1", demo.dept)
    with pytest.raises(DashboardError, match="already exists"):
        tokens.add_display(cur, "d1", demo.dept)
    with pytest.raises(DashboardError, match="no display"):
        tokens.revoke_display(cur, "d2")


# --- the command line ------------------------------------------------------------------------

def test_cli_offline(db, demo):
    proc = run_dashboard("devices", "add", "kiosk-a", "--counter", "Q7", "--db", db)
    assert proc.returncode == 0, proc.stderr
    token = _token(proc.stdout)
    assert "will not be shown again" in proc.stdout

    conn = connect(db)
    official = _officials(conn.cursor(), 1)[0]
    conn.close()
    proc = run_dashboard("devices", "assign", "kiosk-a", official, "--db", db)
    assert proc.returncode == 0 and f"counter Q7: {official}" in proc.stdout, proc.stderr
    proc = run_dashboard("devices", "assign", "kiosk-a", "CB-NOBODY", "--db", db)
    assert proc.returncode == 2 and "no official 'CB-NOBODY'" in proc.stderr

    proc = run_dashboard("displays", "add", "wall", "--unit", demo.dept, "--panels", "tiles,okr",
                         "--rotate-seconds", "30", "--db", db)
    assert proc.returncode == 0, proc.stderr
    display_token = _token(proc.stdout)
    assert f"/display/{display_token}" in proc.stdout
    proc = run_dashboard("displays", "add", "wall2", "--unit", "NOWHERE", "--db", db)
    assert proc.returncode == 2 and "no unit 'NOWHERE'" in proc.stderr, proc.stderr

    proc = run_dashboard("devices", "list", "--json", "--db", db)
    listed = json.loads(proc.stdout)
    assert [(r["name"], r["counter_id"], r["duty_official_id"]) for r in listed] == [("kiosk-a", "Q7", official)]
    assert token not in proc.stdout
    proc = run_dashboard("displays", "list", "--db", db)
    assert "wall" in proc.stdout and "QUIET" in proc.stdout and display_token not in proc.stdout
    proc = run_dashboard("devices", "revoke", "kiosk-a", "--db", db)
    assert proc.returncode == 0 and "revoked" in proc.stdout

    conn = connect(db)
    try:
        cur = conn.cursor()
        assert tokens.device_for_token(cur, token) is None
        assert tokens.display_for_token(cur, display_token).panels == ("tiles", "okr")
    finally:
        conn.close()


def test_cli_while_the_server_holds_the_file(db, demo, tmp_path):
    server = start_server(db, tmp_path / "server.log")
    try:
        proc = run_dashboard("devices", "add", "kiosk-s", "--counter", "Q8", "--db", db)
        assert proc.returncode == 0, proc.stderr
        token = _token(proc.stdout)
        proc = run_dashboard("devices", "add", "gone", "--db", db)
        gone = _token(proc.stdout)
        assert run_dashboard("devices", "revoke", "gone", "--db", db).returncode == 0
        proc = run_dashboard("devices", "list", "--db", db)
        assert proc.returncode == 0 and "kiosk-s" in proc.stdout and "REVOKED" in proc.stdout, proc.stderr

        proc = run_dashboard("displays", "add", "screen", "--unit", demo.root, "--db", db)
        assert proc.returncode == 0, proc.stderr
        display_token = _token(proc.stdout)
        proc = run_dashboard("displays", "add", "bad", "--unit", demo.root, "--panels", "nope", "--db", db)
        assert proc.returncode == 2 and "unknown panel 'nope'" in proc.stderr
        proc = run_dashboard("displays", "list", "--json", "--db", db)
        assert [r["name"] for r in json.loads(proc.stdout)] == ["screen"]
    finally:
        stop_server(server)

    conn = connect(db)
    try:
        cur = conn.cursor()
        assert tokens.device_for_token(cur, token).counter_id == "Q8"
        assert tokens.device_for_token(cur, gone) is None
        assert tokens.display_for_token(cur, display_token).unit_id == demo.root
    finally:
        conn.close()
