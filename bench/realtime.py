"""Real-time benchmark at city scale: one server process, the live path end to end.

Runs the real server (`python -m dashboard serve`) on a copy of the given database and measures:
0. the writer alone, in this process before the server opens the copy: ack p50/p95 and the
   writer thread's CPU under the stream below, for each --writer-windows INGEST_BATCH_MS;
1. tap to screen: a counter device's POST of a rating to the new value drawn on an open wall
   display and an open unit page in Chromium (p50/p95 over --taps), while a background stream
   runs (target p95 <= 2 s; aim 1 s);
2. API acknowledgement p50/p95 of that background stream (--ratings-per-s ratings and
   --tasks-per-s task updates, one record per request as devices send them), the writer
   thread's CPU and the whole process's CPU (target p95 <= 500 ms, writer < half a core);
3. a load: --displays wall displays speaking the display's protocol (cookie, state, push stream,
   a state fetch per version event, heartbeats), --analysts analysts clicking through the unit
   pages of --analyst-units units (each opened once before measuring: a first build of a city
   page's panels takes up to 0.4 s, live or not), and the stream, for --minutes; analysts'
   callback p95 (target <= 300 ms),
   errors (target 0), server RSS at start and end;
4. (--soak-minutes) a display left running in Chromium with updates every few seconds: JS heap
   and DOM nodes at start and end;
5. one city day (80,000 task rows + 30,000 ratings) through `etl load` into the running server;
6. the loader's fixed cost per small file (100 ratings; 100 task updates), this code against
   --baseline-ref (the code before the real-time work) on the same database, back to back.

    python -m etl demo --scale city --db data/city.duckdb      # once, about 5 minutes
    python bench/realtime.py --db data/city.duckdb             # about 15 minutes

The benchmark process shares the machine's 2 cores with the server: the figures are an upper
bound on what the server alone would show. Nothing is written to --db (a copy is used).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]

from conftest import CHROMIUM_ARGS, SECRET, TRACK_FETCH, free_port, start_server, stop_server  # noqa: E402
from pages import USER, Client, panels, pct  # noqa: E402

BASELINE_REF = "3916ed4"
# The unit page stamps when its satisfaction tile's value changes on screen.
TILE_STAMP = """
new MutationObserver(() => {
  const tile = document.getElementById('tile-satisfaction_rate');
  const value = tile && tile.getAttribute('data-value');
  if (tile && value !== window.__lastTile) {
    if (window.__lastTile !== undefined) { window.__tileChangedAt = Date.now(); }
    window.__lastTile = value;
  }
}).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ['data-value']});
"""  # main before ingestion moved into the server


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    return f"p50 {pct(values, 0.5):,.0f} ms, p95 {pct(values, 0.95):,.0f} ms (n={len(values)})"


def now_local() -> str:
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).isoformat(timespec="seconds")


# --- preparing the copy ------------------------------------------------------------------------

def prepare(source: Path, work: Path, displays: int, display_units: int = 0) -> dict:
    """Copy the database, add the bench's login, devices and displays; pick whom to rate."""
    from dashboard import tokens, users
    from etl.db import connect

    work.mkdir(parents=True, exist_ok=True)
    db = work / "realtime.duckdb"
    started = time.perf_counter()
    shutil.copy(source, db)
    print(f"copied {source} ({source.stat().st_size / 1e9:.1f} GB) in {time.perf_counter() - started:.0f} s",
          flush=True)
    conn = connect(db)
    cur = conn.cursor()
    sizes = {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
             for t in ("units", "officials", "tasks", "ratings", "evaluations")}
    password = secrets.token_urlsafe(16)
    cur.execute("DELETE FROM users WHERE username = ?", [USER])
    users.add(cur, USER, "admin", password, None, None)
    rng = random.Random(11)
    # The tapped counter: an official of a commune-level unit (a leaf), so the display is an office's.
    tapped, unit = cur.execute(
        "SELECT o.official_id, o.unit_id FROM officials o WHERE o.active AND NOT EXISTS "
        "(SELECT 1 FROM units c WHERE c.parent_id = o.unit_id) ORDER BY hash(o.official_id) LIMIT 1").fetchone()
    kiosk = tokens.add_device(cur, "bench-kiosk", "QBENCH")
    tokens.assign_duty(cur, "QBENCH", tapped, "bench")
    stream = tokens.add_device(cur, "bench-stream")
    units_with_people = [r[0] for r in cur.execute("SELECT DISTINCT unit_id FROM officials WHERE active").fetchall()]
    all_units = [r[0] for r in cur.execute("SELECT unit_id FROM units").fetchall()]
    screens = [("bench-tv-0", unit, tokens.add_display(cur, "bench-tv-0", unit))]
    # Screens at random units (a third anywhere in the tree, the rest where officials work), or
    # spread over a pool of `display_units` of them (several screens per office).
    pool = rng.sample(units_with_people, display_units) if display_units else None
    for i in range(1, displays):
        target = pool[i % len(pool)] if pool else rng.choice(all_units if i % 3 == 0 else units_with_people)
        screens.append((f"bench-tv-{i}", target, tokens.add_display(cur, f"bench-tv-{i}", target)))
    officials = [r[0] for r in cur.execute(  # USING SAMPLE applies before a WHERE: sample a subquery
        "SELECT * FROM (SELECT official_id FROM officials WHERE active) USING SAMPLE 20000 ROWS (reservoir, 3)"
    ).fetchall()]
    open_tasks = cur.execute(
        "SELECT * FROM (SELECT task_id, official_id, title, origin, assigned_at, due_at FROM tasks "
        "WHERE status = 'open') USING SAMPLE 30000 ROWS (reservoir, 5)").fetchall()
    period = dt.date.today().strftime("%Y-%m")
    conn.close()
    return {"db": db, "sizes": sizes, "password": password, "kiosk": kiosk, "stream": stream, "tapped": tapped,
            "unit": unit, "screens": screens, "officials": officials, "open_tasks": open_tasks, "period": period,
            "file_gb": round(db.stat().st_size / 1e9, 1)}


# --- the background stream ---------------------------------------------------------------------

class Stream:
    """Ratings and task updates at fixed rates, one record per POST, from a few threads."""

    def __init__(self, base: str, info: dict, ratings_per_s: float, tasks_per_s: float):
        self.base, self.info = base, info
        self.rates = {"ratings": ratings_per_s, "tasks": tasks_per_s}
        self.latency: dict[str, list[float]] = {"ratings": [], "tasks": []}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._seq = 0
        # Enough threads that the offered rate holds while acks take a second (16 did not: the
        # stream fell to about half its rate when acks slowed, flattering the acks).
        self._pool = ThreadPoolExecutor(160)
        self._threads: list[threading.Thread] = []
        self._auth = {"Authorization": f"Bearer {info['stream']}"}
        self._local = threading.local()

    def _record(self, kind: str) -> dict:
        self._seq += 1
        n, info = self._seq, self.info
        if kind == "ratings":
            return {"rating_id": f"RT{os.getpid()}-{n}", "official_id": random.choice(info["officials"]),
                    "counter_id": "Q01", "rated_at": now_local(), "level": random.choice((1, 2, 3, 4, 4, 4))}
        task_id, official, title, origin, assigned, due = info["open_tasks"][n % len(info["open_tasks"])]
        return {"task_id": task_id, "official_id": official, "title": title, "origin": origin,
                "assigned_at": str(assigned), "due_at": str(due), "completed_at": str(dt.date.today()),
                "status": "done", "quality_failures": 0, "updated_at": now_local()}

    def _post(self, kind: str, record: dict) -> None:
        session = getattr(self._local, "s", None) or requests.Session()
        self._local.s = session
        started = time.perf_counter()
        try:
            r = session.post(f"{self.base}/api/v1/{kind}", json=[record], headers=self._auth, timeout=30)
            if r.status_code >= 300 and r.status_code != 207:
                self.errors.append(f"{kind} {r.status_code} {r.text[:120]}")
            self.latency[kind].append(ms(time.perf_counter() - started))
        except requests.RequestException as exc:
            self.errors.append(f"{kind} {exc}")

    def _pace(self, kind: str) -> None:
        interval = 1 / self.rates[kind]
        next_at = time.perf_counter()
        while not self._stop.is_set():
            self._pool.submit(self._post, kind, self._record(kind))
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))

    def start(self) -> "Stream":
        for kind, rate in self.rates.items():
            if rate > 0:
                t = threading.Thread(target=self._pace, args=(kind,), daemon=True)
                t.start()
                self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()
        self._pool.shutdown(wait=True, cancel_futures=True)  # a saturated server left a backlog

    def reset(self) -> None:
        self.latency = {"ratings": [], "tasks": []}
        self.errors = []


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return round(int(match.group(1)) / 1024)


def writer_stats(db: Path) -> dict:
    from dashboard.control import send
    output, _ = send(db, {"command": "stats"})
    return json.loads(output)


# --- 1 + 2: taps to screens, under the stream -------------------------------------------------------

def taps_and_acks(srv, info: dict, taps: int, stream: Stream) -> dict:
    from playwright.sync_api import sync_playwright

    name, unit, token = info["screens"][0]
    kiosk = {"Authorization": f"Bearer {info['kiosk']}"}
    out = {"display": [], "unit page": [], "missed": {"display": 0, "unit page": 0}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        tv = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        tv.goto(f"{srv.base_url}/display/{token}")
        _until(tv, "window.__display && window.__display.version > 0", 60)
        desk_ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
        desk_ctx.add_init_script(TRACK_FETCH)
        desk_ctx.add_init_script(TILE_STAMP)
        desk = desk_ctx.new_page()
        desk.goto(f"{srv.base_url}/login")
        desk.fill("#username", USER)
        desk.fill("#password", info["password"])
        desk.click("#login-button")
        desk.wait_for_url(re.compile(r".*/(\?.*)?$"))
        desk.goto(f"{srv.base_url}/unit/{unit}?period={info['period']}")
        desk.wait_for_selector("#tile-satisfaction_rate", timeout=60_000)
        desk.wait_for_function("() => window.__thuocdoLive && window.__thuocdoLive.connected", timeout=30_000)
        stream.reset()
        cpu0, stats0, wall0 = process_cpu(srv.proc.pid), writer_stats(srv.db), time.perf_counter()
        for i in range(taps):
            tv_version = tv.evaluate("window.__display.version")
            record = {"rating_id": f"TAP{os.getpid()}-{i}", "official_id": info["tapped"], "counter_id": "QBENCH",
                      "rated_at": now_local(), "level": 1 if i % 2 == 0 else 4}
            t0 = time.time() * 1000
            r = requests.post(f"{srv.base_url}/api/v1/ratings", json=[record], headers=kiosk, timeout=30)
            assert r.status_code == 200 and r.json()["loaded"] == 1, r.text
            # Each page stamps the moment it drew the change (Date.now()); polled from here, since
            # the display's CSP forbids the eval behind wait_for_function.
            for label, page, stamp in (
                    ("display", tv, f"window.__display.version > {tv_version} ? window.__display.lastUpdate : 0"),
                    ("unit page", desk, f"window.__tileChangedAt > {t0} ? window.__tileChangedAt : 0")):
                seen, deadline = 0, time.monotonic() + 10
                while not seen and time.monotonic() < deadline:
                    seen = page.evaluate(stamp)
                    if not seen:
                        time.sleep(0.01)
                if seen:
                    out[label].append(seen - t0)
                else:
                    out["missed"][label] += 1
            time.sleep(0.5)
        wall = time.perf_counter() - wall0
        stats1 = writer_stats(srv.db)
        out["writer_cores"] = round((stats1["cpu_seconds"] - stats0["cpu_seconds"]) / wall, 3)
        out["process_cores"] = round((process_cpu(srv.proc.pid) - cpu0) / wall, 3)
        out["batches_per_s"] = round((stats1["batches"] - stats0["batches"]) / wall, 2)
        out["writer_phases_ms_per_batch"] = {  # where a batch's wall time goes, in the server
            k: round(1000 * (v - stats0["phase_seconds"].get(k, 0)) / max(1, stats1["batches"] - stats0["batches"]), 1)
            for k, v in stats1.get("phase_seconds", {}).items()}
        out["ack"] = {k: list(v) for k, v in stream.latency.items()}
        out["stream_errors"] = list(stream.errors)
        tv.screenshot(path=str(REPO / "bench" / "results" / "realtime-display.png"))
        browser.close()
    return out


def _until(page, expression: str, seconds: float) -> None:
    """Poll `expression` in the page (a CSP without eval rules out wait_for_function)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(f"!!({expression})"):
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        time.sleep(0.05)


# --- 3: the load -------------------------------------------------------------------------------------

async def _http(host: str, port: int, method: str, path: str, headers: dict, body: bytes = b"") -> tuple:
    reader, writer = await asyncio.open_connection(host, port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
                 f"Content-Length: {len(body)}\r\n{head}\r\n".encode() + body)
    data = await reader.read()
    writer.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:] if ":" in line]
    return status, hdrs, rest


class Displays:
    """Wall displays as their page behaves: exchange the token for a cookie, fetch the state,
    follow the push stream, fetch the state again on each version event, heartbeat every 30 s."""

    def __init__(self, base: str, screens: list[tuple]):
        u = urlsplit(base)
        self.host, self.port, self.base = u.hostname, u.port, base
        self.screens = screens
        self.fetches: list[float] = []
        self.errors: list[str] = []
        self.events = 0
        self.connected = 0
        self._stop = asyncio.Event()

    async def _screen(self, name: str, token: str) -> None:
        try:
            status, hdrs, _ = await _http(self.host, self.port, "GET", f"/display/{token}", {})
            cookie = next(v.split(";")[0] for k, v in hdrs if k.lower() == "set-cookie" and "thuocdo_display" in v)
            jar = {"Cookie": cookie}
            state = await self._state(jar)
            live = (state.get("live") or {}).get("url")
            if not live:
                self.errors.append(f"{name}: no push url")
                return
            u = urlsplit(live)
            reader, writer = await asyncio.open_connection(u.hostname, u.port)
            writer.write(f"GET {u.path}?{u.query} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nOrigin: {self.base}\r\n"
                         f"Accept: text/event-stream\r\n{'Cookie: ' + cookie}\r\n\r\n".encode())
            await writer.drain()
            first = await reader.readline()
            if b" 200 " not in first:
                self.errors.append(f"{name}: push {first!r}")
                return
            self.connected += 1
            known = state["version"]
            last_beat = time.monotonic()
            event = None
            while not self._stop.is_set():
                line = await asyncio.wait_for(reader.readline(), timeout=30)
                if not line:
                    self.errors.append(f"{name}: push stream closed")
                    return
                text = line.decode().strip()
                if text.startswith("event:"):
                    event = text.split(":", 1)[1].strip()
                elif text.startswith("data:") and event == "version":
                    self.events += 1
                    version = json.loads(text[5:])["version"]
                    if version > known:
                        known = (await self._state(jar))["version"]
                        while known < version and not self._stop.is_set():  # an older state: ask
                            await asyncio.sleep(0.7)                          # again, as display.js does
                            known = (await self._state(jar))["version"]
                if time.monotonic() - last_beat > 30:
                    last_beat = time.monotonic()
                    status, _, _ = await _http(self.host, self.port, "POST", "/display/api/heartbeat",
                                               {**jar, "Content-Type": "application/json", "X-Thuocdo-Display": "1"},
                                               json.dumps({"build": "bench", "screen": "1920x1080",
                                                           "data_version": known}).encode())
                    if status != 204:
                        self.errors.append(f"{name}: heartbeat {status}")
            writer.close()
        except (OSError, asyncio.TimeoutError, StopIteration, ValueError, KeyError) as exc:
            self.errors.append(f"{name}: {type(exc).__name__} {exc}")

    async def _state(self, jar: dict) -> dict:
        started = time.perf_counter()
        status, _, body = await _http(self.host, self.port, "GET", "/display/api/state", jar)
        self.fetches.append(ms(time.perf_counter() - started))
        if status != 200:
            raise ValueError(f"state {status}")
        return json.loads(body)

    async def run(self, seconds: float) -> None:
        tasks = []
        for i, (name, _unit, token) in enumerate(self.screens):
            tasks.append(asyncio.create_task(self._screen(name, token)))
            if i % 50 == 49:
                await asyncio.sleep(0.5)  # screens come up over a while, not in one burst
        await asyncio.sleep(seconds)
        self._stop.set()
        await asyncio.wait(tasks, timeout=40)


def analysts(base: str, password: str, units: list[str], period: str, n: int, stop: threading.Event,
             latency: list, errors: list) -> list[threading.Thread]:
    def click_through(seed: int) -> None:
        rng = random.Random(seed)
        client = Client(base, password)
        while not stop.is_set():
            unit = rng.choice(units)
            for body in panels("unit", unit, period).values():
                started = time.perf_counter()
                try:
                    r = client.s.post(base + "/_dash-update-component", json=body, timeout=60,
                                      headers={"X-CSRFToken": client.s.cookies.get("_csrf_token")})
                    if r.status_code != 200:
                        errors.append(f"analyst {r.status_code}")
                except requests.RequestException as exc:
                    errors.append(f"analyst {exc}")
                latency.append(ms(time.perf_counter() - started))
            time.sleep(rng.uniform(1, 3))  # reading the page before the next click
    threads = [threading.Thread(target=click_through, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads


def load_test(srv, info: dict, minutes: float, n_analysts: int, stream: Stream, analyst_units: int) -> dict:
    rss0 = rss_mb(srv.proc.pid)
    stream.reset()
    displays = Displays(srv.base_url, info["screens"])
    stop, latency, errors = threading.Event(), [], []
    units = sorted({u for _, u, _ in info["screens"]})[:analyst_units]
    warm = Client(srv.base_url, info["password"])  # every page once first: what follows is steady state
    for unit in units:
        for body in panels("unit", unit, info["period"]).values():
            warm.s.post(srv.base_url + "/_dash-update-component", json=body, timeout=120,
                        headers={"X-CSRFToken": warm.s.cookies.get("_csrf_token")})
    threads = analysts(srv.base_url, info["password"], units, info["period"], n_analysts, stop, latency, errors)
    cpu0, wall0 = process_cpu(srv.proc.pid), time.perf_counter()
    asyncio.run(displays.run(minutes * 60))
    stop.set()
    for t in threads:
        t.join(60)
    wall = time.perf_counter() - wall0
    return {"rss_start_mb": rss0, "rss_end_mb": rss_mb(srv.proc.pid), "analyst_ms": latency,
            "analyst_errors": errors, "displays_connected": displays.connected, "display_errors": displays.errors,
            "display_state_ms": displays.fetches, "version_events": displays.events,
            "ack": {k: list(v) for k, v in stream.latency.items()}, "stream_errors": list(stream.errors),
            "process_cores": round((process_cpu(srv.proc.pid) - cpu0) / wall, 2)}


# --- 4: a display left running -------------------------------------------------------------------------

def soak(srv, info: dict, minutes: float) -> dict:
    from playwright.sync_api import sync_playwright

    _name, _unit, token = info["screens"][0]
    kiosk = {"Authorization": f"Bearer {info['kiosk']}"}
    samples = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        page.goto(f"{srv.base_url}/display/{token}")
        _until(page, "window.__display && window.__display.version > 0", 60)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        end, n = time.monotonic() + minutes * 60, 0
        next_sample = time.monotonic()
        while time.monotonic() < end:
            n += 1
            requests.post(f"{srv.base_url}/api/v1/ratings", headers=kiosk, timeout=30, json=[
                {"rating_id": f"SOAK{os.getpid()}-{n}", "official_id": info["tapped"], "counter_id": "QBENCH",
                 "rated_at": now_local(), "level": 1 + n % 4}])
            if time.monotonic() >= next_sample:
                cdp.send("HeapProfiler.collectGarbage")
                metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                samples.append({"minute": round((time.monotonic() - (end - minutes * 60)) / 60, 1),
                                "js_heap_mb": round(metrics["JSHeapUsedSize"] / 1e6, 2),
                                "nodes": int(metrics["Nodes"]), "listeners": int(metrics["JSEventListeners"])})
                next_sample += 60
            time.sleep(3)
        browser.close()
    return {"updates": n, "samples": samples}


# --- 5: a city day through the running server ------------------------------------------------------------

def city_day(srv, source: Path, work: Path) -> dict:
    from queries import write_days
    [paths] = write_days(source, work, days=1)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "etl", "load", *map(str, paths), "--db", str(srv.db), "--json"],
                         cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    entries = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return {"seconds": round(seconds, 2), "rows": sum(e["rows_read"] for e in entries), "exit": out.returncode,
            "files": [(e["file"], e["status"], e["loaded"], e["seconds"]) for e in entries]}


# --- 6: the loader's fixed cost per small file, before vs after -------------------------------------------

_SMALL_FILES = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from etl.db import connect
from etl.loader import load_file
conn = connect(sys.argv[2])
out = {}
for path in map(Path, sys.argv[3:]):
    started = time.perf_counter()
    entry = load_file(conn, path)
    assert entry["loaded"] == entry["rows_read"] == 100, entry
    out.setdefault(path.name.split("_")[0], []).append(round((time.perf_counter() - started) * 1000, 1))
conn.close()
print(json.dumps(out))
"""


def small_files(info: dict, work: Path, ref: str, count: int = 10) -> dict:
    """The same kind of files (100 ratings; 100 task completions, as .jsonl) loaded offline by
    the code at `ref` and by this code into the same database, back to back."""
    rng = random.Random(5)
    conn = duckdb.connect(str(info["db"]), read_only=True)
    open_tasks = conn.execute(  # a sample of the open tasks (USING SAMPLE applies before a WHERE)
        "SELECT * FROM (SELECT task_id, official_id, title, origin, assigned_at::VARCHAR, due_at::VARCHAR FROM tasks "
        f"WHERE status = 'open') USING SAMPLE {4 * count * 100} ROWS (reservoir, 9)").fetchall()
    conn.close()

    def files(tag: str, offset: int) -> list[Path]:
        out = []
        for n in range(count):
            ratings = [{"rating_id": f"SF{tag}{n}-{i}", "official_id": rng.choice(info["officials"]),
                        "counter_id": "Q01", "rated_at": now_local(), "level": rng.randint(1, 4)} for i in range(100)]
            tasks = [{"task_id": tid, "official_id": o, "title": title, "origin": origin, "assigned_at": a,
                      "due_at": d, "completed_at": d, "status": "done", "quality_failures": 0,
                      "updated_at": "2027-06-30T10:00:00"}  # newer than any stored update: each row applies
                     for tid, o, title, origin, a, d in open_tasks[offset + n * 100:offset + (n + 1) * 100]]
            for kind, records in (("ratings", ratings), ("tasks", tasks)):
                path = work / f"{kind}_{tag}{n:02d}.jsonl"
                path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
                out.append(path)
        return out

    base = work / "baseline-code"

    def baseline_schema() -> None:
        """The baseline's schema, without this work's tables (this code migrates it back)."""
        conn = duckdb.connect(str(info["db"]))
        for sql in ("DROP TABLE IF EXISTS devices", "DROP TABLE IF EXISTS counter_duty",
                    "DROP TABLE IF EXISTS displays", "DELETE FROM schema_migrations WHERE version >= 7", "CHECKPOINT"):
            conn.execute(sql)
        conn.close()

    if base.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=REPO, capture_output=True)
    subprocess.run(["git", "worktree", "add", "--detach", str(base), ref], cwd=REPO, check=True, capture_output=True)
    try:
        results = {"before": {}, "after": {}}
        # Alternating, twice each: the first run of all pays for reading the file into memory.
        runs = (("before", base), ("after", REPO), ("before", base), ("after", REPO))
        for n, (label, code) in enumerate(runs):
            if label == "before":
                baseline_schema()
            out = subprocess.run([sys.executable, "-c", _SMALL_FILES, str(code), str(info["db"]),
                                  *map(str, files(f"r{n}", n * count * 100))], capture_output=True, text=True, cwd=code)
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-2000:])
            for kind, values in json.loads(out.stdout.strip().splitlines()[-1]).items():
                results[label].setdefault(kind, []).append(values)
        return results
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=REPO, capture_output=True)


# --- main ----------------------------------------------------------------------------------------------------

def writer_alone(db: Path, work: Path, info: dict, rates: dict, windows: tuple[int, ...], seconds: float = 30) -> dict:
    """The writer without HTTP (etl/writer.py in this process, on the copy, before the server
    opens it): each window's ack p50/p95 and the writer thread's CPU under the same stream,
    one record per submit from many threads, as the API does. Separates the writer's own
    latency from the HTTP server's and from the load generator sharing the machine."""
    from etl.db import connect
    from etl.writer import Writer

    out = {}
    conn = connect(db)
    try:
        for window in windows:
            w = Writer(conn.cursor(), work / "writer-alone" / "spool", work / "writer-alone" / "archive",
                       batch_seconds=window / 1000, idle_seconds=3600).start()
            latency: dict[str, list[float]] = {"ratings": [], "tasks": []}
            builder = Stream("", info, 0, 0)  # its records, not its HTTP
            builder._seq = 10**7 * window      # ids of their own in each window's run

            def submit(kind, record):
                started = time.perf_counter()
                w.submit_records(kind, [record], timeout=60)
                latency[kind].append(ms(time.perf_counter() - started))
            stop = threading.Event()
            pool = ThreadPoolExecutor(160)

            def pace(kind, rate):
                next_at = time.perf_counter()
                while not stop.is_set():  # records made here, one thread per kind, as Stream does
                    pool.submit(submit, kind, builder._record(kind))
                    next_at += 1 / rate
                    time.sleep(max(0.0, next_at - time.perf_counter()))
            threads = [threading.Thread(target=pace, args=(k, r), daemon=True) for k, r in rates.items() if r > 0]
            for t in threads:
                t.start()
            time.sleep(5)  # settle
            latency = {"ratings": [], "tasks": []}
            b0, c0, t0 = w.batches, w.cpu_seconds, time.perf_counter()
            time.sleep(seconds)
            wall = time.perf_counter() - t0
            out[window] = {"ack": {k: list(v) for k, v in latency.items()},
                           "writer_cores": round((w.cpu_seconds - c0) / wall, 3),
                           "batches_per_s": round((w.batches - b0) / wall, 2)}
            stop.set()
            for t in threads:
                t.join()
            pool.shutdown(wait=True)
            w.stop()
    finally:
        conn.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=REPO / "data" / "city.duckdb")
    ap.add_argument("--work", type=Path, default=REPO / "data" / "bench" / "realtime")
    ap.add_argument("--taps", type=int, default=50)
    ap.add_argument("--displays", type=int, default=1000)
    ap.add_argument("--display-units", type=int, default=0,
                    help="spread the displays over this many units (default: each at a random unit)")
    ap.add_argument("--analysts", type=int, default=20)
    ap.add_argument("--analyst-units", type=int, default=40,
                    help="the units the analysts click through (each page is opened once before measuring)")
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--soak-minutes", type=float, default=0, help="a display in Chromium for this long (30 for the target)")
    ap.add_argument("--ratings-per-s", type=float, default=50)
    ap.add_argument("--tasks-per-s", type=float, default=20)
    ap.add_argument("--baseline-ref", default=BASELINE_REF)
    ap.add_argument("--ingest-batch-ms", type=int, default=None,
                    help="the server's INGEST_BATCH_MS (default: the setting's default)")
    ap.add_argument("--writer-windows", default="500,250",
                    help="INGEST_BATCH_MS values for the writer-alone measurement")
    ap.add_argument("--skip", default="", help="comma-separated: writer,taps,load,soak,day,small")
    args = ap.parse_args()
    if not args.db.exists():
        raise SystemExit(f"no database at {args.db}; build it with `python -m etl demo --scale city --db {args.db}`")
    skip = set(filter(None, args.skip.split(",")))
    (REPO / "bench" / "results").mkdir(exist_ok=True)
    info = prepare(args.db, args.work, args.displays, args.display_units)
    print(f"data: {info['sizes']} ({info['file_gb']} GB); {len(info['screens'])} displays", flush=True)
    report: dict = {"date": str(dt.date.today()), "sizes": info["sizes"], "file_gb": info["file_gb"], "args": vars(args)}
    if "writer" not in skip:
        windows = tuple(int(w) for w in args.writer_windows.split(","))
        report["writer_alone"] = alone = writer_alone(
            info["db"], args.work, info, {"ratings": args.ratings_per_s, "tasks": args.tasks_per_s}, windows)
        for window, r in alone.items():
            print(f"writer alone (no HTTP), INGEST_BATCH_MS={window}: ratings {summary(r['ack']['ratings'])}; "
                  f"tasks {summary(r['ack']['tasks'])}; writer thread {r['writer_cores']} cores, "
                  f"{r['batches_per_s']} batches/s", flush=True)
    env = {"THUOCDO_LIVE_PORT": str(free_port()), "THUOCDO_SECRET_KEY": SECRET}
    if args.ingest_batch_ms is not None:
        env["THUOCDO_INGEST_BATCH_MS"] = str(args.ingest_batch_ms)
    srv = start_server(info["db"], args.work / "server.log", env=env, timeout=600)
    stream = Stream(srv.base_url, info, args.ratings_per_s, args.tasks_per_s)
    try:
        time.sleep(5)
        idle0, idle_wall = process_cpu(srv.proc.pid), time.perf_counter()
        time.sleep(10)
        report["idle_process_cores"] = round((process_cpu(srv.proc.pid) - idle0) / (time.perf_counter() - idle_wall), 3)
        stream.start()
        time.sleep(10)  # the stream settles
        if "taps" not in skip:
            report["taps"] = taps_and_acks(srv, info, args.taps, stream)
            t = report["taps"]
            print(f"tap to screen: display {summary(t['display'])}; unit page {summary(t['unit page'])}; "
                  f"missed {t['missed']}", flush=True)
            print(f"API ack under {args.ratings_per_s:g} ratings/s + {args.tasks_per_s:g} tasks/s: ratings "
                  f"{summary(t['ack']['ratings'])}; tasks {summary(t['ack']['tasks'])}; errors {len(t['stream_errors'])}; "
                  f"writer thread {t['writer_cores']} cores, process {t['process_cores']} cores "
                  f"(idle {report['idle_process_cores']}), {t['batches_per_s']} batches/s; per batch (ms): "
                  f"{t['writer_phases_ms_per_batch']}", flush=True)
        if "load" not in skip:
            report["load"] = load = load_test(srv, info, args.minutes, args.analysts, stream, args.analyst_units)
            print(f"load {args.minutes:g} min: analysts' callbacks {summary(load['analyst_ms'])}, errors "
                  f"{len(load['analyst_errors'])}; displays connected {load['displays_connected']}/{len(info['screens'])}, "
                  f"errors {len(load['display_errors'])}, state fetches {summary(load['display_state_ms'])}, "
                  f"{load['version_events']} version events; stream ack ratings {summary(load['ack']['ratings'])}, "
                  f"errors {len(load['stream_errors'])}; RSS {load['rss_start_mb']} -> {load['rss_end_mb']} MB; "
                  f"process {load['process_cores']} cores", flush=True)
        stream.stop()
        if "soak" not in skip and args.soak_minutes > 0:
            report["soak"] = s = soak(srv, info, args.soak_minutes)
            print(f"soak {args.soak_minutes:g} min, {s['updates']} updates: start {s['samples'][0]}, "
                  f"end {s['samples'][-1]}", flush=True)
        if "day" not in skip:
            report["day"] = d = city_day(srv, args.db, args.work)
            print(f"one city day through the running server: {d['rows']:,} rows in {d['seconds']} s "
                  f"(etl load exit {d['exit']}): {d['files']}", flush=True)
    finally:
        stream.stop()
        stop_server(srv)
    if "small" not in skip:
        report["small_files"] = sf = small_files(info, args.work, args.baseline_ref)
        for label in ("before", "after"):
            print(f"small files, {label} ({args.baseline_ref if label == 'before' else 'this code'}), medians of "
                  f"two alternating runs: " + "; ".join(
                      f"{kind} {' / '.join(f'{statistics.median(v):.0f}' for v in runs)} ms (n={len(runs[0])} each)"
                      for kind, runs in sf[label].items()), flush=True)
    out = REPO / "bench" / "results" / f"realtime-{dt.datetime.now():%Y%m%d-%H%M}.json"
    out.write_text(json.dumps(report, indent=1, default=str))
    print(f"all figures: {out}")


if __name__ == "__main__":
    main()
