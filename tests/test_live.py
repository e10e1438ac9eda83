"""Live updates: per-scope versions, subtree rollups derived from the previous version, and the
push reaching open pages in real Chromium without a reload (and not the pages it does not concern)."""
from __future__ import annotations

import random
import re
import shutil
import socket
import time

import pytest
import requests

from conftest import browser_login, free_port, run_dashboard, screenshot, settled, start_server, stop_server
from dashboard.live.versions import ScopeVersions
from dashboard.metrics import subtrees
from etl.db import connect
from etl.loader import LoadDetails, load_file

TASK_HEAD = "task_id,official_id,title,origin,assigned_at,due_at,completed_at,status,quality_failures,updated_at\n"
RATING_HEAD = "rating_id,official_id,counter_id,procedure_code,rated_at,level,reason,comment\n"


def test_scope_versions():
    v = ScopeVersions(10, clock=lambda: 100.0)
    assert v.of("A").version == 10
    v.apply(11, {"A", "ROOT"})
    v.apply(12, {"B", "ROOT"})
    assert (v.of("A").version, v.of("B").version, v.of("ROOT").version, v.of("C").version) == (11, 12, 12, 10)
    assert [c.version for c in v.changes_after(10)] == [11, 12] and v.changes_after(12) == []
    v.apply(13, None)                                   # a units file: every scope moved
    assert v.of("C").version == v.of("A").version == 13
    v.sync(15)                       # the file is ahead: the writer may be a moment behind...
    assert v.of("A").version == 13
    v._behind_since -= 3             # ...but not for seconds: another path wrote, everything moved
    v.sync(15)
    assert v.of("A").version == 15 and v.changes_after(13) is None   # 14 was never seen: read whole
    assert v.apply(15, {"A"}) is None                   # old news


def test_scope_versions_by_kind():
    """A panel that reads tasks only keeps its version when ratings arrive."""
    v = ScopeVersions(10, clock=lambda: 100.0)
    v.apply(11, {"A", "ROOT"}, kinds=("tasks",))
    v.apply(12, {"A", "ROOT"}, kinds=("ratings",))
    v.apply(13, {"B", "ROOT"}, kinds=("tasks",))
    assert v.of("A").version == 12
    assert (v.of("A", ("tasks",)).version, v.of("A", ("ratings",)).version) == (11, 12)
    assert v.of("A", ("tasks", "evaluations")).version == 11 and v.of("ROOT", ("tasks",)).version == 13
    assert v.of("C", ("tasks",)).version == 10
    v.apply(14, None, kinds=("units",))                 # everything moved, whatever kinds it names
    assert v.of("A", ("ratings",)).version == v.of("C", ("tasks",)).version == 14


def _fields(r: subtrees.SubtreeRollups) -> dict:
    return {"sums": r.sums, "rated": r.rated, "open_due": r.open_due, "hits": r.hits, "people": r.people,
            "unit_hits": {k: sorted(v, key=subtrees.hit_order) for k, v in r.unit_hits.items()},
            "official_hits": {k: sorted(v, key=subtrees.hit_order) for k, v in r.official_hits.items()},
            "descendants": r.descendants, "periods": r.periods}


def test_viewers_asking_for_a_panel_being_built_wait_for_that_build():
    """Under a stream every scope's panels are new each second: one build per key, not one
    per viewer who asks while it runs; a failed build is not cached and the waiter retries."""
    import threading

    from dashboard.cache import PanelCache

    cache, calls, release = PanelCache(10), [], threading.Event()

    def slow():
        calls.append(1)
        release.wait(5)
        return "panel"
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_build("k", slow))) for _ in range(8)]
    for th in threads:
        th.start()
    time.sleep(0.2)
    release.set()
    for th in threads:
        th.join(5)
    assert results == ["panel"] * 8 and len(calls) == 1

    def broken():
        raise ValueError("no")
    with pytest.raises(ValueError):
        cache.get_or_build("bad", broken)
    assert cache.get_or_build("bad", lambda: "fixed") == "fixed"


def test_advancing_the_rollups_equals_reading_them_again(demo, tmp_path):
    """Random task completions, new tasks and ratings (with dissatisfied ones, which move the
    rating_not_supported rule): the previous version with the touched units read again equals
    a full read, after every file."""
    db = tmp_path / "adv.duckdb"
    shutil.copy(demo.path, db)
    conn = connect(db)
    rng = random.Random(7)
    officials = [r[0] for r in conn.execute("SELECT official_id FROM officials WHERE active ORDER BY 1").fetchall()]
    open_tasks = conn.execute("SELECT task_id, official_id, title, origin, assigned_at, due_at FROM tasks "
                              "WHERE status = 'open' ORDER BY task_id").fetchall()
    _, held = subtrees.read(conn)
    for step in range(6):
        path = tmp_path / (f"tasks_{step}.csv" if step % 2 == 0 else f"ratings_{step}.csv")
        if step % 2 == 0:
            lines = [TASK_HEAD]
            for task_id, official, title, origin, assigned, due in rng.sample(open_tasks, 15):
                lines.append(f"{task_id},{official},{title},{origin},{assigned},{due},{due},done,{rng.randint(0, 2)},"
                             f"2026-11-0{step + 1}T10:00:00\n")
            for i in range(5):
                lines.append(f"NEW-{step}-{i},{rng.choice(officials)},Việc mới,registered,2026-10-01,2026-10-1{i},,open,,"
                             f"2026-11-0{step + 1}T10:00:00\n")
        else:
            lines = [RATING_HEAD] + [f"ADV-{step}-{i},{rng.choice(officials[:20])},Q1,,2026-10-{10 + i}T09:00:00,"
                                     f"{rng.choice([1, 1, 2, 4])},,\n" for i in range(20)]
        path.write_text("".join(lines), encoding="utf-8")
        details = LoadDetails()
        entry = load_file(conn, path, details)
        assert entry["loaded"] > 0 and details.touched, entry
        with subtrees.one_snapshot(conn) as own:
            held = subtrees.advance(own, held, details.touched)
        _, fresh = subtrees.read(conn)
        assert _fields(held) == _fields(fresh), f"after {path.name}"
    conn.close()


# --- the push, in real Chromium against the real server ------------------------------------------

@pytest.fixture(scope="module")
def live(demo, tmp_path_factory):
    base = tmp_path_factory.mktemp("live")
    db = base / "live.duckdb"
    shutil.copy(demo.path, db)
    out = run_dashboard("devices", "add", "counter1", "--counter", "Q1", "--db", db)
    token = next(line.split()[-1] for line in out.stdout.splitlines() if line.startswith("token:"))
    assert run_dashboard("devices", "assign", "counter1", demo.official, "--db", db).returncode == 0
    out = run_dashboard("displays", "add", "tv-dept", "--unit", demo.dept, "--db", db)
    display_token = next(line.split()[-1] for line in out.stdout.splitlines() if line.startswith("token:"))
    srv = start_server(db, base / "server.log", env={"THUOCDO_LIVE_PORT": str(free_port())})
    srv.device_token, srv.display_token = token, display_token
    yield srv
    stop_server(srv)


def _open(browser, srv, login, path):
    context, page = browser_login(browser, srv.base_url, login, viewport=(1920, 1080))
    page.goto(srv.base_url + path)
    settled(page)
    page.wait_for_function("() => window.__thuocdoLive && window.__thuocdoLive.connected", timeout=10_000)
    page.evaluate("window.__notReloaded = true")
    return context, page


def _satisfaction(page) -> str:
    return page.get_attribute("#tile-satisfaction_rate", "data-value")


def _poll(page, expression: str, seconds: float = 10):
    """The display's CSP forbids the eval behind wait_for_function: poll with evaluate."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {expression}")


def test_a_rating_reaches_the_pages_of_its_scope_only(browser, live, demo):
    tv_context = browser.new_context(viewport={"width": 1920, "height": 1080})
    tv = tv_context.new_page()
    tv.goto(f"{live.base_url}/display/{live.display_token}")
    _poll(tv, "window.__display && window.__display.connected && window.__display.version > 0")
    tv.evaluate("window.__notReloaded = true")
    tv_version = tv.evaluate("window.__display.version")
    dept = _open(browser, live, demo.logins["leader"], f"/unit/{demo.dept}?period={demo.period}")
    city = _open(browser, live, demo.logins["admin"], f"/unit/{demo.root}?period={demo.period}")
    other = _open(browser, live, demo.logins["admin"], f"/unit/{demo.other_dept}?period={demo.period}")
    before = {name: _satisfaction(p) for name, (_, p) in (("dept", dept), ("city", city))}
    other_calls = other[1].evaluate("window.__callbacks")
    records = [{"rating_id": f"LIVE-{i}", "official_id": demo.official, "counter_id": "Q1",
                "rated_at": f"{demo.period}-15T09:0{i}:00+07:00", "level": 1} for i in range(5)]
    posted = time.monotonic()
    r = requests.post(f"{live.base_url}/api/v1/ratings", json=records, timeout=30,
                      headers={"Authorization": f"Bearer {live.device_token}"})
    assert r.status_code == 200 and r.json()["loaded"] == 5, r.text
    for name, (_, page) in (("dept", dept), ("city", city)):
        page.wait_for_function(f"() => document.querySelector('#tile-satisfaction_rate')"
                               f".getAttribute('data-value') !== {before[name]!r}", timeout=10_000)
        assert page.evaluate("window.__notReloaded") is True, "updated in place, not reloaded"
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
        stamp = page.text_content("#data-as-of")
        assert re.fullmatch(r"Số liệu đến \d\d:\d\d \d\d/\d\d", stamp), stamp
    _poll(tv, f"window.__display.version > {tv_version}")
    feed = tv.evaluate("document.body.textContent")  # the feed may be a rotating panel not shown now
    assert tv.evaluate("window.__notReloaded") is True and "Q1" in feed, "the rating is in the display's feed"
    elapsed = time.monotonic() - posted
    assert elapsed < 10
    screenshot(dept[1], "live-unit-updated-1920x1080")
    tv_context.close()
    time.sleep(1.5)  # the other department's page heard nothing and asked for nothing
    assert other[1].evaluate("window.__callbacks") == other_calls
    for context, _ in (dept, city, other):
        context.close()


def _raw_get(port: int, path: str, origin: str | None) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        extra = f"Origin: {origin}\r\n" if origin else ""
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode())
        return s.recv(4096).decode("latin-1")


def test_the_push_refuses_forged_subscriptions_and_foreign_origins(live, browser, demo):
    port = _live_port(live)
    assert _raw_get(port, "/events?s=forged", None).startswith("HTTP/1.1 403")
    assert _raw_get(port, "/other", None).startswith("HTTP/1.1 404")
    context, page = _open(browser, live, demo.logins["leader"], f"/unit/{demo.dept}?period={demo.period}")
    url = page.evaluate("window.__thuocdoLive.url")
    path = url.split(f":{port}", 1)[1]
    assert _raw_get(port, path, "http://evil.example").startswith("HTTP/1.1 403")
    ok = _raw_get(port, path, live.base_url)
    assert ok.startswith("HTTP/1.1 200") and "text/event-stream" in ok and "event: version" in ok
    # Signed out: the subscription no longer opens a stream.
    page.click("#logout-button")
    page.wait_for_url("**/login**")
    assert _raw_get(port, path, live.base_url).startswith("HTTP/1.1 401")
    context.close()


def _live_port(srv) -> int:
    import re
    return int(re.search(r"push: http://[^:]+:(\d+)", srv.log()).group(1))


def test_the_server_keeps_serving_past_1024_open_streams(live):
    """The push holds a socket per open screen: with more than select()'s 1,024 file descriptors
    open, waitress must still answer (it polls instead), and the push must still accept."""
    port = _live_port(live)
    idle = []
    try:
        for _ in range(1100):  # connected but silent: held until the push's 10 s read timeout
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(0.5)
        for _ in range(5):
            assert requests.get(live.base_url + "/login", timeout=10).status_code == 200
        assert _raw_get(port, "/events?s=forged", None).startswith("HTTP/1.1 403")
        assert live.proc.poll() is None
    finally:
        for s in idle:
            s.close()
