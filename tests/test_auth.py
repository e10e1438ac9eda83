"""Access: settings at start-up, the users CLI, sign-in, sessions, CSRF and the deny-by-default gate."""
from __future__ import annotations

import duckdb
import pytest
import requests

from conftest import Login, callback_payload, csrf_from, http_login, run_dashboard
from dashboard import settings
from dashboard.errors import DashboardError

# --- settings -------------------------------------------------------------------------------


def test_every_setting_has_a_default_and_a_comment():
    for s in settings.SETTINGS.values():
        assert s.help.strip(), s.name
        assert s.secret or s.default is not None, s.name
    listed = run_dashboard("settings").stdout
    for name in settings.SETTINGS:
        assert f"THUOCDO_{name}" in listed


@pytest.mark.parametrize("config, environ, hint", [
    ({"PAGE_SIZ": 5}, {}, "Did you mean PAGE_SIZE"),
    ({}, {"THUOCDO_POLL_SECOND": "3"}, "Did you mean POLL_SECONDS"),
    ({"THREADS": "many"}, {}, "is not a int"),
    ({"DEFAULT_LANGUAGE": "fr"}, {}, "not one of vi, en"),
    ({"SECRET_KEY": "x" * 40}, {}, "set it in the environment"),
    ({}, {"THUOCDO_SECRET_KEY": "short"}, "too short"),
])
def test_bad_settings_stop_start_up_with_a_hint(config, environ, hint):
    env = {"THUOCDO_SECRET_KEY": "k" * 40, **environ}
    with pytest.raises(DashboardError, match=hint):
        settings.load(config, environ=env)


def test_server_refuses_to_start_without_a_secret_key(tmp_path):
    proc = run_dashboard("serve", "--db", tmp_path / "x.duckdb", "--port", "1",
                         env={"THUOCDO_SECRET_KEY": None})
    assert proc.returncode == 2
    assert "THUOCDO_SECRET_KEY" in proc.stderr and "--demo" in proc.stderr


@pytest.mark.parametrize("command", [("serve",), ("users", "list")])
def test_a_mistyped_database_path_creates_nothing(tmp_path, command):
    missing = tmp_path / "typo" / "thuocdo.duckdb"
    proc = run_dashboard(*command, "--db", missing, env={"THUOCDO_SECRET_KEY": "k" * 40})
    assert proc.returncode == 2 and "no database at" in proc.stderr
    assert not missing.parent.exists()


def test_server_refuses_a_mistyped_setting(tmp_path):
    proc = run_dashboard("serve", "--db", tmp_path / "x.duckdb", "--port", "1",
                         env={"THUOCDO_SECRET_KEY": "k" * 40, "THUOCDO_TREADS": "4"})
    assert proc.returncode == 2
    assert "Did you mean THREADS" in proc.stderr


# --- the users CLI (database not held by a server) -------------------------------------------


def test_users_cli_manages_logins_with_strong_hashes(demo):
    db = demo.copies["cli"]

    def users(*args, stdin=None):
        return run_dashboard("users", *args, "--db", db, stdin=stdin)

    added = users("add", "truong.phong", "--role", "leader", "--unit", demo.dept, "--password-stdin",
                  stdin="a-Long-pass-123\n")
    assert added.returncode == 0, added.stderr
    assert "truong.phong" in users("list").stdout

    refused = [
        users("add", "x1", "--role", "leader", "--password-stdin", stdin="a-Long-pass-123\n"),   # no unit
        users("add", "x2", "--role", "leader", "--unit", "NO.SUCH", "--password-stdin", stdin="a-Long-pass-123\n"),
        users("add", "x3", "--role", "official", "--password-stdin", stdin="a-Long-pass-123\n"),  # no official
        users("add", "x4", "--role", "analyst", "--password-stdin", stdin="short\n"),
        users("add", "truong.phong", "--role", "admin", "--password-stdin", stdin="a-Long-pass-123\n"),
        users("disable", "nobody"),
    ]
    for proc in refused:
        assert proc.returncode == 2 and proc.stderr.startswith("error: "), (proc.returncode, proc.stderr)

    assert users("set-scope", "truong.phong", "--role", "analyst").returncode == 0
    assert users("set-password", "truong.phong", "--password-stdin", stdin="another-Pass-456\n").returncode == 0
    assert users("disable", "truong.phong").returncode == 0
    listed = users("list", "--json").stdout
    assert '"active": false' in listed and '"role": "analyst"' in listed

    conn = duckdb.connect(str(db), read_only=True)
    stored = conn.execute("SELECT password_hash FROM users WHERE username = 'truong.phong'").fetchone()[0]
    conn.close()
    assert stored.startswith("scrypt:") and "another-Pass-456" not in stored


# --- the gate ---------------------------------------------------------------------------------

GUARDED_GETS = ["/", "/unit/ANY", "/official/ANY", "/okr", "/alerts", "/explore", "/data", "/no/such/page",
                "/assets/10_thuocdo.css", "/_dash-layout", "/_dash-dependencies", "/_reload-hash",
                "/_dash-component-suites/dash/dcc/dash_core_components.js", "/api/data-version", "/_favicon.ico"]


@pytest.mark.parametrize("path", GUARDED_GETS)
def test_nothing_is_served_without_a_session(client, path):
    r = client.get(path)
    if path.startswith(("/_", "/api/")):
        assert r.status_code == 401
    else:
        assert r.status_code in (302, 401)
        if r.status_code == 302:
            assert r.headers["Location"].startswith("/login")


def test_callbacks_need_a_session_and_a_csrf_header(client, auth, demo):
    payload = {"output": "uv-tiles.children", "outputs": {"id": "uv-tiles", "property": "children"},
               "inputs": [{"id": "page-args", "property": "data", "value": {"unit": demo.root}},
                          {"id": "data-version", "property": "data", "value": 1}],
               "changedPropIds": ["page-args.data"], "state": []}
    assert client.post("/_dash-update-component", json=payload).status_code == 401
    auth.login(demo.logins["admin"])
    assert client.post("/_dash-update-component", json=payload).status_code == 403  # no X-CSRFToken
    assert client.post("/_dash-update-component", json=payload, headers={"X-CSRFToken": "forged"}).status_code == 403
    assert auth.callback(payload).status_code == 200


def test_login_form_needs_its_csrf_token(client, demo):
    login = demo.logins["admin"]
    r = client.post("/login", data={"username": login.username, "password": login.password})
    assert r.status_code == 400 and "Biểu mẫu đăng nhập đã hết hạn" in r.get_data(as_text=True)
    assert client.get("/api/data-version").status_code == 401  # not signed in


def test_no_debug_mode_or_dev_tools(app):
    assert app.server.debug is False
    assert not app._dev_tools.ui and not app._dev_tools.serve_dev_bundles


def test_unknown_user_and_wrong_password_get_the_same_answer(client, auth, demo):
    unknown = auth.login(Login("no.such.user", "whatever-Pass-1", "admin"))
    wrong = auth.login(Login(demo.logins["admin"].username, "wrong-Pass-123", "admin"))
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.get_data() == wrong.get_data()


def test_failed_logins_are_throttled_per_username_and_per_address(client, auth, demo):
    admin = demo.logins["admin"]
    for i in range(3):  # LOGIN_MAX_FAILURES is 3 in the in-process app
        assert auth.login(Login(admin.username, f"wrong-{i}-Pass", "admin"), REMOTE_ADDR="10.0.0.1").status_code == 401
    # That address now waits for that name, even with the right password (others need not:
    # tests/test_gate_hardening.py); an unknown name is answered alike.
    right = auth.login(admin, REMOTE_ADDR="10.0.0.1")
    assert right.status_code == 429 and "/login" not in right.headers.get("Location", "")
    for i in range(3):
        auth.login(Login("ghost", f"wrong-{i}-Pass", "admin"), REMOTE_ADDR="10.0.1.1")
    assert auth.login(Login("ghost", "x-Pass-12345", "admin"), REMOTE_ADDR="10.0.1.1").get_data() == right.get_data()
    # A name guessed from many addresses waits for new browsers too (4 x the per-name limit).
    for i in range(9):
        auth.login(Login(admin.username, f"wrong-{i}-Pass", "admin"), REMOTE_ADDR=f"10.0.2.{i}")
    assert auth.login(admin, REMOTE_ADDR="10.0.3.1").status_code == 429
    # One address trying many names is stopped too (4 x the per-name limit).
    for i in range(12):
        auth.login(Login(f"spray{i}", "wrong-Pass-1", "admin"), REMOTE_ADDR="10.9.9.9")
    assert auth.login(demo.logins["analyst"], REMOTE_ADDR="10.9.9.9").status_code == 429
    assert auth.login(demo.logins["analyst"], REMOTE_ADDR="10.9.9.8").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, demo, target):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    login = demo.logins["admin"]
    r = client.post("/login", data={"csrf_token": token, "username": login.username,
                                    "password": login.password, "next": target})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_session_cookie_is_httponly_and_samesite(client, auth, demo):
    r = auth.login(demo.logins["admin"])
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("thuocdo_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_code_is_cached_by_browsers_but_pages_keep_the_session_fresh(client, auth, demo):
    """Scripts and assets neither refresh the session cookie nor vary by it (so a browser
    revalidates plotly's 4.8 MB instead of downloading it again); pages still refresh it."""
    auth.login(demo.logins["admin"])
    for path in ("/assets/10_thuocdo.css", "/_dash-component-suites/dash/dcc/dash_core_components.js"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert not any(h.startswith("thuocdo_session=") for h in r.headers.getlist("Set-Cookie")), path
        assert "Cookie" not in r.headers.get("Vary", ""), path
        if "ETag" in r.headers:  # unchanged: a 304 the browser may keep its copy after
            again = client.get(path, headers={"If-None-Match": r.headers["ETag"]})
            assert again.status_code == 304 and "no-store" not in again.headers.get("Cache-Control", ""), path
    page = client.get("/data")
    assert any(h.startswith("thuocdo_session=") for h in page.headers.getlist("Set-Cookie"))
    assert "Cookie" in page.headers.get("Vary", "")


def test_code_is_gzipped_and_nothing_else_is(client, auth, demo):
    """Scripts and style sheets go gzipped to a browser that accepts it (plotly: 4.8 MB -> about
    1.4 MB), byte for byte the same once unpacked, with the same ETag (a 304 still works);
    pages, callbacks and the API, which carry tokens and data, never are (BREACH)."""
    import gzip as gz

    auth.login(demo.logins["admin"])
    gzip_ok = {"Accept-Encoding": "gzip, deflate, br"}
    for path in ("/_dash-component-suites/plotly/package_data/plotly.min.js", "/assets/10_thuocdo.css"):
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        packed = client.get(path, headers=gzip_ok)
        assert plain.status_code == packed.status_code == 200, path
        assert "Content-Encoding" not in plain.headers and packed.headers["Content-Encoding"] == "gzip", path
        assert gz.decompress(packed.get_data()) == plain.get_data(), path
        assert len(packed.get_data()) < len(plain.get_data()) / 2, path
        assert "Accept-Encoding" in packed.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"], path
        assert int(packed.headers["Content-Length"]) == len(packed.get_data()), path
        if "ETag" in plain.headers:
            assert packed.headers["ETag"] == plain.headers["ETag"], path
            again = client.get(path, headers={**gzip_ok, "If-None-Match": packed.headers["ETag"]})
            assert again.status_code == 304, path
    for path in ("/", "/data", "/api/data-version", "/api/v1/openapi.json"):
        r = client.get(path, headers=gzip_ok)
        assert "Content-Encoding" not in r.headers, path
    token = client.get_cookie("_csrf_token").value
    r = client.post("/_dash-update-component", headers={**gzip_ok, "X-CSRFToken": token, "Origin": "http://localhost"},
                    json=callback_payload([("uv-tiles", "children")], [("page-args", "data", {"unit": demo.dept,
                                          "period": demo.period}), ("data-version", "data", 1)]))
    assert r.status_code == 200 and "Content-Encoding" not in r.headers


# --- the real server ------------------------------------------------------------------------


def test_logout_then_replaying_the_old_cookie_fails(server, demo):
    s = http_login(server.base_url, demo.logins["analyst"])
    assert s.get(server.base_url + "/api/data-version").status_code == 200
    stolen = requests.utils.dict_from_cookiejar(s.cookies)
    token = s.cookies.get("_csrf_token")
    r = s.post(server.base_url + "/logout", data={"csrf_token": token}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")

    replay = requests.Session()
    replay.cookies.update(stolen)
    assert replay.get(server.base_url + "/api/data-version").status_code == 401
    assert replay.get(server.base_url + "/", allow_redirects=False).headers["Location"].startswith("/login")
    r = replay.post(server.base_url + "/_dash-update-component", json={"output": "x.children", "inputs": []},
                    headers={"X-CSRFToken": stolen.get("_csrf_token", "")})
    assert r.status_code == 401


def test_logout_needs_the_csrf_token(server, demo):
    s = http_login(server.base_url, demo.logins["analyst"])
    assert s.post(server.base_url + "/logout", allow_redirects=False).status_code == 403
    assert s.get(server.base_url + "/api/data-version").status_code == 200


def test_demo_mode_prints_working_logins(demo, tmp_path):
    import re
    import shutil

    from conftest import start_server, stop_server
    db = tmp_path / "demo.duckdb"
    shutil.copy(demo.copies["kpis"], db)
    srv = start_server(db, tmp_path / "demo.log", "--demo", env={"THUOCDO_SECRET_KEY": ""})
    try:
        printed = srv.log()
        logins = dict(re.findall(r"^\s+(\S+)\s+(\S+)\s+(?:admin|leader|analyst|official)\s", printed, re.M))
        assert {"admin", "lanhdao", "lanhdao.so", "phantich", "canbo"} <= set(logins)
        s = http_login(srv.base_url, Login("admin", logins["admin"], "admin"))
        assert s.get(srv.base_url + "/api/data-version").status_code == 200
    finally:
        stop_server(srv)
