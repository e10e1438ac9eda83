"""The office wall display (/display/<token> → /display): the real server on a copy of the demo
database, real Chromium, and a few in-process checks of headers and caching.

The server tests share one server (module scope) on their own copy of the demo database; the
last one stops it and starts it again on the same port. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import shutil
import time
from pathlib import Path
from types import MappingProxyType

import pytest
import requests
from playwright.sync_api import Error as PlaywrightError

from conftest import ARTIFACTS, Server, free_port_pair, run_dashboard, start_server, stop_server

TOKEN_LINE = re.compile(r"^token: (\S+)$", re.M)
AS_OF = re.compile(r"^\d\d:\d\d:\d\d \d\d/\d\d/\d{4}$")
COOKIE = "thuocdo_display"
VIEWPORTS = ((1920, 1080), (1280, 720), (390, 844))


# --- the server ----------------------------------------------------------------------------

def start_server_on(db: Path, log_path: Path, port: int, timeout: float = 120) -> Server:
    """The server on a given port (its push server on the next one, LIVE_PORT -1)."""
    return start_server(db, log_path, timeout=timeout, port=port, env={"THUOCDO_LIVE_PORT": "-1"})


def _add_display(db: Path, name: str, unit: str, *extra) -> str:
    proc = run_dashboard("displays", "add", name, "--unit", unit, *extra, "--db", db)
    assert proc.returncode == 0, proc.stderr
    found = TOKEN_LINE.findall(proc.stdout)
    assert len(found) == 1, proc.stdout
    return found[0]


class Site:
    """The module's server (restarted in place by the last test) and its displays' tokens."""

    def __init__(self, db: Path, log: Path, port: int, tokens: dict[str, str]):
        self.db, self.log, self.port, self.tokens = db, log, port, tokens
        self.server = start_server_on(db, log, port)

    @property
    def base(self) -> str:
        return self.server.base_url

    def session(self, name: str = "tv1") -> requests.Session:
        """A requests session that has opened /display/<token> (so it holds the cookie)."""
        s = requests.Session()
        r = s.get(f"{self.base}/display/{self.tokens[name]}", allow_redirects=False)
        assert r.status_code == 303, r.text[:300]
        return s


@pytest.fixture(scope="module")
def site(demo, tmp_path_factory):
    base = tmp_path_factory.mktemp("display")
    db = base / "d.duckdb"
    shutil.copy(demo.path, db)
    wal = Path(f"{demo.path}.wal")
    if wal.exists():
        shutil.copy(wal, f"{db}.wal")
    tokens = {
        "tv1": _add_display(db, "tv1", demo.dept),
        "tv-revoke": _add_display(db, "tv-revoke", demo.dept, "--rotate-seconds", "5"),
        "tv-other": _add_display(db, "tv-other", demo.other_dept, "--panels", "tiles,ratings"),
    }
    s = Site(db, base / "server.log", free_port_pair(), tokens)
    yield s
    if s.server.proc.poll() is None:
        stop_server(s.server)


# --- the browser ----------------------------------------------------------------------------

def wait_until(page, expression: str, timeout: float = 20.0, poll: float = 0.1):
    """Poll `expression` in the page until it is truthy; returns its value. (The display's CSP
    forbids eval, which Playwright's wait_for_function uses for string predicates.)"""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = page.evaluate(expression)
        except PlaywrightError:  # the page is (re)loading: a new server build reloads it
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {expression}")
        time.sleep(poll)


def open_display(browser, site: Site, name: str = "tv1", viewport=(1920, 1080), fake_clock: bool = False):
    """A fresh browser context provisioned with the display's link; (context, page, messages).
    fake_clock: Playwright's clock, installed before the page loads (time still flows)."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    if fake_clock:
        context.clock.install()
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    page.goto(f"{site.base}/display/{site.tokens[name]}")
    wait_until(page, "window.__display && window.__display.version >= 0 && window.__display.lastUpdate")
    return context, page, messages


def scaled_down(source: Path, target: Path, size: tuple[int, int], browser) -> Path:
    """The screenshot as seen from across a room: scaled down (PIL when installed, else Chromium
    draws it at that size)."""
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is not None:
        Image.open(source).resize(size, Image.LANCZOS).save(target)
        return target
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    data = base64.b64encode(source.read_bytes()).decode("ascii")
    page.set_content(f'<html><body style="margin:0;background:#000"><img style="display:block;width:{size[0]}px;'
                     f'height:{size[1]}px" src="data:image/png;base64,{data}"></body></html>')
    page.wait_for_load_state("load")
    page.screenshot(path=str(target))
    context.close()
    return target


# --- provisioning, the page, the state ------------------------------------------------------

def test_provisioning_moves_the_token_into_an_httponly_cookie(site):
    token = site.tokens["tv1"]
    r = requests.get(f"{site.base}/display/{token}", allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/display"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}={token};")
    for part in ("HttpOnly", "Path=/display", "SameSite=Lax", "Max-Age=315360000"):
        assert part in cookie, cookie
    assert "Secure" not in cookie  # COOKIE_SECURE is off here (see the in-process test for on)
    assert r.headers["Referrer-Policy"] == "no-referrer" and r.headers["Cache-Control"] == "no-store"

    for wrong in ("x" * 43, token[:-1], "a" * 5000):
        denied = requests.get(f"{site.base}/display/{wrong}", allow_redirects=False)
        assert denied.status_code == 403 and "Set-Cookie" not in denied.headers
        assert "chưa được cấp quyền hoặc đã bị thu hồi" in denied.text
    assert requests.get(f"{site.base}/display").status_code == 403  # no cookie: the same page


def test_the_page_shows_the_unit_and_its_tiles_big(browser, site, demo):
    context, page, messages = open_display(browser, site)
    try:
        assert page.url == f"{site.base}/display"  # the token left the address bar
        assert site.tokens["tv1"] not in page.url
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies[COOKIE]["httpOnly"] is True and cookies[COOKIE]["path"] == "/display"
        assert page.evaluate("document.cookie").find(COOKIE) < 0  # out of the script's reach

        state = site.session().get(f"{site.base}/display/api/state").json()
        assert page.locator("#unit-name").inner_text() == state["unit"]["name"]
        assert page.locator("#period-label").inner_text() == state["data"]["period_label"]
        assert page.locator("#as-of").inner_text() == state["as_of"]
        assert "Cập nhật lúc" in page.locator(".updated").inner_text()
        tiles = page.locator("#tiles .tile")
        assert tiles.count() == len(state["data"]["tiles"]["tiles"]) == 6
        for tile in state["data"]["tiles"]["tiles"]:
            shown = page.locator(f'#tiles .tile[data-key="{tile["key"]}"]')
            assert shown.locator(".tile-label").inner_text() == tile["label"]
            assert shown.locator(".tile-main").inner_text() == tile["main"]
        # Readable from across the room: every tile number at least 8 % of a 1080-line screen.
        sizes = page.evaluate("[...document.querySelectorAll('.tile-main')].map("
                              "e => parseFloat(getComputedStyle(e).fontSize))")
        assert min(sizes) >= 87, sizes
        # The rotating panels: the first one shown, the others waiting their turn.
        assert page.evaluate("window.__display.panel") == "children"
        assert page.locator("#panel-children.active .row").count() >= 1
        assert page.evaluate("window.__display.connected") is True
        assert not [m for m in messages if "Content Security Policy" in m or m.startswith("pageerror")], messages
    finally:
        context.close()


def test_screenshots_at_three_sizes_and_from_across_the_room(browser, site):
    ARTIFACTS.mkdir(exist_ok=True)
    for w, h in VIEWPORTS:
        context, page, messages = open_display(browser, site, viewport=(w, h))
        try:
            time.sleep(1.0)  # the panel's fade-in
            path = ARTIFACTS / f"display-{w}x{h}.png"
            page.screenshot(path=str(path))
            assert path.stat().st_size > 10_000
            # Nothing spills out of the screen: a wall display never scrolls.
            assert page.evaluate("document.documentElement.scrollHeight <= innerHeight + 1"), (w, h)
            assert not [m for m in messages if "Content Security Policy" in m], messages
        finally:
            context.close()
    far = scaled_down(ARTIFACTS / "display-1920x1080.png", ARTIFACTS / "display-1920x1080-far-480x270.png",
                      (480, 270), browser)
    assert far.stat().st_size > 1_000


def test_the_page_is_csp_ready_and_sets_text_only(site):
    s = site.session()
    page = s.get(f"{site.base}/display")
    assert page.status_code == 200
    html = page.text
    assert "<style" not in html and " style=" not in html
    assert all('src="' in tag for tag in re.findall(r"<script[^>]*>", html))
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    assert site.tokens["tv1"] not in html
    script = s.get(f"{site.base}/display/static/display.js")
    assert script.status_code == 200
    assert ".innerHTML" not in script.text and ".outerHTML" not in script.text
    assert "insertAdjacentHTML" not in script.text and "document.write" not in script.text
    assert s.get(f"{site.base}/display/static/display.css").status_code == 200


def test_state_is_the_displays_own_unit_only(site, demo):
    s = site.session()
    r = s.get(f"{site.base}/display/api/state")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    state = r.json()
    assert set(state) >= {"unit", "version", "as_of", "build", "rotate_seconds", "panels", "live", "data"}
    assert state["unit"]["unit_id"] == demo.dept and state["unit"]["name"]
    assert isinstance(state["version"], int) and AS_OF.match(state["as_of"]), state["as_of"]
    assert state["rotate_seconds"] == 15
    assert state["panels"] == ["tiles", "children", "ratings", "attention", "okr"]
    assert state["live"] is None or state["live"]["url"].startswith("http")
    data = state["data"]
    assert set(data) >= {"period", "period_label", "running", *state["panels"]}
    assert [t["key"] for t in data["tiles"]["tiles"]] == ["on_time_rate", "completion_rate", "overdue_open",
                                                          "satisfaction_rate", "ratings_count", "pending_evaluations"]
    children = data["children"]["rows"]
    rates = [c["value"] for c in children if c["value"] is not None]
    assert rates == sorted(rates)  # worst first
    assert len(data["attention"]["rows"]) <= 8 and len(data["ratings"]["rows"]) <= 10
    for row in data["ratings"]["rows"]:
        assert set(row) == {"id", "level", "level_text", "tone", "counter", "time", "day", "official"}
        assert re.match(r"^\d\d:\d\d$", row["time"])

    # No parameter can name another unit: the cookie's display decides.
    for query in (f"?unit={demo.other_dept}", f"?unit_id={demo.root}"):
        other = s.get(f"{site.base}/display/api/state{query}").json()
        assert other["unit"]["unit_id"] == demo.dept
    # Another display sees its own unit and only its panels.
    mine = site.session("tv-other").get(f"{site.base}/display/api/state").json()
    assert mine["unit"]["unit_id"] == demo.other_dept and mine["panels"] == ["tiles", "ratings"]
    assert "children" not in mine["data"] and "okr" not in mine["data"]


def test_a_display_cookie_opens_nothing_else(site, demo):
    s = requests.Session()
    s.cookies.set(COOKIE, site.tokens["tv1"], path="/")  # even sent everywhere, it is not a login
    home = s.get(f"{site.base}/", allow_redirects=False)
    assert home.status_code == 302 and "/login" in home.headers["Location"]
    assert s.get(f"{site.base}/unit/{demo.dept}", allow_redirects=False).status_code == 302
    callback = s.post(f"{site.base}/_dash-update-component", json={"output": "x.children", "inputs": []})
    assert callback.status_code == 401
    kpis = s.get(f"{site.base}/api/kpis", params={"unit": demo.dept, "period": demo.period})
    assert kpis.status_code == 401
    assert s.get(f"{site.base}/api/data-version", params={"unit": demo.dept}).status_code == 401
    assert s.get(f"{site.base}/_dash-layout").status_code == 401
    assert s.get(f"{site.base}/display/api/state").status_code == 200  # while its own API answers


def test_heartbeat_needs_its_header_and_is_recorded(site):
    s = site.session()
    url = f"{site.base}/display/api/heartbeat"
    body = {"build": "test-build", "screen": "1920x1080", "data_version": 7}
    assert s.post(url, json=body).status_code == 403                       # no header: a cross-site form
    assert s.post(url, data="x", headers={"X-Thuocdo-Display": "1"}).status_code == 400
    assert requests.post(url, json=body, headers={"X-Thuocdo-Display": "1"}).status_code == 401  # no cookie
    assert s.post(url, json=body, headers={"X-Thuocdo-Display": "1"}).status_code == 204
    assert s.get(url, allow_redirects=False).status_code in (302, 405)  # POST only (a GET falls to the gate)
    proc = run_dashboard("displays", "list", "--json", "--db", site.db)  # through the running server
    assert proc.returncode == 0, proc.stderr
    listed = {d["name"]: d for d in json.loads(proc.stdout)}
    assert listed["tv1"]["heartbeat"] == body and listed["tv1"]["quiet"] is False


# --- new data reaches the screen -------------------------------------------------------------

def test_a_new_rating_in_the_inbox_reaches_the_screen(browser, site, demo):
    inbox, archive = site.db.parent / "inbox", site.db.parent / "archive"
    if not inbox.is_dir():
        pytest.skip("the server does not watch an inbox folder yet (etl/inbox.py not wired into serve)")
    context, page, _ = open_display(browser, site)
    try:
        before = page.evaluate("window.__display.version")
        # Count the glows: a changed tile lights up (class `changed`) without the page reloading.
        page.evaluate("""() => {
            window.__glows = 0; window.__loadedAt = performance.timeOrigin;
            new MutationObserver(list => list.forEach(m => {
                if (m.target.classList && m.target.classList.contains('changed')) { window.__glows++; }
            })).observe(document.getElementById('tiles'), {attributes: true, subtree: true, attributeFilter: ['class']});
        }""")
        now = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).replace(tzinfo=None, microsecond=0)
        rating_id = f"DISPLAY-{int(time.time())}"
        text = ("rating_id,official_id,counter_id,procedure_code,rated_at,level,reason,comment\n"
                f"{rating_id},{demo.official},Q42,,{now.isoformat()},1,cho_lau,\n")
        part = inbox / ".ratings_display.csv.part"
        part.write_text(text, encoding="utf-8")
        os.replace(part, inbox / "ratings_display.csv")  # a rename: the inbox sees complete files only
        deadline = time.monotonic() + 30
        while (inbox / "ratings_display.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        archived = list(archive.rglob("ratings_display*.csv"))
        assert archived, f"the file was not archived:\n{site.server.log()[-2000:]}"

        wait_until(page, f"window.__display.version > {before}", timeout=20)
        wait_until(page, f"!!document.querySelector('#ratings-rows [data-key=\"{rating_id}\"]')", timeout=10)
        row = page.locator(f'#ratings-rows [data-key="{rating_id}"]')
        # (text_content: the ratings panel may be waiting its turn, out of sight)
        assert row.locator(".level").text_content() == "Không hài lòng"
        assert row.locator(".sub").text_content() == "Quầy Q42"
        assert row.locator(".time").text_content() == now.strftime("%H:%M")
        # The running month has data now: the tiles show it, and what changed glowed.
        wait_until(page, "document.getElementById('period-label').textContent === 'tháng này (đang cập nhật)'", 10)
        assert page.locator('#tiles .tile[data-key="ratings_count"]').get_attribute("data-value") == "1"
        assert page.evaluate("window.__glows") >= 1
        assert page.evaluate("performance.timeOrigin === window.__loadedAt")  # no reload for data
    finally:
        context.close()


# --- revoked ------------------------------------------------------------------------------------

def test_a_revoked_display_stops_at_its_next_request(browser, site):
    context, page, _ = open_display(browser, site, "tv-revoke")
    try:
        s = site.session("tv-revoke")
        assert s.get(f"{site.base}/display/api/state").status_code == 200
        proc = run_dashboard("displays", "revoke", "tv-revoke", "--db", site.db)
        assert proc.returncode == 0, proc.stderr
        state = s.get(f"{site.base}/display/api/state")
        assert state.status_code == 401 and state.json()["revoked"] is True
        assert s.get(f"{site.base}/display").status_code == 403
        beat = s.post(f"{site.base}/display/api/heartbeat", json={}, headers={"X-Thuocdo-Display": "1"})
        assert beat.status_code == 401
        assert requests.get(f"{site.base}/display/{site.tokens['tv-revoke']}",
                            allow_redirects=False).status_code == 403
        # The open page learns it at its next request (the push drops a revoked display's stream
        # within 15 s; polling pages at their next poll) and says so.
        wait_until(page, "window.__display.revoked === true", timeout=40)
        assert page.locator("#revoked").is_visible()
        assert "thu hồi" in page.locator("#revoked").inner_text()
        assert not page.locator("#board").is_visible()
        page.screenshot(path=str(ARTIFACTS / "display-revoked-1920x1080.png"))
    finally:
        context.close()


# --- a lost connection (last: it restarts the module's server) ---------------------------------

def test_lost_connection_badge_then_catching_up_by_itself(browser, site):
    context, page, _ = open_display(browser, site, fake_clock=True)
    try:
        wait_until(page, "window.__display.connected === true")
        assert not page.locator("#badge").is_visible()
        shown = page.locator('#tiles .tile[data-key="on_time_rate"] .tile-main').inner_text()
        version = page.evaluate("window.__display.version")

        stopped = time.monotonic()
        stop_server(site.server)
        wait_until(page, "!document.getElementById('badge').hidden", timeout=20)
        assert time.monotonic() - stopped < 16
        badge = page.locator("#badge").inner_text()
        assert re.match(r"^Mất kết nối từ \d\d:\d\d$", badge), badge
        assert page.evaluate("window.__display.connected") is False
        # The last figures stay on screen.
        assert page.locator('#tiles .tile[data-key="on_time_rate"] .tile-main').inner_text() == shown
        page.screenshot(path=str(ARTIFACTS / "display-offline-1920x1080.png"))

        page.clock.fast_forward("31:00")
        wait_until(page, "document.getElementById('badge').textContent.includes('số liệu có thể đã cũ')", 10)

        site.server = start_server_on(site.db, site.log, site.port)  # the same address as before
        wait_until(page, "document.getElementById('badge').hidden && window.__display.connected", timeout=60)
        assert page.evaluate("window.__display.version") >= version
        assert page.url == f"{site.base}/display"
    finally:
        context.close()


# --- in process: headers and caching -------------------------------------------------------------

@pytest.fixture
def inproc_display(app, demo):
    """A display on the in-process app's database; (test client, token, app settings swapper)."""
    from dashboard import tokens

    database = app.server.extensions["thuocdo_db"]
    cur = database.cursor()
    name = f"inproc-{time.monotonic_ns()}"
    token = tokens.add_display(cur, name, demo.dept)
    cur.close()
    original = app.server.config["THUOCDO"]

    def configure(**changes):
        app.server.config["THUOCDO"] = MappingProxyType({**original, **changes})

    yield app.server.test_client(), token, configure
    app.server.config["THUOCDO"] = original


def test_framing_is_allowed_only_to_configured_origins(inproc_display):
    client, token, configure = inproc_display
    client.get(f"/display/{token}")
    page = client.get("/display")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    configure(DISPLAY_FRAME_ANCESTORS="https://signage.example https://player.example:8443")
    for url in ("/display", "/display/api/state", "/display/static/display.css"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert ("frame-ancestors https://signage.example https://player.example:8443"
                in resp.headers["Content-Security-Policy"]), url
        assert "X-Frame-Options" not in resp.headers, url
    assert client.get("/login").headers["X-Frame-Options"] == "DENY"  # everything else: unchanged


def test_secure_cookies_let_a_signage_player_frame_the_page(inproc_display):
    client, token, configure = inproc_display
    configure(COOKIE_SECURE=True)
    cookie = client.get(f"/display/{token}").headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=None" in cookie and "HttpOnly" in cookie


def test_one_build_per_version_for_every_screen(inproc_display, monkeypatch):
    from dashboard.live import display_panels

    client, token, _ = inproc_display
    client.get(f"/display/{token}")
    calls = []
    real = display_panels.build
    monkeypatch.setattr(display_panels, "build", lambda *a, **k: calls.append(a[1:4]) or real(*a, **k))
    first = client.get("/display/api/state").get_json()
    for _ in range(5):  # a thousand screens of one unit: one build (or none: built already)
        assert client.get("/display/api/state").get_json()["data"] == first["data"]
    assert len(calls) <= 1
    built = len(calls)
    client.set_cookie("lang", "en")
    english = client.get("/display/api/state").get_json()
    for _ in range(3):
        client.get("/display/api/state")
    assert len(calls) == built + 1 and english["data"]["tiles"]["tiles"][0]["label"] == "On-time rate"
    assert english["version"] == first["version"]


def test_a_rating_rebuilds_only_the_panels_that_read_ratings(inproc_display, monkeypatch, demo):
    """Under a stream, each screen's scope moves every second or so: a rating rebuilds the tiles,
    the feed and the OKRs, never the units ranking nor the attention list (tasks, evaluations)."""
    from dashboard import cache, db
    from dashboard.live import display, display_panels
    from dashboard.live.display_states import display_states
    from dashboard.live.versions import ScopeVersions
    from dashboard.metrics import lookups

    client, token, _ = inproc_display
    app = client.application
    with app.app_context():
        versions = ScopeVersions(lookups.data_version(db.cursor()))  # a hub of the test's own
    monkeypatch.setattr("dashboard.live.hub", lambda: versions)
    monkeypatch.setattr(display, "hub", lambda: versions)
    built = []
    for name in ("tiles_panel", "children_panel", "ratings_panel", "attention_panel", "okr_panel"):
        real = getattr(display_panels, name)
        monkeypatch.setattr(display_panels, name, lambda *a, _n=name, _f=real, **k: built.append(_n) or _f(*a, **k))
    try:
        client.get(f"/display/{token}")
        first = client.get("/display/api/state").get_json()
        assert set(first["data"]) >= {"tiles", "children", "ratings", "attention", "okr"}
        built.clear()
        versions.apply(versions.version + 1, {demo.dept, demo.root}, kinds=("ratings",))
        after_rating = client.get("/display/api/state").get_json()
        assert after_rating["version"] == first["version"] + 1
        assert sorted(built) == ["okr_panel", "ratings_panel", "tiles_panel"]
        built.clear()
        versions.apply(versions.version + 1, {demo.dept, demo.root}, kinds=("tasks",))
        client.get("/display/api/state")
        assert sorted(built) == ["attention_panel", "children_panel", "okr_panel", "tiles_panel"]
        built.clear()
        versions.apply(versions.version + 1, {demo.other_dept, demo.root}, kinds=("tasks",))
        client.get("/display/api/state")
        assert built == []  # another department's commit: nothing of this screen moved
    finally:
        with app.app_context():
            cache.panel_cache().clear()  # its versions were the test's own
        display_states(app).clear()


def test_a_screen_never_waits_behind_other_screens_builds(app):
    """While a build runs, a screen that has a state gets the newest built at once (with its own
    version) and its newer state is built in the background; a screen with none waits for its own."""
    import threading

    from dashboard.live.display_states import DisplayStates

    states = DisplayStates(app.server)
    assert states.get("A", 1, lambda: "A1") == (1, "A1")       # nothing built yet: built here
    assert states.get("A", 1, lambda: "never") == (1, "A1")    # built: answered from memory
    release, started = threading.Event(), threading.Event()

    def slow_b():
        started.set()
        release.wait(10)
        return "B1"
    other = threading.Thread(target=lambda: states.get("B", 1, slow_b))
    other.start()
    assert started.wait(5)
    began = time.monotonic()
    assert states.get("A", 2, lambda: "A2") == (1, "A1")       # the builder is busy: the older, now
    assert time.monotonic() - began < 1
    release.set()
    other.join(5)
    deadline = time.monotonic() + 5
    while states.get("A", 2, lambda: "A2") != (2, "A2") and time.monotonic() < deadline:
        time.sleep(0.05)                                       # built in the background meanwhile
    assert states.get("A", 2, lambda: "never") == (2, "A2") and states.served_older >= 1
