"""Shared fixtures: a demo database built once, the real server on a loopback port, real Chromium,
and an in-process app for what a browser cannot control (client addresses, forged payloads).

Others may append fixtures below; keep each fixture's cost visible in its docstring.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import requests

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
DEMO_UNTIL = "2026-10"  # fixed, so the data (not the date) decides what the tests see
SECRET = "test-secret-0123456789abcdef0123456789abcdef"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-gpu"]


@dataclass
class Login:
    username: str
    password: str
    role: str
    unit: str | None = None
    official: str | None = None


@dataclass
class Demo:
    """The demo database and who is in it."""
    path: Path
    root: str
    dept: str              # a department under the root, led by `leader`
    other_dept: str        # another department, outside `leader`'s scope
    official: str          # an official inside `dept`
    other_official: str    # an official inside `other_dept`
    period: str            # a complete month with data
    logins: dict[str, Login] = field(default_factory=dict)
    copies: dict[str, Path] = field(default_factory=dict)  # snapshots taken before the server opened the file


def run_dashboard(*args, stdin: str | None = None, env: dict | None = None, timeout: float = 120):
    """`python -m dashboard …` as a user would run it; `env` values of None unset a variable."""
    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "dashboard", *map(str, args)], cwd=REPO, input=stdin,
                          capture_output=True, text=True, timeout=timeout,
                          env={k: v for k, v in full.items() if v is not None})


def _pick(path: Path) -> dict:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        root = conn.execute("SELECT unit_id FROM units WHERE parent_id IS NULL ORDER BY unit_id").fetchone()[0]
        depts = [r[0] for r in conn.execute(
            "SELECT u.unit_id FROM units u WHERE u.parent_id = ? AND EXISTS (SELECT 1 FROM unit_closure c "
            "JOIN officials o ON o.unit_id = c.descendant WHERE c.ancestor = u.unit_id AND o.active) "
            "ORDER BY u.unit_id", [root]).fetchall()]

        def someone(unit):
            return conn.execute(
                "SELECT o.official_id FROM officials o JOIN unit_closure c ON c.descendant = o.unit_id "
                "JOIN official_month m ON m.official_id = o.official_id WHERE c.ancestor = ? AND o.active "
                "GROUP BY o.official_id ORDER BY sum(m.tasks_due) DESC, o.official_id LIMIT 1", [unit]).fetchone()[0]

        period = conn.execute("SELECT max(period) FROM scope_month WHERE unit_id = ? AND tasks_due > 0 AND period <= ?",
                              [root, DEMO_UNTIL]).fetchone()[0]
        return dict(root=root, dept=depts[0], other_dept=depts[1], official=someone(depts[0]),
                    other_official=someone(depts[1]), period=period)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    """The tiny demo data set (seeded) in a fresh database, with one login per role (~10 s)."""
    from etl.demo import build_demo

    base = tmp_path_factory.mktemp("demo")
    path = base / "thuocdo.duckdb"
    build_demo(path, scale="tiny", out_dir=base / "files", seed=42, until=DEMO_UNTIL, progress=None)
    d = Demo(path=path, **_pick(path))
    d.logins = {
        "admin": Login("admin", "admin-Pass-0001", "admin"),
        "city": Login("lanhdao.tp", "city-Pass-0002", "leader", unit=d.root),
        "leader": Login("lanhdao.so", "dept-Pass-0003", "leader", unit=d.dept),
        "analyst": Login("phantich", "analyst-Pass-0004", "analyst"),
        "official": Login("canbo", "official-Pass-0005", "official", official=d.official),
        "victim": Login("bi.khoa", "victim-Pass-0006", "leader", unit=d.dept),  # disabled mid-test
    }
    for login in d.logins.values():
        args = ["users", "add", login.username, "--role", login.role, "--password-stdin", "--db", path]
        if login.unit:
            args += ["--unit", login.unit]
        if login.official:
            args += ["--official", login.official]
        proc = run_dashboard(*args, stdin=login.password + "\n")
        assert proc.returncode == 0, proc.stderr
    for name in ("inproc", "cli", "kpis"):
        d.copies[name] = base / f"{name}.duckdb"
        shutil.copy(path, d.copies[name])
    return d


def kpis_cli(db: Path, *args) -> dict:
    """`python -m dashboard kpis … --format json`, parsed."""
    proc = run_dashboard("kpis", "--db", db, *args, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_pair() -> int:
    """A free port whose next one is free too: the server's push stream listens on port + 1."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free neighbouring ports on 127.0.0.1")


class PortTaken(RuntimeError):
    """The server could not listen: another process took its port (or port + 1) meanwhile."""


@dataclass
class Server:
    base_url: str
    db: Path
    log_path: Path
    proc: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_server(db: Path, log_path: Path, *extra, env: dict | None = None, timeout: float = 120,
                 port: int | None = None) -> Server:
    """`python -m dashboard serve` on a free loopback port (or `port`, to restart a server where
    its screens expect it); returns once /login answers (opening a database may first apply a
    schema upgrade). The log is appended to."""
    if port is None:  # another process may take a port between the check and the bind: try a new pair
        for attempt in range(3):
            try:
                return start_server(db, log_path, *extra, env=env, timeout=timeout, port=free_port_pair())
            except PortTaken:
                continue
        raise RuntimeError(f"three port pairs were taken before the server could listen:\n{log_path.read_text()}")
    log = open(log_path, "a", encoding="utf-8")
    log_start = log.tell()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port), *extra],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "THUOCDO_SECRET_KEY": SECRET, "THUOCDO_POLL_SECONDS": "1", **(env or {})})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = log_path.read_text()
            if "address already in use" in output[log_start:]:
                raise PortTaken(output)
            raise RuntimeError(f"server exited with {proc.returncode}:\n{output}")
        try:
            if requests.get(base + "/login", timeout=2).status_code == 200:
                return Server(base, db, log_path, proc)
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start:\n{log_path.read_text()}")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(scope="session")
def server(demo, tmp_path_factory) -> Server:
    """The real server (waitress, one process) on the demo database, for the whole session."""
    srv = start_server(demo.path, tmp_path_factory.mktemp("server") / "server.log")
    yield srv
    stop_server(srv)


# --- HTTP as a signed-in user ---------------------------------------------------------------

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    return _CSRF_FIELD.search(html).group(1)


def http_login(base_url: str, login: Login) -> requests.Session:
    """A requests session signed in through the real login form."""
    s = requests.Session()
    token = csrf_from(s.get(base_url + "/login").text)
    r = s.post(base_url + "/login", data={"csrf_token": token, "username": login.username,
                                          "password": login.password, "next": "/"}, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    return s


def callback_payload(outputs: list[tuple[str, str]], inputs: list[tuple[str, str, object]], state=()) -> dict:
    """A `/_dash-update-component` body as Dash's renderer sends it."""
    if len(outputs) == 1:
        output, spec = f"{outputs[0][0]}.{outputs[0][1]}", {"id": outputs[0][0], "property": outputs[0][1]}
    else:
        output = ".." + "...".join(f"{i}.{p}" for i, p in outputs) + ".."
        spec = [{"id": i, "property": p} for i, p in outputs]
    return {
        "output": output, "outputs": spec,
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"] if inputs else [],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
    }


def post_callback(session: requests.Session, base_url: str, payload: dict) -> requests.Response:
    return session.post(base_url + "/_dash-update-component", json=payload,
                        headers={"X-CSRFToken": session.cookies.get("_csrf_token", "")})


# --- the browser ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


# Counts the page's fetches (Dash's callbacks) so tests can wait until nothing is in flight,
# and how many callback requests were made, so a test can wait for the one its click causes.
TRACK_FETCH = """
(() => {
  window.__inflight = 0; window.__lastNet = performance.now(); window.__callbacks = 0;
  const orig = window.fetch;
  window.fetch = function(...args) {
    window.__inflight++; window.__lastNet = performance.now();
    if (String(args[0]).includes('_dash-update-component')) { window.__callbacks++; }
    return orig.apply(this, args).finally(() => { window.__inflight--; window.__lastNet = performance.now(); });
  };
})();
"""


def browser_login(browser, base_url: str, login: Login, viewport=(1600, 1000)):
    """A new browser context signed in as `login`; returns (context, page)."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, accept_downloads=True)
    context.add_init_script(TRACK_FETCH)
    page = context.new_page()
    page.goto(base_url + "/login")
    page.fill("#username", login.username)
    page.fill("#password", login.password)
    page.click("#login-button")
    page.wait_for_url(re.compile(r".*/(\?.*)?$"))
    return context, page


def settled(page, timeout: float = 20_000) -> None:
    """Wait until no callback has been in flight for 300 ms, no panel is loading and a page is shown."""
    page.wait_for_load_state("load", timeout=timeout)
    page.wait_for_function(
        "() => window.__inflight === 0 && performance.now() - window.__lastNet > 300 && "
        "!document.querySelector('[data-dash-is-loading=\"true\"]') && "
        "!document.querySelector('._dash-loading') && document.querySelector('#_pages_content > *')",
        timeout=timeout, polling=100)


def act(page, action, timeout: float = 20_000) -> None:
    """Run `action` (a click that starts Dash callbacks) and wait until they have all finished;
    waiting for quiet alone could return before the first request of the click has started."""
    before = page.evaluate("window.__callbacks")
    action()
    page.wait_for_function(f"() => window.__callbacks > {before}", timeout=timeout, polling=50)
    settled(page, timeout)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- in-process (Flask test client) ---------------------------------------------------------

@pytest.fixture(scope="session")
def app(demo, tmp_path_factory):
    """create_app on a copy of the demo database (the server owns the original file).
    One Dash app per process: Dash keeps pages and callbacks globally."""
    os.environ["THUOCDO_SECRET_KEY"] = SECRET
    from dashboard.app import create_app
    return create_app({"DB_PATH": str(demo.copies["inproc"]), "LOGIN_MAX_FAILURES": 3})


@pytest.fixture
def client(app):
    app.server.extensions["thuocdo_throttle"]._fails.clear()
    return app.server.test_client()


def audit_mark(app) -> int:
    """The in-process app's newest audit row id, once everything queued so far is written."""
    app.server.extensions["thuocdo_audit"].flush()
    cur = app.server.extensions["thuocdo_db"].cursor()
    try:
        return cur.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
    finally:
        cur.close()


def audit_since(app, mark: int) -> list[tuple]:
    """(kind, username, target, detail) of the audit rows written after `mark`, oldest first."""
    app.server.extensions["thuocdo_audit"].flush()
    cur = app.server.extensions["thuocdo_db"].cursor()
    try:
        return cur.execute("SELECT kind, username, target, detail FROM audit_log WHERE id > ? ORDER BY id",
                           [mark]).fetchall()
    finally:
        cur.close()


class Auth:
    """Sign a Flask test client in and out through the real form."""

    def __init__(self, client):
        self.client = client

    def csrf(self) -> str:
        return csrf_from(self.client.get("/login").get_data(as_text=True))

    def login(self, login: Login, **environ):
        token = self.csrf()
        return self.client.post("/login", data={"csrf_token": token, "username": login.username,
                                                "password": login.password, "next": "/"},
                                environ_base=environ)

    def callback(self, payload: dict):
        token = self.client.get_cookie("_csrf_token")
        return self.client.post("/_dash-update-component", json=payload,
                                headers={"X-CSRFToken": token.value if token else ""})


@pytest.fixture
def auth(client) -> Auth:
    return Auth(client)


# --- what the reliability report (tests/reliability_report.py) reads ---------------------------

# Test files by the class of attack or fault they cover (docs/reliability.md).
RELIABILITY_CLASSES = {
    "test_access_suite.py": "Access control: sessions, scopes, exports, tokens",
    "test_hostile_requests.py": "Hostile requests: URL parameters, periods and ids, forged callbacks",
    "test_gate_hardening.py": "The gate: body limits, login throttle, origin check, headers",
    "test_auth.py": "Sign-in, sessions, CSRF",
    "test_tokens.py": "Device and display tokens",
    "test_plain_text.py": "Plain text: HTML, Markdown and bidi in names, text limits",
    "test_bad_input.py": "Bad input files",
    "test_fuzz.py": "Fuzzing: the ingestion API, the file loader, filters and sorts",
    "test_durability.py": "Durability: kill -9 during loads, read-only storage, locked connection",
    "test_audit.py": "Audit log",
}
_outcomes: dict[str, dict[str, int]] = {}


def pytest_runtest_logreport(report):
    name = Path(report.fspath).name
    if name not in RELIABILITY_CLASSES or (report.when != "call" and not (report.when == "setup" and report.outcome != "passed")):
        return
    counts = _outcomes.setdefault(name, {"passed": 0, "failed": 0, "skipped": 0})
    counts[report.outcome] = counts.get(report.outcome, 0) + 1


def pytest_sessionfinish(session):
    """Each class's tests and their outcomes, for the report (only classes that ran; a run of
    one file leaves the others' last figures in place)."""
    if not _outcomes:
        return
    folder = ARTIFACTS / "reliability"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "suites.json"
    suites = json.loads(path.read_text()) if path.exists() else {}
    stamp = time.strftime("%Y-%m-%d %H:%M")
    for name, counts in _outcomes.items():
        suites[name] = {"class": RELIABILITY_CLASSES[name], **counts, "run_at": stamp}
    path.write_text(json.dumps(suites, indent=1, ensure_ascii=False))


class Tally:
    """Cases (or examples) of each class tried and held, for docs/reliability.md. `with
    tally.case(name):` counts one, held if the block ends cleanly; `tally.add(name, held)`."""

    def __init__(self, unit: str):
        self.unit = unit
        self.counts: dict[str, dict[str, int]] = {}

    def add(self, name: str, held: bool) -> None:
        counts = self.counts.setdefault(name, {self.unit: 0, "held": 0})
        counts[self.unit] += 1
        counts["held"] += int(held)

    @contextmanager
    def case(self, name: str):
        held = False
        try:
            yield
            held = True
        finally:
            self.add(name, held)
