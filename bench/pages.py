"""Page benchmark: server time of every page's callbacks, and the pages as Chromium draws them.

Runs the real server (`python -m dashboard serve`) on the given database and measures, in the
same run:
- every page's callbacks (the pages router plus each panel) as the server reports them in its
  Server-Timing header: the first build of each (callback, unit) with a cold panel cache is the
  baseline, the same requests again are what every later viewer gets (same data version);
- in Debian's Chromium, from navigation to fully drawn (bench/_browser.py: no request in flight
  and no chart changing for 50 ms, every chart and the page's tables drawn, nothing loading):
  - unit pages never opened before (cold) and again (warm);
  - the floor: bench/floor_app.py, a minimal Dash app of the unit page's shape (same callbacks
    in the same chain, charts and tables, static data) on its own waitress, loaded the same way
    and in turn with the unit pages; the unit page's times are printed as multiples of its times;
  - drill-downs: a real click on a child unit (children table) or an official (ranking table)
    of a loaded unit page, from the mouse button going down until the page it opens is drawn
    (cold targets, then again warm);
  - the OKR page at city scope and every other page (overview, alerts, explore, data, official);
- where the time goes, from the browser's side: each load's timeline (scripts, Dash's start,
  the router, the last callback, the charts), callback round trips and their chained depth,
  main-thread long tasks, and the JavaScript a first visit downloads (as served, and gzipped).

Targets: warm callback p95 <= 150 ms; rendered unit page p95 <= 2 s and <= 1.3x the floor;
drill-down p95 <= 0.6 s; OKR page at city scope p95 <= 2 s.

    python -m etl demo --scale city --db data/city.duckdb    # once, about 5 minutes
    python bench/pages.py --db data/city.duckdb
    python bench/pages.py --db data/city.duckdb --targets 4 --repeats 3 --browser-units 4 \
        --floor-loads 8 --drill-clicks 4 --page-loads 3         # about 2 minutes

It adds (or resets) a login `bench.admin` in the database; nothing else is written. Results go
to bench/results/pages-*.json (the server's log to pages-server.log, the floor's to pages-floor.log).
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from bench._browser import INSTRUMENT, LoadFailed, timed_click, timed_load, wait_drawn  # noqa: E402
from conftest import CHROMIUM_ARGS, TRACK_FETCH, csrf_from, free_port, start_server, stop_server  # noqa: E402
from conftest import callback_payload as payload  # noqa: E402
from dashboard.metrics import lookups  # noqa: E402
from dashboard.metrics.definitions import previous_period  # noqa: E402

USER = "bench.admin"


# --- helpers ---------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def router(path: str, search: str = ""):
    return payload([("_pages_content", "children"), ("_pages_store", "data")],
                   [("_pages_location", "pathname", path), ("_pages_location", "search", search)])


def panels(kind: str, target: str, period: str) -> dict[str, dict]:
    """The panel callbacks of a unit or official page, by name."""
    args = [("page-args", "data", {kind: target, "period": period}), ("data-version", "data", 0)]
    if kind == "unit":
        return {"unit: what needs attention": payload([("uv-attention", "children")], args),
                "unit: tiles": payload([("uv-tiles", "children")], args),
                "unit: children": payload([("uv-children", "children")], args),
                "unit: treemap": payload([("uv-tree", "children")], args),
                "unit: trends (3 charts)": payload([("uv-trend-rates", "children"), ("uv-trend-score", "children"),
                                                    ("uv-ratings", "children")], args),
                "unit: officials ranked (page 1)": payload(
                    [("ranking-table", "data"), ("ranking-table", "page_count"), ("ranking-count", "children"),
                     ("ranking-sort-note", "children")],
                    args + [("ranking-table", "page_current", 0), ("ranking-table", "sort_by", []),
                            ("ranking-list", "value", "all")]),
                "unit: rule items": payload([("uv-rules", "children")], args)}
    return {"official: tiles": payload([("ov-tiles", "children")], args),
            "official: charts": payload([("ov-scores", "children"), ("ov-satisfaction", "children")], args),
            "official: tasks": payload([("ov-tasks", "children")], args),
            "official: citizens' feedback (page 1)": payload(
                [("ov-feedback-table", "data"), ("ov-feedback-table", "page_count"), ("ov-feedback-count", "children"),
                 ("ov-feedback-counter", "options")],
                args + [("ov-feedback-level", "value", None), ("ov-feedback-counter", "value", None),
                        ("ov-feedback-table", "page_current", 0)]),
            "official: evaluations": payload([("ov-history", "children")], args)}


def scope_pages(unit: str, period: str, start: str) -> dict[str, dict]:
    return {
        "okr: objectives (page 1)": payload(
            [("okr-tree", "children"), ("okr-pager", "max_value"), ("okr-pager", "active_page"),
             ("okr-status", "options"), ("okr-count", "children"), ("okr-url", "search")],
            [("page-args", "data", {"unit": unit, "period": period}), ("data-version", "data", 0),
             ("okr-status", "value", "all"), ("okr-sort", "value", "status"), ("okr-pager", "active_page", 1)],
            [("okr-url", "search", "")]),
        "alerts: table (page 1)": payload(
            [("alerts-table", "data"), ("alerts-table", "page_count"), ("alerts-count", "children"),
             ("alerts-url", "search")],
            [("page-args", "data", {"unit": unit, "period": period}), ("alerts-unit", "value", unit),
             ("alerts-rule", "value", None), ("alerts-table", "page_current", 0), ("alerts-table", "sort_by", []),
             ("data-version", "data", 0)],
            [("alerts-url", "search", "")]),
        "explore: level 2, 3 months": payload(
            [("explore-table", "data"), ("explore-table", "columns"), ("explore-table", "page_count"),
             ("explore-chart", "children"), ("explore-count", "children"), ("explore-url", "search")],
            [("explore-kpi", "value", "on_time_rate"), ("explore-group", "value", "level_2"),
             ("explore-start", "value", start), ("explore-end", "value", period), ("explore-units", "value", [unit]),
             ("explore-table", "page_current", 0), ("explore-table", "sort_by", []), ("data-version", "data", 0)],
            [("explore-url", "search", "")]),
        "data: all panels": payload([("data-freshness", "children"), ("data-quarantine", "children"),
                                     ("data-ledger", "children"), ("data-examples", "children")],
                                    [("data-version", "data", 0)]),
    }


class Client:
    def __init__(self, base: str, password: str):
        self.base, self.s = base, requests.Session()
        token = csrf_from(self.s.get(base + "/login").text)
        r = self.s.post(base + "/login", data={"csrf_token": token, "username": USER, "password": password},
                        allow_redirects=False)
        assert r.status_code == 302, r.text[:200]

    def call(self, body: dict) -> float:
        """Server milliseconds of one callback (Server-Timing)."""
        r = self.s.post(self.base + "/_dash-update-component", json=body,
                        headers={"X-CSRFToken": self.s.cookies.get("_csrf_token")})
        r.raise_for_status()
        assert "nằm ngoài phạm vi" not in r.text, "the bench user cannot see this target"
        return float(re.search(r"dur=([\d.]+)", r.headers["Server-Timing"]).group(1))


# --- setup -------------------------------------------------------------------------------------

def data_size(db: Path) -> dict:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        sizes = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("units", "officials", "tasks", "ratings", "evaluations", "objectives", "key_results")}
        cur = conn.cursor()
        period = lookups.default_period(cur)
        root = lookups.roots(cur)[0]["unit_id"]
        units = [r[0] for r in cur.execute(
            "SELECT unit_id FROM scope_month WHERE period = ? AND unit_id IN (SELECT unit_id FROM units WHERE parent_id "
            "IN (SELECT unit_id FROM units WHERE parent_id = ?)) ORDER BY tasks_due DESC, unit_id", [period, root]).fetchall()]
        departments = [r[0] for r in cur.execute(  # where drill-downs start: they have children
            "SELECT unit_id FROM scope_month WHERE period = ? AND unit_id IN (SELECT parent_id FROM units WHERE "
            "parent_id IN (SELECT unit_id FROM units WHERE parent_id = ?)) ORDER BY tasks_due DESC, unit_id",
            [period, root]).fetchall()]
        officials = [r[0] for r in cur.execute(
            "SELECT official_id FROM official_month WHERE period = ? ORDER BY tasks_due DESC, official_id LIMIT 40",
            [period]).fetchall()]
    finally:
        conn.close()
    sizes["file_mb"] = round(db.stat().st_size / 1e6)
    return {"sizes": sizes, "period": period, "root": root, "units": units, "departments": departments,
            "officials": officials}


def dashboard_cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "dashboard", *map(str, args)], cwd=REPO, input=stdin, text=True,
                          capture_output=True)


# --- measurements ----------------------------------------------------------------------------------

def measure_callbacks(client: Client, info: dict, repeats: int, targets: int) -> dict[str, dict]:
    """name -> {'cold': [ms…], 'warm': [ms…]}: first build per target, then `repeats` more of each.
    A unit or official layout builds its panels (dashboard/callbacks.py fill), so the panel
    callbacks (what an open page calls when the data version moves) are timed on other targets."""
    period, root = info["period"], info["root"]
    start = previous_period(period, 2)
    results: dict[str, dict] = {}

    def run(name, bodies):
        rec = results.setdefault(name, {"cold": [], "warm": []})
        for body in bodies:
            rec["cold"].append(client.call(body))
        for _ in range(repeats):
            for body in bodies:
                rec["warm"].append(client.call(body))

    units, officials = info["units"][:targets], info["officials"][:targets]
    run("router: overview layout", [router("/", f"?period={period}")])
    run("router: unit layout", [router(f"/unit/{u}", f"?period={period}") for u in units])
    run("router: official layout", [router(f"/official/{o}", f"?period={period}") for o in officials])
    units, officials = info["units"][-targets:], info["officials"][-targets:]  # not opened by anything else
    for unit in units:
        for name, body in panels("unit", unit, period).items():
            rec = results.setdefault(name, {"cold": [], "warm": []})
            rec["cold"].append(client.call(body))
    for official in officials:
        for name, body in panels("official", official, period).items():
            results.setdefault(name, {"cold": [], "warm": []})["cold"].append(client.call(body))
    for _ in range(repeats):
        for unit in units:
            for name, body in panels("unit", unit, period).items():
                results[name]["warm"].append(client.call(body))
        for official in officials:
            for name, body in panels("official", official, period).items():
                results[name]["warm"].append(client.call(body))
    for name, body in scope_pages(root, period, start).items():
        run(name, [body])
    return results


# --- in the browser ------------------------------------------------------------------------------

# What each page shows once drawn (bench/_browser.py READY adds the checks every page shares).
UNIT = {"charts": 4, "counts": {".kpi-tile": 7},
        "present": ["#children-table td, #uv-children .empty-note", "#ranking-table td"]}
FLOOR = {**UNIT, "after_router": 1}  # its panels come by callbacks chained after the router
OVERVIEW = {"charts": 4, "counts": {".kpi-tile": 7}, "present": ["#children-table td, #uv-children .empty-note"]}
OFFICIAL = {"charts": 1, "present": ["#ov-tiles .kpi-tile", "#ov-tasks > *", "#ov-history > *"]}
OKR = {"present": ["#okr-tree > *"]}
OTHER_PAGES = {  # name -> (path: {p} the period, {o} an official; what it shows)
    "overview /": ("/?period={p}", OVERVIEW),
    "alerts": ("/alerts?period={p}", {"present": ["#alerts-count:not(:empty)"]}),
    "explore": ("/explore", {"charts": 1, "present": ["#explore-table td"]}),
    "data": ("/data", {"present": ["#data-freshness > *", "#data-ledger > *"]}),
    "official /official/<id>": ("/official/{o}?period={p}", OFFICIAL),
}


class Tab:
    """One Chromium page with its own context (cache, cookies), signed in when given a
    password; keeps the console's errors and the loads that were never drawn, and goes on."""

    def __init__(self, chromium, base: str, password: str | None = None):
        self.base, self.errors, self.failures = base, {}, []
        self.context = chromium.new_context(viewport={"width": 1600, "height": 1000})
        self.context.add_init_script(TRACK_FETCH)
        self.context.add_init_script(INSTRUMENT)  # after TRACK_FETCH: it wraps that wrapper
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self._error(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self._error(f"uncaught: {e}"))
        self.first_visit = None
        if password:
            self.page.goto(base + "/login")
            self.page.fill("#username", USER)
            self.page.fill("#password", password)
            started = time.perf_counter()
            self.page.click("#login-button")
            self.page.wait_for_url(re.compile(r".*/(\?.*)?$"))
            # the overview with an empty browser cache: what a first visit downloads
            self.first_visit = self._attempt(lambda: wait_drawn(self.page, OVERVIEW, started, "first visit", 60_000))

    def _error(self, text: str) -> None:
        where = re.sub(r"/(unit|official)/[^/?#]+", r"/\1/<id>", re.sub(r"^https?://[^/]+|\?.*$", "", self.page.url))
        key = f"{where}: {text[:200]}"
        self.errors[key] = self.errors.get(key, 0) + 1

    def _attempt(self, run) -> dict | None:
        try:
            return run()
        except LoadFailed as e:
            print(f"  ! {e}", flush=True)
            self.failures.append({"what": str(e).split(":")[0], "state": e.state})
            return None

    def load(self, path: str, spec: dict) -> dict | None:
        return self._attempt(lambda: timed_load(self.page, self.base + path, spec))

    def click(self, selector: str, spec: dict) -> dict | None:
        return self._attempt(lambda: timed_click(self.page, selector, spec))

    def close(self) -> None:
        self.context.close()


def unit_loads(tab: Tab, units: list[str], period: str, floor: Floor | None, floor_loads: int) -> dict:
    """Unit pages from navigation to fully drawn: first visit of each unit (cold), then again
    (warm). A floor load goes before each (while `floor_loads` last), the rest after, so the
    floor and the page it is the floor of see the same machine (other work on it moves both)."""
    out = {"cold": [], "warm": []}
    for phase in out:
        for unit in units:
            if floor and len(floor.loads) < floor_loads:
                floor.load()
            out[phase].append(tab.load(f"/unit/{unit}?period={period}", UNIT))
    while floor and len(floor.loads) < floor_loads:
        floor.load()
    return out


def drill_downs(tab: Tab, starts: list[str], period: str, clicks: int, visited: set[str]) -> dict:
    """Inside a loaded unit page, a real click on a child unit (children table) or an official
    (ranking table) until the page it opens is drawn: targets never opened before (cold),
    then the same clicks again (warm). Where the links go: `visited` paths are skipped."""
    out = {}
    for kind, table, spec in (("unit", "#children-table", UNIT), ("official", "#ranking-table", OFFICIAL)):
        rec = out[kind] = {"cold": [], "warm": []}
        done = []
        for i in range(clicks):
            start = f"/unit/{starts[i % len(starts)]}?period={period}"
            if tab.load(start, UNIT) is None:
                continue
            hrefs = tab.page.eval_on_selector_all(f"{table} a[href]", "els => els.map(e => e.getAttribute('href'))")
            href = next((h for h in hrefs if h.split("?")[0] not in visited), None)
            if href is None:
                continue
            visited.add(href.split("?")[0])
            done.append((start, href))
            rec.setdefault("link", tab.page.eval_on_selector(f'{table} a[href="{href}"]', "e => e.outerHTML"))
            rec["cold"].append(tab.click(f'{table} a[href="{href}"]', {**spec, "path": href.split("?")[0]}))
        for start, href in done:
            if tab.load(start, UNIT) is not None:
                rec["warm"].append(tab.click(f'{table} a[href="{href}"]', {**spec, "path": href.split("?")[0]}))
    return out


def other_pages(tab: Tab, info: dict, official: str, loads: int) -> dict:
    """The OKR page at city scope, `loads` times, and every other page `loads` times."""
    period = info["period"]
    out = {"okr (city scope)": [tab.load(f"/okr?unit={info['root']}&period={period}", OKR) for _ in range(loads)]}
    for name, (path, spec) in OTHER_PAGES.items():
        out[name] = [tab.load(path.format(p=period, o=official), spec) for _ in range(loads)]
    return out


def js_sizes(session: requests.Session, urls: list[str]) -> dict:
    """The scripts a first visit fetched, fetched again (requests asks for gzip, as a browser
    does): bytes, what gzip (level 6) would make of them, and the headers that decide
    compression and caching."""
    raw = packed = 0
    encodings, vary, no_max_age, cookies = set(), set(), [], 0
    for url in urls:
        r = session.get(url)
        raw, packed = raw + len(r.content), packed + len(gzip.compress(r.content, 6))
        encodings.add(r.headers.get("Content-Encoding", "none"))
        vary.add(r.headers.get("Vary", "-"))
        cookies += "Set-Cookie" in r.headers  # with Vary: Cookie, a new cookie each time misses the cache
        if "max-age" not in r.headers.get("Cache-Control", ""):
            no_max_age.append(url.rsplit("/", 1)[-1].split("?")[0])
    return {"files": len(urls), "bytes": raw, "gzip": packed, "content_encoding": sorted(encodings),
            "vary": sorted(vary), "set_cookie": cookies, "no_max_age": no_max_age}


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer (exit code {proc.poll()}); see bench/results/pages-floor.log")


class Floor:
    """The floor (bench/floor_app.py) on its own waitress process, and a tab on it that has
    made a first visit (empty browser cache); `load()` times one full load as the unit page's."""

    def __init__(self, chromium, threads: int, log_path: Path):
        port = free_port()
        with open(log_path, "a", encoding="utf-8") as log:
            self.proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "floor_app.py"), "--port", str(port),
                                          "--threads", str(threads)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        self.base, self.tab, self.loads = f"http://127.0.0.1:{port}", None, []
        try:
            wait_up(self.base + "/unit/floor", self.proc)
            self.tab = Tab(chromium, self.base)
            self.first_visit = self.tab.load("/unit/floor", FLOOR)
        except BaseException:
            self.close()
            raise

    def load(self) -> None:
        self.loads.append(self.tab.load("/unit/floor", FLOOR))

    def result(self) -> dict:
        js = self.first_visit["js"]["urls"] if self.first_visit else []
        return {"first_visit": self.first_visit, "loads": self.loads, "js": js_sizes(requests.Session(), js),
                "errors": self.tab.errors, "failures": self.tab.failures}

    def close(self) -> None:
        if self.tab:
            self.tab.close()
        self.proc.terminate()
        self.proc.wait(timeout=15)


def measure_browser(base: str, password: str, info: dict, args, session: requests.Session,
                    shots: Path | None) -> dict:
    """Everything measured in Chromium, in one browser."""
    from playwright.sync_api import sync_playwright

    period, targets = info["period"], args.targets
    units = info["units"][targets:targets + args.browser_units]
    officials = info["officials"]
    visited = {f"/unit/{u}" for u in [info["root"], *info["units"][:targets + args.browser_units],
                                      *info["units"][-targets:], *info["departments"]]}
    visited |= {f"/official/{o}" for o in officials[:targets + 1] + officials[-targets:]}  # measure_callbacks
    out, floor = {}, None
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        tab = Tab(chromium, base, password)
        out["first_visit"] = tab.first_visit
        out["js"] = js_sizes(session, tab.first_visit["js"]["urls"]) if tab.first_visit else None
        print("in Chromium: unit pages" + (" and the floor …" if args.floor_loads else " …"), flush=True)
        try:
            if args.floor_loads:
                floor = Floor(chromium, args.threads, REPO / "bench" / "results" / "pages-floor.log")
            out["unit"] = unit_loads(tab, units, period, floor, args.floor_loads)
            if floor:
                out["floor"] = floor.result()
        finally:
            if floor:
                floor.close()
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            tab.page.screenshot(path=str(shots / "bench-unit.png"), full_page=True)
        if args.drill_clicks:
            print("in Chromium: drill-downs …", flush=True)
            out["drill"] = drill_downs(tab, info["departments"], period, args.drill_clicks, visited)
        if args.page_loads:
            print("in Chromium: the other pages …", flush=True)
            out["pages"] = other_pages(tab, info, officials[targets], args.page_loads)
        out["errors"], out["failures"] = tab.errors, tab.failures
        tab.close()
        chromium.close()
    return out


# --- the printout ----------------------------------------------------------------------------------

def ok(loads) -> list[dict]:
    return [x for x in loads or [] if x]


def times(loads) -> list[float]:
    return [x["ms"] for x in ok(loads)]


def median_of(loads, key) -> float:
    return pct([x[key] for x in ok(loads) if x.get(key) is not None], .5)


def p50_p95(loads) -> str:
    ms = times(loads)
    return f"p50 {pct(ms, .5):>6.0f}  p95 {pct(ms, .95):>6.0f}  (n={len(ms)}/{len(loads or [])})"


def report_units_and_floor(b: dict) -> None:
    unit = b["unit"]
    print(f"\nunit page fully rendered in Chromium, ms: cold (first visit) p50 {pct(times(unit['cold']), .5):.0f} "
          f"p95 {pct(times(unit['cold']), .95):.0f}; warm p50 {pct(times(unit['warm']), .5):.0f} "
          f"p95 {pct(times(unit['warm']), .95):.0f} (target p95 <= 2000 ms; n={len(times(unit['warm']))})")
    floor = b.get("floor")
    if not floor:
        return
    f = times(floor["loads"])
    print(f"\nfloor: a minimal Dash app of the same shape (bench/floor_app.py: 11 callbacks in 3 chained "
          f"steps, 4 charts, 2 tables, static data), loaded in turn with the unit pages\n"
          f"  full load, ms: {p50_p95(floor['loads'])}")
    for phase in ("cold", "warm"):
        ms = times(unit[phase])
        print(f"  unit page {phase} / floor: p50 {pct(ms, .5) / pct(f, .5):.2f}x, "
              f"p95 {pct(ms, .95) / pct(f, .95):.2f}x  (target <= 1.3x)")


def report_drill(drill: dict) -> None:
    print("\ndrill-down: a click inside a loaded unit page until the page it opens is drawn, ms (target p95 <= 600)")
    for kind, what in (("unit", "child unit (children table)"), ("official", "official (ranking table)")):
        for phase in ("cold", "warm"):
            loads = drill[kind][phase]
            reloads = sum(1 for x in ok(loads) if x["new_document"])
            print(f"  {what:<30} {phase:<5} {p50_p95(loads)}  page reloaded on {reloads} of {len(ok(loads))} clicks")
        print(f"  {'':<30} the link: {drill[kind].get('link', '-')}")


def report_pages(pages: dict) -> None:
    print("\nother pages fully drawn in Chromium, ms (OKR target p95 <= 2000)")
    print(f"  {'page':<26} {'first':>7} {'p50':>7} {'p95':>7} {'n':>4} {'posts':>6} {'depth':>6}")
    for name, loads in pages.items():
        first = loads[0]["ms"] if loads and loads[0] else float("nan")
        ms = times(loads)
        print(f"  {name:<26} {first:>7.0f} {pct(ms, .5):>7.0f} {pct(ms, .95):>7.0f} {len(ms):>4} "
              f"{median_of(loads, 'posts'):>6.0f} {median_of(loads, 'depth'):>6.0f}")


def _gap(x: dict, later: str, earlier: str):
    return None if x[later] is None or x[earlier] is None else x[later] - x[earlier]


WHERE_ROWS = [  # (label, how to get it from a load)
    ("fully drawn (wall clock)", lambda x: x["ms"]),
    ("DOM ready: HTML + scripts run", lambda x: x["dom_ready"]),
    ("Dash booted (layout, deps)", lambda x: x["boot_end"]),
    ("router answered", lambda x: x["router_end"]),
    ("last callback byte received", lambda x: x["last_received"]),
    ("last callback read by the page", lambda x: x["last_response"]),
    ("last chart data read", lambda x: x["last_chart_data"]),
    ("last change in a chart", lambda x: x["last_chart_change"]),
    ("  chart drawing after its data", lambda x: _gap(x, "last_chart_change", "last_chart_data")),
    ("slowest callback on the server", lambda x: x["slowest_server"]),
    ("main-thread long tasks, total", lambda x: x["long_tasks"]),
    ("callback POSTs", lambda x: x["posts"]),
    ("chained depth", lambda x: x["depth"]),
    ("callback responses, KB", lambda x: x["callback_bytes"] / 1000),
]


def where_columns(b: dict) -> dict[str, list]:
    cols = {}
    if b.get("floor"):
        cols["floor"] = b["floor"]["loads"]
    cols["unit cold"], cols["unit warm"] = b["unit"]["cold"], b["unit"]["warm"]
    if b.get("drill"):
        cols["drill unit"], cols["drill off."] = b["drill"]["unit"]["cold"], b["drill"]["official"]["cold"]
    if b.get("pages"):
        cols["okr city"] = b["pages"]["okr (city scope)"]
    return cols


def report_where(b: dict) -> dict:
    """Medians of each load's timeline (ms from navigation start, or from the click)."""
    cols = where_columns(b)
    print("\nwhere the time goes: medians, ms from navigation start (from the click for a drill-down on the same page)")
    print(f"  {'':<33}" + "".join(f"{c:>11}" for c in cols))
    table = {}
    for label, get in WHERE_ROWS:
        row = {c: pct([v for x in ok(loads) if (v := get(x)) is not None], .5) for c, loads in cols.items()}
        table[label.strip()] = row
        digits = 1 if label.endswith("KB") else 0
        print(f"  {label:<33}" + "".join(f"{v:>11.{digits}f}" for v in row.values()))
    return table


def report_js(b: dict) -> None:
    print("\nJavaScript of a first visit (empty browser cache)")
    for name, visit, sizes in (("dashboard (overview)", b.get("first_visit"), b.get("js")),
                               ("floor", (b.get("floor") or {}).get("first_visit"), (b.get("floor") or {}).get("js"))):
        if not visit or not sizes:
            continue
        js = visit["js"]
        print(f"  {name:<21} {js['files']:>3} files, {js['transferred'] / 1e6:.2f} MB transferred, "
              f"{js['decoded'] / 1e6:.2f} MB decoded; content-encoding {'/'.join(sizes['content_encoding'])}, "
              f"gzip would send {sizes['gzip'] / 1e6:.2f} MB")
        print(f"  {'':<21} served with Vary: {'/'.join(sizes['vary'])}; Set-Cookie on {sizes['set_cookie']} of "
              f"{sizes['files']}; no max-age: {', '.join(sizes['no_max_age']) or '-'}")
    for name, loads in (("unit page, warm", b["unit"]["warm"]), ("floor", (b.get("floor") or {}).get("loads"))):
        loads = ok(loads)
        if not loads:
            continue
        sent = [x["js"]["transferred"] for x in loads]
        again = sorted({f for x in loads for f, size, _ in x["js"]["by_file"] if size > 1000})
        print(f"  later loads, {name}: scripts transferred p50 {pct(sent, .5) / 1e3:.1f} KB, "
              f"max {max(sent) / 1e3:.1f} KB"
              f" (fetched again on some loads: {', '.join(again) or '-'})")


def report_problems(b: dict) -> None:
    errors = {**b.get("errors", {}), **{f"floor {k}": v for k, v in (b.get("floor") or {}).get("errors", {}).items()}}
    failures = b.get("failures", []) + (b.get("floor") or {}).get("failures", [])
    if not errors and not failures:
        print("\nno console errors; every page was drawn")
        return
    print("\nconsole errors (count: where: message)")
    for key, n in sorted(errors.items(), key=lambda kv: -kv[1]):
        print(f"  {n:>3}: {key}")
    for f in failures:
        print(f"  never drawn: {f['what']}: {f['state']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=REPO / "data" / "city.duckdb")
    ap.add_argument("--targets", type=int, default=8, help="distinct units/officials per callback (cold samples)")
    ap.add_argument("--repeats", type=int, default=5, help="warm repetitions of each request")
    ap.add_argument("--browser-units", type=int, default=8, help="unit pages loaded in Chromium, cold then warm")
    ap.add_argument("--floor-loads", type=int, default=10, help="full loads of the floor app (0: skip)")
    ap.add_argument("--drill-clicks", type=int, default=6, help="clicks to a child unit and to an official (0: skip)")
    ap.add_argument("--page-loads", type=int, default=3, help="loads of the OKR page and each other page (0: skip)")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args(argv)
    if not args.db.exists():
        raise SystemExit(f"no database at {args.db}; build it with `python -m etl demo --scale city --db {args.db}`")

    info = data_size(args.db)
    print(f"database {args.db}: {info['sizes']}")
    print(f"period {info['period']}, root {info['root']}, {len(info['units'])} units two levels down")
    password = secrets.token_urlsafe(16)
    proc = dashboard_cli("users", "add", USER, "--role", "admin", "--password-stdin", "--db", args.db,
                         stdin=password + "\n")
    if proc.returncode != 0:
        dashboard_cli("users", "set-password", USER, "--password-stdin", "--db", args.db, stdin=password + "\n")
        dashboard_cli("users", "enable", USER, "--db", args.db)

    results_dir = REPO / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    server = start_server(args.db, results_dir / "pages-server.log",
                          env={"THUOCDO_SECRET_KEY": secrets.token_hex(32), "THUOCDO_POLL_SECONDS": "600",
                               "THUOCDO_THREADS": str(args.threads)})
    base = server.base_url
    print(f"server up in {time.perf_counter() - t0:.1f} s at {base}", flush=True)
    try:
        client = Client(base, password)
        calls = measure_callbacks(client, info, args.repeats, args.targets)
        browser = None
        if not args.no_browser:
            browser = measure_browser(base, password, info, args, client.s, REPO / "test-artifacts")
    finally:
        stop_server(server)

    print(f"\nserver time per callback, ms (cold = first build after start, the baseline; "
          f"warm = every later viewer of the same data version;\n  a unit or official layout holds its panels, so "
          f"its cold time is theirs too; the panel callbacks, timed on other targets, run when the data moves)")
    print(f"{'callback':<30} {'n':>4} {'cold p50':>9} {'cold p95':>9} {'warm n':>7} {'warm p50':>9} {'warm p95':>9}")
    all_warm = []
    for name, rec in calls.items():
        all_warm += rec["warm"]
        print(f"{name:<30} {len(rec['cold']):>4} {pct(rec['cold'], .5):>9.1f} {pct(rec['cold'], .95):>9.1f} "
              f"{len(rec['warm']):>7} {pct(rec['warm'], .5):>9.1f} {pct(rec['warm'], .95):>9.1f}")
    worst = max(calls, key=lambda n: pct(calls[n]["warm"], .95))
    print(f"all warm callbacks: p50 {pct(all_warm, .5):.1f} ms, p95 {pct(all_warm, .95):.1f} ms "
          f"(target p95 <= 150 ms; slowest: {worst} {pct(calls[worst]['warm'], .95):.1f} ms)")
    where = None
    if browser:
        report_units_and_floor(browser)
        if browser.get("drill"):
            report_drill(browser["drill"])
        if browser.get("pages"):
            report_pages(browser["pages"])
        where = report_where(browser)
        report_js(browser)
        report_problems(browser)
    out = results_dir / f"pages-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({
        "db": str(args.db), "args": {k: str(v) for k, v in vars(args).items()},
        "info": {k: info[k] for k in ("sizes", "period", "root")}, "callbacks": calls,
        # ms per unit page load, as earlier runs wrote them; every load's detail under "chromium"
        "browser": {phase: times(browser["unit"][phase]) for phase in ("cold", "warm")} if browser else None,
        "where": where, "chromium": browser}, indent=1, default=str))
    print(f"\nraw samples: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
