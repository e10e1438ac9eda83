"""The citizens' counter device, /kiosk/<token>: the real server, the real API, real Chromium.

One server on a copy of the demo database for the module (~10 s to start), one counter device
`kiosk1` at counter Q1 with the demo official on duty. Every rating a page posts is noted
(`Kiosk.sent`); the last test stops the server and checks each one is in the database exactly
once, and nothing else was added for the counter. The revocation test runs just before it.
Pages that wait out a screen (thank-you 4 s, the 5 s double-tap window, the 30 s reason
timeout, backoff) use Playwright's clock instead of sleeping.
"""
from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import requests

from conftest import ARTIFACTS, run_dashboard, start_server, stop_server

COUNTER = "Q1"
RATINGS_URL = "**/api/v1/ratings"
LEVEL_WORDS = {4: "Rất hài lòng", 3: "Hài lòng", 2: "Bình thường", 1: "Không hài lòng"}
SIZES = [(1280, 800), (1920, 1080), (390, 844)]
# Records CSP violations (the page must fit a strict policy: no inline script or style).
CSP_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@dataclass
class Kiosk:
    server: object
    db: Path
    token: str
    official: str
    full_name: str
    baseline: int                                  # ratings of the counter before the server started
    sent: dict = field(default_factory=dict)       # rating_id -> the record a page posted
    undelivered: set = field(default_factory=set)  # ids a page holds that must not be in the database


def _token(output: str) -> str:
    m = re.search(r"^token: (\S+)$", output, re.M)
    assert m, output
    return m.group(1)


@pytest.fixture(scope="module")
def kiosk(demo, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kiosk")
    db = tmp / "k.duckdb"
    shutil.copy(demo.path, db)
    conn = duckdb.connect(str(db), read_only=True)
    try:
        full_name = conn.execute("SELECT full_name FROM officials WHERE official_id = ?", [demo.official]).fetchone()[0]
        baseline = conn.execute("SELECT count(*) FROM ratings WHERE counter_id = ?", [COUNTER]).fetchone()[0]
    finally:
        conn.close()
    server = start_server(db, tmp / "server.log")
    try:
        added = run_dashboard("devices", "add", "kiosk1", "--counter", COUNTER, "--db", db)  # through the control socket
        assert added.returncode == 0, added.stderr
        assigned = run_dashboard("devices", "assign", "kiosk1", demo.official, "--db", db)
        assert assigned.returncode == 0, assigned.stderr
        yield Kiosk(server, db, _token(added.stdout), demo.official, full_name, baseline)
    finally:
        if server.proc.poll() is None:
            stop_server(server)


def _api_ready(kiosk: Kiosk) -> None:
    r = requests.get(kiosk.server.base_url + "/api/v1/device", cookies={"thuocdo_device": kiosk.token},
                     headers={"X-Thuocdo-Device": "1"}, timeout=10)
    if r.status_code == 404:
        pytest.fail("the device API (/api/v1/device) is not wired into the server")
    assert r.status_code == 200, (r.status_code, r.text)


def open_kiosk(browser, kiosk: Kiosk, viewport=(1280, 800), clock: bool = True, token: str | None = None):
    """A fresh browser context provisioned through /kiosk/<token>, waiting on the idle screen."""
    _api_ready(kiosk)
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    if clock:
        page.clock.install()

    def note(request):
        if request.method == "POST" and request.url.endswith("/api/v1/ratings"):
            for record in request.post_data_json:
                kiosk.sent[record["rating_id"]] = record

    page.on("request", note)
    page.goto(f"{kiosk.server.base_url}/kiosk/{token or kiosk.token}")
    page.wait_for_function("() => window.__kiosk && window.__kiosk.screen === 'idle'", timeout=20_000)
    return context, page


def track(page) -> dict:
    """rating_id -> record of every rating this page posts (a retry posts the same record again)."""
    posted: dict = {}

    def note(request):
        if request.method == "POST" and request.url.endswith("/api/v1/ratings"):
            for record in request.post_data_json:
                posted[record["rating_id"]] = record

    page.on("request", note)
    return posted


def screen(page) -> str:
    return page.evaluate("window.__kiosk.screen")


def queue_length(page) -> int:
    return page.evaluate("window.__kiosk.queueLength()")


def wait_screen(page, name: str, timeout: float = 10_000) -> None:
    page.wait_for_function(f"() => window.__kiosk.screen === {name!r}", timeout=timeout)


def wait_delivered(page, sent_count: int, step_ms: int = 0, timeout: float = 20_000) -> None:
    """Until the page's buffer is empty and `sent_count` records have been answered; with
    `step_ms`, the page clock is moved on between checks (to reach a backoff's retry)."""
    check = f"() => window.__kiosk.queueLength() === 0 && window.__kiosk.sentCount === {sent_count}"
    if not step_ms:
        page.wait_for_function(check, timeout=timeout)
        return
    for _ in range(int(timeout / 500)):
        if page.evaluate(check):
            return
        page.clock.fast_forward(step_ms)
        page.wait_for_timeout(500)
    raise AssertionError(f"not delivered: queue {queue_length(page)}, sent {page.evaluate('window.__kiosk.sentCount')}")


def shot(page, state: str, size) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"kiosk-{state}-{size[0]}x{size[1]}.png"
    page.screenshot(path=str(path))
    return path


# --- provisioning and the page ------------------------------------------------------------

def test_provisioning_moves_the_token_into_an_httponly_cookie(browser, kiosk):
    context, page = open_kiosk(browser, kiosk, clock=False)
    try:
        assert page.url == kiosk.server.base_url + "/kiosk"          # the token left the address bar
        assert page.evaluate("performance.getEntriesByType('navigation')[0].name").endswith("/kiosk")
        page.wait_for_selector(f"#official-name:has-text('{kiosk.full_name}')")
        assert page.text_content("#official-name") == kiosk.full_name
        assert page.text_content("#official-initials").strip()
        assert page.is_visible("text=Ông/Bà đánh giá thế nào về cán bộ vừa phục vụ?")
        for level, words in LEVEL_WORDS.items():
            button = page.locator(f"#level-{level}")
            assert button.is_enabled() and button.inner_text().strip() == words
        cookie = next(c for c in context.cookies() if c["name"] == "thuocdo_device")
        assert cookie["value"] == kiosk.token and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        # asked for ten years; Chromium keeps a cookie 400 days at most, and every page load renews it
        assert cookie["path"] == "/" and cookie["expires"] > time.time() + 399 * 86400
        assert "thuocdo_device" not in page.evaluate("document.cookie")
        assert page.evaluate("document.documentElement.lang") == "vi"
        assert page.evaluate("window.__csp") == []
        assert page.is_hidden("#status")                                # online, nothing queued
    finally:
        context.close()


def test_the_html_is_static_strict_csp_and_holds_no_secret(kiosk):
    base, cookies = kiosk.server.base_url, {"thuocdo_device": kiosk.token}
    r = requests.get(base + f"/kiosk/{kiosk.token}", allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"].endswith("/kiosk")
    assert "HttpOnly" in r.headers["Set-Cookie"] and "SameSite=Strict" in r.headers["Set-Cookie"]
    assert "Max-Age=315360000" in r.headers["Set-Cookie"]                # ten years: never signed out
    r = requests.get(base + "/kiosk", cookies=cookies, timeout=10)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert "Max-Age=315360000" in r.headers["Set-Cookie"]                # renewed by every load
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    html = r.text
    assert kiosk.token not in html and kiosk.full_name not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert not re.search(r"\sstyle=|<style|\son[a-z]+=", html), "inline style or handler"
    assert 'lang="vi"' in html
    for asset in re.findall(r'(?:src|href)="(/kiosk/static/[^"]+)"', html):
        assert requests.get(base + asset, timeout=10).status_code == 200   # public: no secret in them


def test_unknown_token_or_no_cookie_gets_the_vietnamese_403(kiosk):
    base = kiosk.server.base_url
    for r in (requests.get(base + "/kiosk/not-a-real-token", allow_redirects=False, timeout=10),
              requests.get(base + "/kiosk", allow_redirects=False, timeout=10),
              requests.get(base + "/kiosk", cookies={"thuocdo_device": "forged"}, allow_redirects=False, timeout=10)):
        assert r.status_code == 403
        assert "Thiết bị chưa được cấp quyền hoặc đã bị thu hồi" in r.text
        assert "Set-Cookie" not in r.headers


# --- rating -------------------------------------------------------------------------------

def test_a_tap_is_a_rating_the_api_loads(browser, kiosk):
    context, page = open_kiosk(browser, kiosk, clock=False)
    try:
        with page.expect_response(lambda r: r.url.endswith("/api/v1/ratings") and r.request.method == "POST",
                                  timeout=10_000) as answer:
            page.click("#level-4")
        assert page.is_visible("text=Cảm ơn Ông/Bà!")
        record = answer.value.request.post_data_json[0]
        body = answer.value.json()
        assert answer.value.status == 200, body
        assert body["results"] == [{"id": record["rating_id"], "result": "loaded", "status": 201,
                                    "detail": body["results"][0]["detail"]}]
        assert record["level"] == 4 and record["counter_id"] == COUNTER and record["official_id"] == kiosk.official
        assert "reason" not in record
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", record["rating_id"]) and record["rating_id"].startswith(COUNTER)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", record["rated_at"])
        wait_delivered(page, 1)
        wait_screen(page, "idle", timeout=8_000)                        # the thank-you screen lasts 4 s
    finally:
        context.close()


def test_a_double_tap_counts_once(browser, kiosk):
    context, page = open_kiosk(browser, kiosk)
    try:
        posted = track(page)
        page.dblclick("#level-3")                                       # a finger that bounces
        wait_delivered(page, 1)
        page.clock.fast_forward(4100)                                   # thank-you over: idle again
        wait_screen(page, "idle")
        ignored = page.evaluate("window.__kiosk.ignoredRepeats")
        page.click("#level-4")                                          # still within 5 s of the rating
        assert page.evaluate("window.__kiosk.ignoredRepeats") == ignored + 1
        assert screen(page) == "thanks"                                 # the citizen sees it was taken
        page.wait_for_timeout(800)
        assert page.evaluate("window.__kiosk.sentCount") == 1 and queue_length(page) == 0
        assert [r["level"] for r in posted.values()] == [3]

        page.clock.fast_forward(5100)                                   # a new citizen, later
        wait_screen(page, "idle")
        # two taps faster than any finger, both reaching the button: one rating, one repeat
        page.evaluate("() => { const b = document.querySelector('#level-4'); b.click(); b.click(); }")
        wait_delivered(page, 2)
        assert page.evaluate("window.__kiosk.ignoredRepeats") == ignored + 2
        page.wait_for_timeout(500)
        assert [r["level"] for r in posted.values()] == [3, 4]

        with page.expect_request(lambda r: r.url.endswith("/api/v1/device/heartbeat"), timeout=10_000) as beat:
            page.clock.fast_forward(30_000)
        assert beat.value.post_data_json["ignored_repeats"] == page.evaluate("window.__kiosk.ignoredRepeats")
        assert beat.value.post_data_json["queued"] == 0
        assert re.fullmatch(r"\d+x\d+", beat.value.post_data_json["screen"])
    finally:
        context.close()


def test_low_ratings_ask_a_reason_and_are_saved_without_one_after_30_s(browser, kiosk):
    context, page = open_kiosk(browser, kiosk)
    try:
        posted = track(page)
        page.click("#level-2")
        wait_screen(page, "reason")
        for code, words in (("cho_lau", "Chờ lâu"), ("nghiep_vu", "Nghiệp vụ chưa tốt"),
                            ("thai_do", "Thái độ chưa tốt"), ("khac", "Khác")):
            assert page.inner_text(f"#reason-{code}").strip() == words
        assert queue_length(page) == 0                                   # nothing saved yet
        page.click("#reason-thai_do")
        wait_screen(page, "thanks")
        wait_delivered(page, 1)
        page.clock.fast_forward(6000)
        wait_screen(page, "idle")
        page.click("#level-1")
        wait_screen(page, "reason")
        page.clock.fast_forward(29_000)
        assert screen(page) == "reason" and queue_length(page) == 0
        page.clock.fast_forward(1500)                                    # nobody answered: saved anyway
        wait_screen(page, "thanks")
        wait_delivered(page, 2)
        assert [(r["level"], r.get("reason")) for r in posted.values()] == [(2, "thai_do"), (1, None)]
    finally:
        context.close()


def test_no_official_on_duty_disables_the_buttons(browser, kiosk):
    added = run_dashboard("devices", "add", "kiosk-empty", "--counter", "Q-EMPTY", "--db", kiosk.db)
    assert added.returncode == 0, added.stderr
    context, page = open_kiosk(browser, kiosk, clock=False, token=_token(added.stdout))
    try:
        page.wait_for_selector("text=Quầy chưa có cán bộ trực")
        assert page.is_hidden("#official")
        for level in LEVEL_WORDS:
            assert page.locator(f"#level-{level}").is_disabled()
        page.click("#level-4", force=True)                               # a tap on a disabled button
        assert screen(page) == "idle" and queue_length(page) == 0
        shot(page, "noduty", (1280, 800))
    finally:
        context.close()


# --- offline ------------------------------------------------------------------------------

def test_offline_ratings_wait_in_local_storage_and_arrive_once(browser, kiosk):
    context, page = open_kiosk(browser, kiosk)
    try:
        context.route(RATINGS_URL, lambda route: route.abort())
        page.click("#level-4")
        page.clock.fast_forward(6000)
        wait_screen(page, "idle")
        page.click("#level-3")
        page.clock.fast_forward(6000)
        wait_screen(page, "idle")
        page.click("#level-1")
        page.click("#reason-cho_lau")
        page.wait_for_function("() => window.__kiosk.queueLength() === 3")
        page.wait_for_selector("#status:has-text('Đang ngoại tuyến · 3 đánh giá chờ gửi')")
        stored = page.evaluate("JSON.parse(localStorage.getItem('thuocdo.kiosk.queue'))")
        assert [r["level"] for r in stored] == [4, 3, 1] and stored[2]["reason"] == "cho_lau"
        assert len({r["rating_id"] for r in stored}) == 3

        page.reload()                                                    # the buffer survives a reload
        page.wait_for_function("() => window.__kiosk && window.__kiosk.screen === 'idle'")
        page.clock.fast_forward(3000)
        assert queue_length(page) == 3
        assert page.evaluate("JSON.parse(localStorage.getItem('thuocdo.kiosk.queue'))") == stored

        context.unroute(RATINGS_URL)
        wait_delivered(page, 3, step_ms=15_000, timeout=60_000)          # the backoff's next retry
        page.wait_for_selector("#status", state="hidden")
        for record in stored:                                            # sent with their original ids and times
            assert kiosk.sent[record["rating_id"]] == record
    finally:
        context.close()


def test_busy_server_and_too_large_batches_are_retried(browser, kiosk):
    """503/429 and a network error: kept and retried with backoff; 413: smaller batches."""
    context, page = open_kiosk(browser, kiosk)
    mode, sizes = {"now": "abort"}, []

    def trouble(route):
        records = route.request.post_data_json
        sizes.append(len(records))
        if mode["now"] == "abort":
            route.abort()
        elif mode["now"] == "busy":
            mode["now"] = "small"
            route.fulfill(status=503, content_type="application/json", body='{"error": "busy"}')
        elif len(records) > 1:
            route.fulfill(status=413, content_type="application/json", body='{"error": "too large"}')
        else:
            route.continue_()

    try:
        context.route(RATINGS_URL, trouble)
        for level in (4, 3, 3):
            page.click(f"#level-{level}")
            page.clock.fast_forward(6000)
            wait_screen(page, "idle")
        assert queue_length(page) == 3
        mode["now"] = "busy"
        sizes.clear()
        wait_delivered(page, 3, step_ms=15_000, timeout=60_000)
        assert sizes[:3] == [3, 3, 1] and set(sizes[2:]) == {1}          # 503, 413, then one at a time
        assert page.is_hidden("#status")
    finally:
        context.close()


# --- screenshots --------------------------------------------------------------------------

def _check_layout(page, size) -> None:
    """Nothing scrolls, every visible button is inside the viewport, big enough, and uncovered."""
    w, h = size
    assert page.evaluate("document.documentElement.scrollHeight") <= h
    assert page.evaluate("document.documentElement.scrollWidth") <= w
    status = page.locator("#status").bounding_box() if page.is_visible("#status") else None
    for button in page.locator("button:visible").all():
        box = button.bounding_box()
        assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= w and box["y"] + box["height"] <= h, box
        if w >= 1024:
            assert box["height"] >= (120 if "level" in (button.get_attribute("class") or "") else 70), box
        else:
            assert box["height"] >= 64, box
        if status:
            apart = (status["x"] >= box["x"] + box["width"] or status["x"] + status["width"] <= box["x"]
                     or status["y"] >= box["y"] + box["height"] or status["y"] + status["height"] <= box["y"])
            assert apart, ("the status line covers a button", status, box)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_screenshots(browser, kiosk, size):
    context, page = open_kiosk(browser, kiosk, viewport=size)
    try:
        page.wait_for_selector(f"#official-name:has-text('{kiosk.full_name}')")
        _check_layout(page, size)
        shot(page, "idle", size)
        sent = page.evaluate("window.__kiosk.sentCount")

        page.click("#level-1")
        wait_screen(page, "reason")
        _check_layout(page, size)
        shot(page, "reason", size)
        page.click("#reason-khac")
        wait_screen(page, "thanks")
        shot(page, "thanks", size)
        wait_delivered(page, sent + 1)

        context.route(RATINGS_URL, lambda route: route.abort())
        page.clock.fast_forward(6000)
        wait_screen(page, "idle")
        page.click("#level-3")
        page.clock.fast_forward(4100)
        wait_screen(page, "idle")
        page.wait_for_selector("#status:has-text('Đang ngoại tuyến · 1 đánh giá chờ gửi')")
        _check_layout(page, size)
        shot(page, "offline", size)
        context.unroute(RATINGS_URL)
        wait_delivered(page, sent + 2, step_ms=15_000, timeout=60_000)
        assert page.evaluate("window.__csp") == []
    finally:
        context.close()


# --- revoked, then the database -----------------------------------------------------------

def test_a_revoked_device_says_so_keeps_its_buffer_and_loses_the_page(browser, kiosk):
    context, page = open_kiosk(browser, kiosk, clock=False)
    try:
        revoked = run_dashboard("devices", "revoke", "kiosk1", "--db", kiosk.db)
        assert revoked.returncode == 0, revoked.stderr
        with page.expect_response(lambda r: r.url.endswith("/api/v1/ratings"), timeout=10_000) as answer:
            page.click("#level-4")
        assert answer.value.status in (401, 403)
        page.wait_for_selector("text=Thiết bị đã bị thu hồi quyền")
        assert page.evaluate("window.__kiosk.revoked") is True
        kept = page.evaluate("JSON.parse(localStorage.getItem('thuocdo.kiosk.queue'))")
        assert len(kept) == 1 and kept[0]["level"] == 4                # kept, never dropped
        kiosk.undelivered.update(r["rating_id"] for r in kept)
        page.wait_for_selector("#revoked-queue:has-text('Còn 1 đánh giá chưa gửi được')")
        assert page.locator("#level-4").is_disabled()
        for size in SIZES:
            page.set_viewport_size({"width": size[0], "height": size[1]})
            shot(page, "revoked", size)

        r = requests.get(f"{kiosk.server.base_url}/kiosk/{kiosk.token}", allow_redirects=False, timeout=10)
        assert r.status_code == 403 and "Thiết bị chưa được cấp quyền hoặc đã bị thu hồi" in r.text
        page.reload()
        assert "Thiết bị chưa được cấp quyền hoặc đã bị thu hồi" in page.content()
        shot(page, "denied", SIZES[-1])
    finally:
        context.close()


def test_every_rating_is_in_the_database_exactly_once(kiosk):
    stop_server(kiosk.server)
    delivered = {i: r for i, r in kiosk.sent.items() if i not in kiosk.undelivered}
    assert len(delivered) >= 10
    conn = duckdb.connect(str(kiosk.db), read_only=True)
    try:
        rows = conn.execute("SELECT rating_id, official_id, counter_id, level, reason, count(*) OVER (PARTITION BY rating_id) "
                            "FROM ratings WHERE counter_id = ?", [COUNTER]).fetchall()
    finally:
        conn.close()
    assert len(rows) == kiosk.baseline + len(delivered)                 # no extra rating from a repeat or retry
    found = {r[0]: r for r in rows}
    for rating_id, record in delivered.items():
        _, official, counter, level, reason, copies = found[rating_id]
        assert (official, counter, level, reason, copies) == (
            record["official_id"], COUNTER, record["level"], record.get("reason"), 1), rating_id
    assert not kiosk.undelivered & set(found)
