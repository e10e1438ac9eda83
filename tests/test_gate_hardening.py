"""The gate against hostile requests (issue 12, breaks 5, 6, 7 and 10): body size limits, a login
throttle that slows attackers without locking owners out or growing without bound, same-origin
checks on every state-changing request, and the security headers."""
from __future__ import annotations

import io
import json
import select
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests
from werkzeug.test import EnvironBuilder, run_wsgi_app

from conftest import Auth, Login, browser_login, csrf_from, http_login, settled
from dashboard import auth, users
from dashboard.auth import Throttle
from dashboard.limits import CALLBACK_MAX_BYTES, LOGIN_MAX_BYTES


class CountingStream(io.RawIOBase):
    """A request body that counts what the server reads of it (`size` bytes of 'a')."""

    def __init__(self, size: int):
        self.left, self.read_bytes = size, 0

    def readable(self):
        return True

    def readinto(self, buf):
        n = min(len(buf), self.left)
        buf[:n] = b"a" * n
        self.left -= n
        self.read_bytes += n
        return n


@pytest.fixture
def no_hashing(monkeypatch):
    """Fails the test if a password is checked; returns nothing else."""
    calls = []
    monkeypatch.setattr(users, "authenticate", lambda *a, **k: calls.append(a) or None)
    return calls


def _admin_payload(demo) -> dict:
    return {"output": "uv-tiles.children", "outputs": {"id": "uv-tiles", "property": "children"},
            "inputs": [{"id": "page-args", "property": "data", "value": {"unit": demo.root}},
                       {"id": "data-version", "property": "data", "value": 1}],
            "changedPropIds": ["page-args.data"], "state": []}


# --- 5. request size limits -------------------------------------------------------------------


def _post_stream(client, path: str, body, length: int | None):
    """POST `body` as it is, with `length` as Content-Length (None: a chunked body, ended by the server)."""
    environ = EnvironBuilder(path=path, method="POST", content_type="application/x-www-form-urlencoded").get_environ()
    environ["wsgi.input"] = body
    environ.pop("CONTENT_LENGTH", None)
    if length is None:
        environ["HTTP_TRANSFER_ENCODING"], environ["wsgi.input_terminated"] = "chunked", True
    else:
        environ["CONTENT_LENGTH"] = str(length)
    _, status, _ = run_wsgi_app(client.application.wsgi_app, environ, buffered=True)
    return int(status.split()[0])


def test_a_50_mb_login_body_gets_413_before_a_byte_is_read(client, no_hashing):
    body = CountingStream(50 * 1024 * 1024)
    assert _post_stream(client, "/login", body, 50 * 1024 * 1024) == 413
    assert body.read_bytes == 0 and not no_hashing


def test_a_chunked_login_body_stops_at_the_limit(client, no_hashing):
    body = CountingStream(50 * 1024 * 1024)
    assert _post_stream(client, "/login", body, None) == 413
    assert body.read_bytes <= LOGIN_MAX_BYTES + 64 * 1024 and not no_hashing  # a buffer's worth at most


def test_login_takes_a_normal_form_and_refuses_a_long_one(client, auth, demo, no_hashing):
    token = auth.csrf()
    r = client.post("/login", data={"csrf_token": token, "username": "admin", "password": "x" * (LOGIN_MAX_BYTES + 1)})
    assert r.status_code == 413 and not no_hashing
    r = client.post("/login", data={"csrf_token": token, "username": "admin", "password": "x" * 1000})
    assert r.status_code == 401 and len(no_hashing) == 1


def test_callback_bodies_are_limited_to_1_mib(client, auth, demo):
    auth.login(demo.logins["admin"])
    body = json.dumps(_admin_payload(demo))
    token = client.get_cookie("_csrf_token").value

    def post(padding: int):  # JSON allows any amount of white space
        return client.post("/_dash-update-component", data=body + " " * padding,
                           content_type="application/json", headers={"X-CSRFToken": token})

    assert post(CALLBACK_MAX_BYTES).status_code == 413
    assert post(100_000).status_code == 200  # a large but plausible body still works


def _raw_response(base_url: str, head: bytes, chunks=(), timeout: float = 10) -> bytes:
    """Send a raw request (headers, then body chunks while the server has not answered) and
    return the start of the answer: the server may answer before the body is complete."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as s:
        s.sendall(head)
        for chunk in chunks:
            if select.select([s], [], [], 0)[0]:
                break
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not select.select([s], [], [], 0.1)[0]:
            pass
        return s.recv(200)


def test_real_server_refuses_a_50_mb_login_from_its_headers(server):
    host = urlsplit(server.base_url).netloc.encode()
    started = time.monotonic()
    answer = _raw_response(server.base_url, b"POST /login HTTP/1.1\r\nHost: " + host +
                           b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 52428800\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert time.monotonic() - started < 5  # answered without waiting for the 50 MB


def test_real_server_bounds_a_chunked_body(server):
    host = urlsplit(server.base_url).netloc.encode()
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"a" * 64 * 1024)
    answer = _raw_response(server.base_url, b"POST /login HTTP/1.1\r\nHost: " + host +
                           b"\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
                           chunks=[chunk] * 800)  # 50 MB offered; the server stops it long before
    assert answer.startswith(b"HTTP/1.1 413"), answer
    # Below waitress's own cap, the route's limit answers once the body is in.
    r = requests.post(server.base_url + "/login", data=(b"a" * 1024 for _ in range(100)),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


# --- 6. the login throttle ---------------------------------------------------------------------


def test_throttle_memory_is_bounded_and_refusals_store_nothing():
    now = [0.0]
    throttle = Throttle(3, 60, clock=lambda: now[0], max_keys=100)
    for i in range(1000):
        throttle.retry_after(f"u:{i}" + "x" * 100_000)  # asking creates nothing
    assert len(throttle) == 0
    for i in range(5000):
        throttle.fail(f"u:{i}" + "x" * 100_000)
    assert len(throttle) == 100
    assert all(len(k) == 16 for k in throttle._fails)  # keys are fixed-size hashes, not the names
    throttle.fail("hot")
    for _ in range(50):
        throttle.fail("hot")
    assert len(throttle._fails[Throttle._key("hot")]) <= throttle.most
    assert throttle.retry_after("u:4999" + "x" * 100_000, 1) > 0  # the newest are kept
    now[0] = 61
    for i in range(4900, 5000):
        throttle.retry_after(f"u:{i}" + "x" * 100_000)
    assert len(throttle) == 1  # keys with nothing in the window are dropped ("hot" was not asked about)


def test_huge_usernames_leave_no_trace(client, auth, no_hashing):
    throttle = client.application.extensions["thuocdo_throttle"]
    token = auth.csrf()
    for i in range(30):
        r = client.post("/login", data={"csrf_token": token, "username": f"{i}" + "x" * 15_000, "password": "p"})
        assert r.status_code in (401, 429)
    assert len(throttle) == 1  # only the client address's count; nothing per name
    assert not no_hashing


def test_an_attacker_is_slowed_and_the_owner_still_signs_in(client, app, demo):
    admin = demo.logins["admin"]
    attacker, owner = auth_for(app), auth_for(app)
    for i in range(3):  # LOGIN_MAX_FAILURES is 3 in the in-process app
        assert attacker.login(Login(admin.username, f"wrong-{i}-Pass", "admin"), REMOTE_ADDR="10.66.0.1").status_code == 401
    assert attacker.login(admin, REMOTE_ADDR="10.66.0.1").status_code == 429  # slowed, even if now right
    assert attacker.login(Login(admin.username, "again-Pass-1", "admin"), REMOTE_ADDR="10.66.0.1").status_code == 429
    assert owner.login(admin, REMOTE_ADDR="10.1.2.3").status_code == 302


def test_a_browser_that_signed_in_before_is_never_locked_out(client, app, demo):
    """A wide attack (many addresses, or everyone behind one TLS proxy) holds back new browsers,
    never the owner's own."""
    admin = demo.logins["admin"]
    owner = auth_for(app)
    assert owner.login(admin, REMOTE_ADDR="10.0.0.5").status_code == 302  # gets the known-browser cookie
    owner.client.post("/logout", data={"csrf_token": owner.client.get_cookie("_csrf_token").value})
    attacker = auth_for(app)
    for a in range(4):
        for i in range(3):
            attacker.login(Login(admin.username, f"wrong-{a}-{i}-Pass", "admin"), REMOTE_ADDR=f"10.0.0.{a}")
    assert attacker.login(admin, REMOTE_ADDR="10.0.0.4").status_code == 429    # a new browser waits
    assert auth_for(app).login(admin, REMOTE_ADDR="10.0.0.9").status_code == 429
    assert owner.login(admin, REMOTE_ADDR="10.0.0.0").status_code == 302       # even from the attacker's address
    owner.client.post("/logout", data={"csrf_token": owner.client.get_cookie("_csrf_token").value})
    # The cookie is bound to its user and signed: it neither helps with another name nor can be forged.
    owner.client.set_cookie(auth.KNOWN_COOKIE, owner.client.get_cookie(auth.KNOWN_COOKIE, path="/login").value + "x",
                            path="/login")
    assert owner.login(admin, REMOTE_ADDR="10.0.0.7").status_code == 429


def auth_for(app):
    """An Auth helper on a fresh client (its own cookies)."""
    return Auth(app.server.test_client())


# --- 7. same origin on every state-changing request ----------------------------------------


@pytest.mark.parametrize("headers", [
    {"Origin": "http://127.0.0.1:1"},                      # a page on another port of the same host
    {"Referer": "http://127.0.0.1:1/evil.html"},           # no Origin: the Referer decides
    {"Origin": "null"},                                    # a sandboxed or no-referrer page
    {"Origin": "https://evil.example"},
])
def test_cross_origin_logout_is_refused_even_with_the_csrf_token(server, demo, headers):
    s = http_login(server.base_url, demo.logins["analyst"])
    token = s.cookies.get("_csrf_token")  # readable from any port of the host
    r = s.post(server.base_url + "/logout", data={"csrf_token": token}, headers=headers, allow_redirects=False)
    assert r.status_code == 403
    assert s.get(server.base_url + "/api/data-version").status_code == 200  # still signed in
    r = s.post(server.base_url + "/_dash-update-component", json=_admin_payload(demo),
               headers={"X-CSRFToken": token, **headers})
    assert r.status_code == 403
    r = s.post(server.base_url + "/logout", data={"csrf_token": token}, headers={"Origin": server.base_url},
               allow_redirects=False)
    assert r.status_code == 302  # the dashboard's own page may
    assert s.get(server.base_url + "/api/data-version").status_code == 401


def test_logout_is_post_only(server, demo):
    s = http_login(server.base_url, demo.logins["analyst"])
    # GET /logout is only Dash's not-found page: a link or an <img> cannot sign anyone out.
    assert s.get(server.base_url + "/logout", allow_redirects=False).status_code != 302
    assert s.get(server.base_url + "/api/data-version").status_code == 200


def test_login_from_another_origin_is_refused(client, demo, no_hashing):
    login = demo.logins["admin"]
    token = csrf_from(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"csrf_token": token, "username": login.username, "password": login.password},
                    headers={"Origin": "http://localhost:8051"})
    assert r.status_code == 403 and not no_hashing


def test_configured_public_origins_and_https_behind_a_proxy(client, app, auth, demo, monkeypatch):
    auth.login(demo.logins["admin"])
    payload = _admin_payload(demo)
    token = client.get_cookie("_csrf_token").value

    def post(origin):
        return client.post("/_dash-update-component", json=payload, headers={"X-CSRFToken": token, "Origin": origin})

    assert post("http://localhost").status_code == 200
    checked = app.server.config["THUOCDO"]
    monkeypatch.setitem(app.server.config, "THUOCDO", {**checked, "PUBLIC_ORIGINS": "https://dash.example"})
    assert post("https://dash.example").status_code == 200
    assert post("https://dash.example:8443").status_code == 403
    monkeypatch.setitem(app.server.config, "THUOCDO", {**checked, "COOKIE_SECURE": True})
    assert post("https://localhost").status_code == 200   # the TLS proxy's origin, Host kept
    assert post("http://localhost").status_code == 403


def test_device_calls_without_a_browser_origin_still_pass(client):
    # Bearer tokens are not ambient: a device sends no Origin and gets its token checked (401 here).
    r = client.post("/api/v1/ratings", json=[], headers={"Authorization": "Bearer no-such-token"})
    assert r.status_code == 401
    # The kiosk's own page posts with its cookie from the dashboard's origin.
    client.set_cookie("thuocdo_device", "no-such-token")
    r = client.post("/api/v1/ratings", json=[], headers={"X-Thuocdo-Device": "1", "Origin": "http://localhost"})
    assert r.status_code == 401
    r = client.post("/api/v1/ratings", json=[], headers={"X-Thuocdo-Device": "1", "Origin": "http://localhost:9"})
    assert r.status_code == 403


# --- 10. headers -------------------------------------------------------------------------


def _directives(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}


def test_pages_carry_a_csp_with_hashed_scripts_and_no_framing(client, auth, app, demo):
    for path in ("/login",):
        r = client.get(path)
        assert _directives(r.headers["Content-Security-Policy"])["frame-ancestors"] == ["'none'"]
    auth.login(demo.logins["admin"])
    r = client.get("/")
    csp = _directives(r.headers["Content-Security-Policy"])
    assert csp["script-src"][0] == "'self'" and set(app.csp_hashes()) <= set(csp["script-src"])
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(csp["script-src"])
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert "camera=()" in r.headers["Permissions-Policy"] and "microphone=()" in r.headers["Permissions-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Referrer-Policy"] == "same-origin"


def test_display_and_kiosk_keep_their_own_policies(client):
    for path in ("/display", "/kiosk"):
        r = client.get(path)
        csp = _directives(r.headers["Content-Security-Policy"])
        assert csp["form-action"] == ["'none'"] and csp["script-src"] == ["'self'"], path
        assert r.headers["Referrer-Policy"] == "no-referrer"


def test_server_timing_goes_to_admins_only(client, auth, demo):
    assert "Server-Timing" not in client.get("/login").headers
    auth.login(demo.logins["analyst"])
    assert "Server-Timing" not in client.get("/api/data-version").headers
    client.post("/logout", data={"csrf_token": client.get_cookie("_csrf_token").value})
    auth.login(demo.logins["admin"])
    assert "Server-Timing" in client.get("/api/data-version").headers


CSP_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sourceFile || '')));
"""


def test_pages_run_under_the_csp_in_chromium(browser, server, demo):
    context, page = browser_login(browser, server.base_url, demo.logins["admin"])
    context.add_init_script(CSP_WATCH)
    console = []
    page.on("console", lambda m: console.append(m.text))
    try:
        for path in ("/", f"/unit/{demo.dept}", f"/official/{demo.official}", "/explore", "/alerts", "/okr", "/data"):
            page.goto(server.base_url + path)
            settled(page)
            assert page.evaluate("window.__csp") == [], path
            if path.startswith("/unit/"):  # plotly drew its charts and Dash its tiles under the policy
                page.wait_for_selector(".js-plotly-plot .main-svg", timeout=20_000)  # plotly loads its bundle late
                assert page.locator(".kpi-tile").count() > 0 and page.evaluate("window.__csp") == []
        assert not [m for m in console if "Content Security Policy" in m or "Permissions-Policy" in m], console
        # And the policy holds: a script injected into the page (as an XSS would) does not run.
        page.evaluate("document.body.appendChild(Object.assign(document.createElement('script'), "
                      "{textContent: 'window.__injected = 1'}))")
        page.wait_for_function("window.__csp.length > 0", timeout=5_000)
        assert page.evaluate("window.__injected") is None and "script-src" in page.evaluate("window.__csp")[0]
    finally:
        context.close()
