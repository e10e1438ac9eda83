"""The audit log (dashboard/audit.py): what each event writes, that no request can forge a row or
a log line, that only admins read it, retention, batching, the rotating server log, and the
Dữ liệu page's audit panel in Chromium.

Rows are read after `AuditLog.flush()`, which returns once everything queued before it is in the
table (whether it or the background thread wrote it), so no assertion depends on timing.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import threading
import uuid
from datetime import datetime, timedelta

import pytest
import requests

from conftest import ARTIFACTS, Auth, browser_login, callback_payload, csrf_from, settled
from dashboard import audit, cli, export, tokens

NOT_FOUND = "Trang này không tồn tại hoặc nằm ngoài phạm vi bạn được xem."
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# --- helpers ----------------------------------------------------------------------------------

def _log(app) -> audit.AuditLog:
    return app.server.extensions["thuocdo_audit"]


def _cursor(app):
    return app.server.extensions["thuocdo_db"].cursor()


def _mark(app) -> int:
    """The newest row's id once everything queued so far is written."""
    _log(app).flush()
    cur = _cursor(app)
    try:
        return cur.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
    finally:
        cur.close()


def _since(app, mark: int) -> list[dict]:
    """The rows written after `mark` (everything queued is flushed first), oldest first."""
    _log(app).flush()
    cur = _cursor(app)
    try:
        rows = cur.execute('SELECT id, "at", kind, username, role, client, path, target, detail FROM audit_log '
                           "WHERE id > ? ORDER BY id", [mark]).fetchall()
    finally:
        cur.close()
    keys = ("id", "at", "kind", "username", "role", "client", "path", "target", "detail")
    out = [dict(zip(keys, r)) for r in rows]
    for r in out:
        r["detail"] = json.loads(r["detail"]) if r["detail"] else None
    return out


def _text(r) -> str:
    return json.dumps(r.get_json(), ensure_ascii=False)


def _shape(row: dict) -> tuple:
    return row["kind"], row["username"], row["role"], row["client"], row["path"], row["target"]


def _unit_tiles(unit, period):
    return callback_payload([("uv-tiles", "children")],
                            [("page-args", "data", {"unit": unit, "period": period}), ("data-version", "data", 1)])


def _download(period):
    payload = callback_payload(
        [("explore-download", "data"), ("explore-message", "children")],
        [("explore-csv", "n_clicks", 1), ("explore-xlsx", "n_clicks", None)],
        [("explore-kpi", "value", "on_time_rate"), ("explore-group", "value", "units"),
         ("explore-start", "value", period), ("explore-end", "value", period), ("explore-units", "value", []),
         ("explore-table", "sort_by", [])])
    payload["changedPropIds"] = ["explore-csv.n_clicks"]
    return payload


def _audit_table(kind=None, user=None, start=None, end=None, page=0):
    return callback_payload(
        [("audit-table", "data"), ("audit-table", "page_count"), ("audit-count", "children")],
        [("audit-kind", "value", kind), ("audit-user", "value", user), ("audit-from", "value", start),
         ("audit-to", "value", end), ("audit-table", "page_current", page), ("audit-refresh", "n_clicks", None)])


def _logout(client):
    client.get("/")  # hands the CSRF token to the browser as the _csrf_token cookie
    token = client.get_cookie("_csrf_token")
    return client.post("/logout", headers={"X-CSRFToken": token.value})


# --- what each event writes -----------------------------------------------------------------

def test_login_failed_login_and_logout_each_write_exactly_one_row(app, client, auth, demo):
    leader = demo.logins["leader"]
    mark = _mark(app)
    assert auth.login(leader).status_code == 302
    rows = _since(app, mark)
    assert [_shape(r) for r in rows] == [("login", leader.username, "leader", "127.0.0.1", "/login", "login")]
    assert rows[0]["detail"] is None and abs(rows[0]["at"] - datetime.now()) < timedelta(minutes=5)

    mark = _mark(app)
    assert _logout(client).status_code == 302
    assert [_shape(r) for r in _since(app, mark)] == [("logout", leader.username, "leader", "127.0.0.1", "/logout",
                                                        "logout")]

    mark = _mark(app)
    wrong = auth.login(type(leader)(leader.username, "not-the-password-1", "leader"))
    assert wrong.status_code == 401
    rows = _since(app, mark)
    assert [_shape(r) for r in rows] == [("login_failed", leader.username, None, "127.0.0.1", "/login", "login")]
    assert rows[0]["detail"] == {"reason": "wrong_name_or_password"}


def test_a_leader_asking_for_another_departments_unit_writes_one_denied_row(app, client, auth, demo):
    leader = demo.logins["leader"]
    auth.login(leader)
    mark = _mark(app)
    r = auth.callback(_unit_tiles(demo.other_dept, demo.period))
    assert r.status_code == 200 and NOT_FOUND in _text(r)
    rows = _since(app, mark)
    assert [_shape(r) for r in rows] == [("denied", leader.username, "leader", "127.0.0.1",
                                          "/_dash-update-component", "unit")]
    assert rows[0]["detail"] == {"value": demo.other_dept}


def test_an_export_writes_one_row_naming_its_file_and_rows(app, client, auth, demo):
    analyst = demo.logins["analyst"]
    auth.login(analyst)
    mark = _mark(app)
    r = auth.callback(_download(demo.period))
    assert r.status_code == 200
    sent = r.get_json()["response"]["explore-download"]["data"]
    _, lines = export.read_csv_table(base64.b64decode(sent["content"]))  # the table under its header lines
    rows = _since(app, mark)
    assert [_shape(r) for r in rows] == [("export", analyst.username, "analyst", "127.0.0.1",
                                          "/_dash-update-component", "csv")]
    detail = rows[0]["detail"]
    assert detail["file"] == sent["filename"] == f"thuocdo_on_time_rate_units_{demo.period}_{demo.period}.csv"
    assert detail["rows"] == len(lines) - 1 > 0  # the header line is not a row
    assert (detail["kpi"], detail["group"], detail["start"], detail["end"]) == ("on_time_rate", "units", demo.period,
                                                                               demo.period)


def test_token_refusals_and_uses_write_one_row_per_token_not_per_request(app, client):
    cur = _cursor(app)
    suffix = uuid.uuid4().hex[:8]
    revoked, live = f"audit-revoked-{suffix}", f"audit-live-{suffix}"
    try:
        old_token = tokens.add_device(cur, revoked)
        tokens.revoke_device(cur, revoked)
        live_token = tokens.add_device(cur, live)
    finally:
        cur.close()
    mark = _mark(app)
    for _ in range(3):  # a revoked system token retrying: refused each time, one row
        r = client.post("/api/v1/ratings", json=[{}], headers={"Authorization": f"Bearer {old_token}"})
        assert r.status_code == 401
    rows = _since(app, mark)
    assert [_shape(r) for r in rows] == [("token_refused", None, None, "127.0.0.1", "/api/v1/ratings",
                                          f"device:{revoked}")]
    assert rows[0]["detail"] == {"state": "revoked", "token_sha256": audit.token_hint(old_token), "uses": 1}
    assert old_token not in json.dumps(rows, default=str)  # the token itself is never stored

    mark = _mark(app)
    unknown = "x" * 43
    assert client.post("/api/v1/ratings", json=[{}], headers={"Authorization": f"Bearer {unknown}"}).status_code == 401
    rows = _since(app, mark)
    assert [(r["kind"], r["target"], r["detail"]["state"]) for r in rows] == [("token_refused", "device", "unknown")]
    assert client.post("/api/v1/ratings", json=[], headers={}).status_code == 401  # no token at all: no row
    assert _since(app, rows[0]["id"]) == []

    mark = _mark(app)
    for _ in range(5):  # a live token: its first use writes a row, the next ones are counted for the next row
        r = client.post("/api/v1/ratings", json=[], headers={"Authorization": f"Bearer {live_token}"})
        assert r.status_code == 400  # an empty batch: the token passed, the body did not
    rows = _since(app, mark)
    assert [_shape(r) for r in rows] == [("token_use", None, None, "127.0.0.1", "/api/v1/ratings", f"device:{live}")]
    assert rows[0]["detail"] == {"uses": 1}


def test_user_device_and_display_changes_are_recorded_without_secrets(app, demo):
    cur = _cursor(app)
    try:
        # The demo fixture added its logins with `python -m dashboard users add` (a subprocess).
        added = cur.execute("SELECT username, target, detail FROM audit_log WHERE kind = 'user_change' "
                            "AND target = ?", [f"user:{demo.logins['leader'].username}"]).fetchall()
        assert len(added) == 1 and added[0][0].startswith("cli")
        assert json.loads(added[0][2]) == {"action": "add", "role": "leader", "unit": demo.dept}
        assert demo.logins["leader"].password not in added[0][2]

        mark = _mark(app)
        name = f"audit-screen-{uuid.uuid4().hex[:8]}"
        out, code = cli.run_displays(cur, {"action": "add", "name": name, "unit": demo.dept})
        assert code == 0
        token = re.search(r"token: (\S+)", out).group(1)
        cli.run_displays(cur, {"action": "revoke", "name": name})
        cli.run_displays(cur, {"action": "list"})  # reading changes nothing: no row
        rows = _since(app, mark)
        assert [(r["kind"], r["target"], r["detail"]["action"]) for r in rows] == [
            ("display_change", f"display:{name}", "add"), ("display_change", f"display:{name}", "revoke")]
        assert rows[0]["detail"]["unit"] == demo.dept and token not in json.dumps(rows, default=str)
    finally:
        cur.close()


def test_a_cross_origin_post_is_refused_and_recorded(app, client, auth, demo):
    auth.login(demo.logins["leader"])
    mark = _mark(app)
    r = client.post("/logout%0A2026-12-02%20login", headers={"Origin": "http://evil.example:8050\x1b[2J"})
    assert r.status_code == 403
    rows = _since(app, mark)
    assert [_shape(r) for r in rows] == [("denied", demo.logins["leader"].username, "leader", "127.0.0.1",
                                          "/logout 2026-12-02 login", "origin")]
    assert rows[0]["detail"] == {"method": "POST", "origin": "http://evil.example:8050[2J", "referer": None}


# --- nothing can be forged ---------------------------------------------------------------------

def test_a_hostile_username_and_a_huge_value_are_stored_cut_and_plain(app, client, auth, demo, caplog):
    caplog.set_level(logging.INFO)
    forged_name = "mallory\n2026-12-02 23:00:00 login admin\r\x1b[31m\u2028ok\u202e"
    first = mark = _mark(app)
    r = client.post("/login", data={"csrf_token": auth.csrf(), "username": forged_name, "password": "wrong-password-1",
                                    "next": "/"})
    assert r.status_code == 401
    rows = _since(app, mark)
    assert len(rows) == 1 and rows[0]["kind"] == "login_failed"
    assert rows[0]["username"] == "mallory 2026-12-02 23:00:00 login admin [31m ok"

    auth.login(demo.logins["leader"])
    huge = "A" * 5000 + "\n2026-12-02 login admin\n" + "B" * 5000
    mark = _mark(app)
    r = auth.callback(_unit_tiles(huge, demo.period))
    assert r.status_code in (200, 400) and "A" * 300 not in _text(r)
    rows = _since(app, mark)
    assert [(r["kind"], r["target"]) for r in rows] == [("denied", "unit")]
    value = rows[0]["detail"]["value"]
    assert len(value) == audit.DETAIL_VALUE and value.endswith("…") and set(value[:-1]) == {"A"}

    cur = _cursor(app)
    try:
        stored = cur.execute("SELECT * FROM audit_log WHERE id > ?", [first]).fetchall()
    finally:
        cur.close()
    for row in stored:  # every stored field is one line, without controls
        for value in row:
            if isinstance(value, str):
                assert not _CONTROL.search(value) and len(value.splitlines()) <= 1, value[:80]
    for record in caplog.records:  # and so is every server log line these requests wrote
        message = record.getMessage()
        assert "\n" not in message and "\r" not in message and "\u2028" not in message, message[:200]
        assert len(message) < 1000, message[:200]


def test_field_limits_and_detail_shape():
    row = audit.entry("denied", username="u" * 500, client="c" * 500, path="/p\n" * 500, target="t\x00" * 500,
                      detail={f"k{i}\n": "v\r\n" * 500 for i in range(50)})
    at, kind, username, role, client, path, target, detail = row
    assert (len(username), len(client), len(path), len(target)) == (64, 64, 200, 200)
    assert "\n" not in path and "\x00" not in target and "\n" not in detail
    parsed = json.loads(detail)
    assert len(parsed) == audit.DETAIL_KEYS and all(len(v) <= audit.DETAIL_VALUE for v in parsed.values())
    assert audit.detail_text({"units": ["A"] * 100_000})  # a huge list is shown by a bounded repr
    assert len(json.loads(audit.detail_text({"units": ["A"] * 100_000}))["units"]) <= audit.DETAIL_VALUE


@pytest.mark.parametrize("typed, day", [
    ("02/12/2026", (2026, 12, 2)), ("2/1/2026", (2026, 1, 2)), ("2026-12-02", (2026, 12, 2)), (" 2026-12-02 ", (2026, 12, 2)),
    ("31/02/2026", None), ("2026-13-01", None), ("2026-12-02\n", (2026, 12, 2)), ("٢٠٢٦-١٢-٠٢", None),
    ("2026-12-02' OR 1=1", None), ("", None), (None, None), (["2026-12-02"], None),
])
def test_filter_days_are_read_whole_in_ascii(typed, day):
    from datetime import date
    assert audit._day(typed) == (date(*day) if day else None)


# --- only admins read it ------------------------------------------------------------------------

def test_a_non_admin_cannot_read_the_audit_log_and_is_recorded_trying(app, client, auth, demo):
    leader = demo.logins["leader"]
    auth.login(leader)
    mark = _mark(app)
    r = auth.callback(_audit_table())
    assert r.status_code < 500
    if r.status_code == 200:
        answer = r.get_json()["response"]
        assert answer["audit-table"]["data"] == [] and answer["audit-count"]["children"] == NOT_FOUND
    rows = _since(app, mark)
    assert [_shape(r) for r in rows] == [("denied", leader.username, "leader", "127.0.0.1",
                                          "/_dash-update-component", "page")]
    assert rows[0]["detail"] == {"value": "/data#audit"}

    # An admin sees that very row, filtered by kind and username, as plain text cells.
    admin = Auth(app.server.test_client())
    admin.login(demo.logins["admin"])
    today = datetime.now().strftime("%d/%m/%Y")
    r = admin.callback(_audit_table(kind="denied", user=leader.username.upper(), start=today, end=today))
    assert r.status_code == 200
    answer = r.get_json()["response"]
    data = answer["audit-table"]["data"]
    assert data and all(row["kind"] == "Bị từ chối" for row in data)
    assert all(leader.username in row["username"] for row in data)
    assert any(row["detail"] == "value: /data#audit" for row in data)
    assert all(isinstance(v, str) for row in data for v in row.values())
    assert re.fullmatch(r"[\d.]+ mục", answer["audit-count"]["children"])
    # Malformed filters are ignored, never an error.
    r = admin.callback(_audit_table(kind="DROP TABLE", user=["x"], start="2026-13-45", end="٠٢/١٢/٢٠٢٦", page=10 ** 6))
    assert r.status_code == 200 and r.get_json()["response"]["audit-table"]["data"]


# --- retention, batching, the bounded queue ---------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_retention_deletes_old_rows_at_most_once_a_day(app):
    database = app.server.extensions["thuocdo_db"]
    clock = FakeClock()
    keeper = audit.AuditLog(database, retention_days=30, clock=clock)  # never started: driven by hand
    tag = uuid.uuid4().hex[:8]
    cur = database.cursor()

    def count(name):
        return cur.execute("SELECT count(*) FROM audit_log WHERE username = ?", [name]).fetchone()[0]

    try:
        now = datetime.now()
        audit.write(cur, [audit.entry("login", username=f"old-{tag}", at=now - timedelta(days=31)),
                          audit.entry("login", username=f"recent-{tag}", at=now - timedelta(days=29))])
        keeper.maybe_prune()
        assert (count(f"old-{tag}"), count(f"recent-{tag}")) == (0, 1)

        audit.write(cur, [audit.entry("login", username=f"old2-{tag}", at=now - timedelta(days=40))])
        clock.now += 23 * 3600
        keeper.maybe_prune()  # less than a day since the last delete: nothing
        assert count(f"old2-{tag}") == 1
        clock.now += 2 * 3600
        keeper.maybe_prune()
        assert (count(f"old2-{tag}"), count(f"recent-{tag}")) == (0, 1)
    finally:
        cur.close()


def test_many_denials_are_written_with_few_insert_statements(app, client, auth, demo):
    database = app.server.extensions["thuocdo_db"]
    running = app.server.extensions["thuocdo_audit"]
    held = audit.AuditLog(database)  # not started: the requests' rows wait in its queue
    auth.login(demo.logins["leader"])
    mark = _mark(app)
    app.server.extensions["thuocdo_audit"] = held
    try:
        for _ in range(200):
            assert auth.callback(_unit_tiles(demo.other_dept, demo.period)).status_code == 200
        assert (held.pending(), held.statements) == (200, 0)  # no request wrote to the database
        assert held.flush() == 200
        assert held.statements == 1  # one INSERT for all of them
    finally:
        app.server.extensions["thuocdo_audit"] = running
    rows = _since(app, mark)
    assert len(rows) == 200 and {(r["kind"], r["target"]) for r in rows} == {("denied", "unit")}

    # The thread: rows queued from several threads at once are written in a few batches.
    writer = audit.AuditLog(database, flush_ms=50).start()
    tag = uuid.uuid4().hex[:8]
    try:
        def burst(n):
            for i in range(250):
                writer.add(audit.entry("denied", username=f"burst-{tag}", target="unit", detail={"value": f"{n}-{i}"}))
        threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        done = threading.Event()
        for _ in range(400):  # wait (not assert) for the thread to write them
            if writer.written >= 1000:
                done.set()
                break
            threading.Event().wait(0.05)
        assert done.is_set() and writer.pending() == 0
        assert writer.statements <= 20  # 1,000 rows, a handful of INSERTs (about one per 50 ms tick)
    finally:
        writer.stop()
    cur = database.cursor()
    try:
        assert cur.execute("SELECT count(*) FROM audit_log WHERE username = ?", [f"burst-{tag}"]).fetchone()[0] == 1000
    finally:
        cur.close()


def test_the_queue_is_bounded_and_says_what_it_dropped(app, caplog):
    database = app.server.extensions["thuocdo_db"]
    small = audit.AuditLog(database, queue_max=100)
    tag = uuid.uuid4().hex[:8]
    for i in range(250):
        small.add(audit.entry("denied", username=f"flood-{tag}", detail={"i": i}))
    assert (small.pending(), small.dropped) == (100, 150)
    mark = _mark(app)
    with caplog.at_level(logging.WARNING, logger="thuocdo.audit"):
        assert small.flush() == 101
    assert small.statements == 1
    rows = _since(app, mark)
    kept = [r for r in rows if r["username"] == f"flood-{tag}"]
    assert [r["detail"]["i"] for r in kept] == list(range(150, 250))  # the oldest went first
    overflow = [r for r in rows if r["kind"] == "audit_overflow"]
    assert len(overflow) == 1 and overflow[0]["detail"] == {"dropped": 150, "queue_max": 100}
    assert any("dropped the 150 oldest" in m for m in caplog.messages)


# --- the rotating server log ------------------------------------------------------------------------

def test_the_server_log_rotates_and_keeps_stderr(tmp_path):
    from dashboard import settings
    path = tmp_path / "logs" / "server.log"
    checked = settings.load({"LOG_FILE": str(path), "LOG_MAX_BYTES": 10_000, "LOG_BACKUPS": 2, "DEMO": True}, environ={})
    root = logging.getLogger()
    level = root.level
    handlers = cli.configure_logging(checked)
    try:
        assert any(type(h) is logging.StreamHandler for h in handlers)
        for i in range(300):
            logging.getLogger("thuocdo.test").info("line %d %s", i, "x" * 100)
    finally:
        for h in handlers:
            root.removeHandler(h)
            h.close()
        root.setLevel(level)
    assert path.exists() and (tmp_path / "logs" / "server.log.1").exists()
    assert (tmp_path / "logs" / "server.log.2").exists() and not (tmp_path / "logs" / "server.log.3").exists()
    assert all(p.stat().st_size <= 10_000 for p in (tmp_path / "logs").iterdir())
    assert "line 299" in path.read_text(encoding="utf-8")


def test_the_real_server_logs_to_a_rotating_file_and_writes_its_queue_on_stop(demo, tmp_path):
    import duckdb
    import shutil

    from conftest import start_server, stop_server

    db = tmp_path / "copy.duckdb"
    shutil.copy(demo.copies["cli"], db)
    log_file = tmp_path / "logs" / "thuocdo.log"
    srv = start_server(db, tmp_path / "stderr.log", env={"THUOCDO_LOG_FILE": str(log_file),
                                                          "THUOCDO_AUDIT_FLUSH_MS": "60000"})  # rows wait for the stop
    try:
        s = requests.Session()
        r = s.post(srv.base_url + "/login", data={"csrf_token": csrf_from(s.get(srv.base_url + "/login").text),
                                                   "username": "eve\n2026-12-02 INFO thuocdo.auth: signed in: "
                                                               "username='admin'", "password": "wrong-password-1"})
        assert r.status_code == 401
    finally:
        stop_server(srv)
    written = log_file.read_text(encoding="utf-8")
    line = next(li for li in written.splitlines() if "sign-in failed" in li)
    assert "eve\\n2026-12-02 INFO thuocdo.auth: signed in: " in line  # one line, the newline escaped
    assert not any(li.startswith("2026-12-02 INFO thuocdo.auth: signed in") for li in written.splitlines())
    assert "sign-in failed" in srv.log()  # standard error still has it
    conn = duckdb.connect(str(db), read_only=True)
    try:
        rows = conn.execute("SELECT username, detail FROM audit_log WHERE kind = 'login_failed'").fetchall()
    finally:
        conn.close()
    assert rows == [("eve 2026-12-02 INFO thuocdo.auth: signed in: username='admin'",
                     '{"reason": "wrong_name_or_password"}')]


# --- the Dữ liệu page in Chromium -------------------------------------------------------------------

@pytest.mark.parametrize("size", [(1920, 1080), (390, 844)])
def test_the_audit_panel_in_chromium(browser, server, demo, size):
    # A hostile failed sign-in first: it must show as one plain line in the table.
    s = requests.Session()
    s.post(server.base_url + "/login", data={"csrf_token": csrf_from(s.get(server.base_url + "/login").text),
                                             "username": "eve\n<b>admin</b> [x](http://evil.example)",
                                             "password": "wrong-password-1", "next": "/"})
    context, page = browser_login(browser, server.base_url, demo.logins["admin"], viewport=size)
    try:
        page.goto(server.base_url + "/data")
        settled(page)
        table = page.locator("#audit-table")
        table.scroll_into_view_if_needed()
        # The server writes its queue every second: refresh until the hostile row is there.
        for _ in range(30):
            if "eve <b>admin</b>" in (table.inner_text() or ""):
                break
            page.click("#audit-refresh")
            page.wait_for_timeout(500)
        text = table.inner_text()
        assert "eve <b>admin</b> [x](http://evil.example)" in text  # shown as typed: plain text
        assert page.locator("#audit-table a, #audit-table b, #audit-table .cell-markdown").count() == 0
        headers = page.locator("#audit-table th").all_inner_texts()
        assert any("Thời điểm" in h for h in headers) and any("Người dùng" in h for h in headers)
        assert "Đăng nhập thất bại" in text and "Đăng nhập" in text
        assert page.locator("#audit-kind").count() == 1 and page.locator("#audit-from").count() == 1
        # The panel fits the screen; a wide table scrolls inside its card.
        panel = page.locator(".panel", has=page.locator("#audit-table"))
        assert panel.bounding_box()["width"] <= size[0]
        assert page.locator("#audit-filters").bounding_box()["width"] <= size[0]
        ARTIFACTS.mkdir(exist_ok=True)
        panel.screenshot(path=str(ARTIFACTS / f"audit-panel-{size[0]}x{size[1]}.png"))
    finally:
        context.close()
