"""Page benchmark: server time of every page's callbacks, and a unit page rendered in Chromium.

Runs the real server (`python -m dashboard serve`) on the given database and measures, in the
same run:
- every page's callbacks (the pages router plus each panel) as the server reports them in its
  Server-Timing header: the first build of each (callback, unit) with a cold panel cache is the
  baseline, the same requests again are what every later viewer gets (same data version);
- the time from navigation to a fully rendered unit page (tiles, tables and every chart drawn,
  no request in flight) in Debian's Chromium, for units never opened before (cold) and again.

Targets: warm callback p95 <= 150 ms; rendered unit page p95 <= 2 s.

    python -m etl demo --scale city --db data/city.duckdb    # once, about 5 minutes
    python bench/pages.py --db data/city.duckdb

It adds (or resets) a login `bench.admin` in the database; nothing else is written.
"""
from __future__ import annotations

import argparse
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

from conftest import CHROMIUM_ARGS, TRACK_FETCH, csrf_from, start_server, stop_server  # noqa: E402
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
        return {"unit: tiles": payload([("uv-tiles", "children")], args),
                "unit: children": payload([("uv-children", "children")], args),
                "unit: treemap": payload([("uv-tree", "children")], args),
                "unit: trends (3 charts)": payload([("uv-trend-rates", "children"), ("uv-trend-score", "children"),
                                                    ("uv-ratings", "children")], args),
                "unit: officials ranked (page 1)": payload(
                    [("ranking-table", "data"), ("ranking-table", "page_count"), ("ranking-count", "children")],
                    args + [("ranking-table", "page_current", 0), ("ranking-table", "sort_by", [])]),
                "unit: rule items": payload([("uv-rules", "children")], args)}
    return {"official: tiles": payload([("ov-tiles", "children")], args),
            "official: charts": payload([("ov-scores", "children"), ("ov-satisfaction", "children")], args),
            "official: tasks": payload([("ov-tasks", "children")], args),
            "official: ratings": payload([("ov-comments", "children")], args),
            "official: evaluations": payload([("ov-history", "children")], args)}


def scope_pages(unit: str, period: str, start: str) -> dict[str, dict]:
    return {
        "okr: tree": payload([("okr-tree", "children")],
                             [("page-args", "data", {"unit": unit, "period": period}), ("data-version", "data", 0)]),
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
        officials = [r[0] for r in cur.execute(
            "SELECT official_id FROM official_month WHERE period = ? ORDER BY tasks_due DESC, official_id LIMIT 40",
            [period]).fetchall()]
    finally:
        conn.close()
    sizes["file_mb"] = round(db.stat().st_size / 1e6)
    return {"sizes": sizes, "period": period, "root": root, "units": units, "officials": officials}


def dashboard_cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "dashboard", *map(str, args)], cwd=REPO, input=stdin, text=True,
                          capture_output=True)


# --- measurements ----------------------------------------------------------------------------------

def measure_callbacks(client: Client, info: dict, repeats: int, targets: int) -> dict[str, dict]:
    """name -> {'cold': [ms…], 'warm': [ms…]}: first build per target, then `repeats` more of each."""
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
    for unit in [root] + units:
        for name, body in panels("unit", unit, period).items():
            rec = results.setdefault(name, {"cold": [], "warm": []})
            rec["cold"].append(client.call(body))
    for official in officials:
        for name, body in panels("official", official, period).items():
            results.setdefault(name, {"cold": [], "warm": []})["cold"].append(client.call(body))
    for _ in range(repeats):
        for unit in [root] + units:
            for name, body in panels("unit", unit, period).items():
                results[name]["warm"].append(client.call(body))
        for official in officials:
            for name, body in panels("official", official, period).items():
                results[name]["warm"].append(client.call(body))
    for name, body in scope_pages(root, period, start).items():
        run(name, [body])
    return results


def measure_browser(base: str, password: str, units: list[str], period: str, shots: Path | None) -> dict:
    """Milliseconds from navigation to a fully drawn unit page: first visit (cold) and again (warm)."""
    from playwright.sync_api import sync_playwright

    ready = """() => window.__inflight === 0 && performance.now() - window.__lastNet > 50 &&
        document.querySelectorAll('.kpi-tile').length >= 7 && document.querySelector('#children-table, #uv-children .empty-note')
        && document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4 && document.querySelectorAll('#ranking-table td').length > 0
        && !document.querySelector('[data-dash-is-loading="true"]')"""
    out = {"cold": [], "warm": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        context.add_init_script(TRACK_FETCH)
        page = context.new_page()
        page.goto(base + "/login")
        page.fill("#username", USER)
        page.fill("#password", password)
        page.click("#login-button")
        page.wait_for_url(re.compile(r".*/(\?.*)?$"))
        for phase in ("cold", "warm"):
            for unit in units:
                t0 = time.perf_counter()
                page.goto(f"{base}/unit/{unit}?period={period}")
                page.wait_for_function(ready, timeout=60_000, polling=20)
                out[phase].append((time.perf_counter() - t0 - 0.05) * 1000)  # minus the 50 ms quiet check
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "bench-unit.png"), full_page=True)
        browser.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=REPO / "data" / "city.duckdb")
    ap.add_argument("--targets", type=int, default=8, help="distinct units/officials per callback (cold samples)")
    ap.add_argument("--repeats", type=int, default=5, help="warm repetitions of each request")
    ap.add_argument("--browser-units", type=int, default=8)
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
    print(f"server up in {time.perf_counter() - t0:.1f} s at {base}")
    try:
        calls = measure_callbacks(Client(base, password), info, args.repeats, args.targets)
        browser = None
        if not args.no_browser:
            fresh = info["units"][args.targets:args.targets + args.browser_units]
            browser = measure_browser(base, password, fresh, info["period"], REPO / "test-artifacts")
    finally:
        stop_server(server)

    print(f"\nserver time per callback, ms (cold = first build after start, the baseline; "
          f"warm = every later viewer of the same data version)")
    print(f"{'callback':<30} {'n':>4} {'cold p50':>9} {'cold p95':>9} {'warm n':>7} {'warm p50':>9} {'warm p95':>9}")
    all_warm = []
    for name, rec in calls.items():
        all_warm += rec["warm"]
        print(f"{name:<30} {len(rec['cold']):>4} {pct(rec['cold'], .5):>9.1f} {pct(rec['cold'], .95):>9.1f} "
              f"{len(rec['warm']):>7} {pct(rec['warm'], .5):>9.1f} {pct(rec['warm'], .95):>9.1f}")
    worst = max(calls, key=lambda n: pct(calls[n]["warm"], .95))
    print(f"all warm callbacks: p50 {pct(all_warm, .5):.1f} ms, p95 {pct(all_warm, .95):.1f} ms "
          f"(target p95 <= 150 ms; slowest: {worst} {pct(calls[worst]['warm'], .95):.1f} ms)")
    if browser:
        print(f"\nunit page fully rendered in Chromium, ms: cold (first visit) p50 {pct(browser['cold'], .5):.0f} "
              f"p95 {pct(browser['cold'], .95):.0f}; warm p50 {pct(browser['warm'], .5):.0f} "
              f"p95 {pct(browser['warm'], .95):.0f} (target p95 <= 2000 ms; n={len(browser['warm'])})")
    out = results_dir / f"pages-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"db": str(args.db), "info": {k: info[k] for k in ("sizes", "period", "root")},
                               "callbacks": calls, "browser": browser}, indent=1))
    print(f"\nraw samples: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
