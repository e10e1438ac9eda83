"""Access-control suite (issue 12), against the real server on loopback, driven by the app's own
route map and callback graph (`app.server.url_map`, `app.callback_map`), so a route or callback
is covered the day it is added.

- Without a session every route and every callback is refused (a redirect to /login, 401, 403
  or 404), except the login page and the language switch; token endpoints refuse a wrong token.
- A leader of unit A asks every callback for something of B (unit B, A's ancestor the root, an
  official of B, a key result of B, period ranges, pattern-matching ids, extra inputs, wrong
  types) and gets nothing of B: no name or id of B's units, officials, objectives or key results
  (read from the database) is in any answer, and the server logs a denial.
- Exports (the explore CSV/Excel download), the JSON APIs, display tokens (/display/api/state)
  and device tokens apply the same scope; tokens open no page, callback or read API.
- A disabled user's cookie and a logged-out cookie fail at their next request.
- 1,000 interleaved requests from two leaders (threads, warm caches) never cross.

Cases tried and held per class go to test-artifacts/reliability/access.json.
"""
from __future__ import annotations

import base64
import io
import json
import re
import shutil
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
import requests

import access_load
from conftest import ARTIFACTS, Login, free_port, Tally, http_login, run_dashboard, start_server, stop_server

# Under the real-time benchmark's load every request waits its turn behind the load's: a test
# of a few hundred requests outlasts the default 600 s there, so each may take an hour then.
pytestmark = pytest.mark.timeout(3600 if access_load.wanted() else 600)

ACCESS_JSON = ARTIFACTS / "reliability" / "access.json"
PASSWORD = "access-Pass-0042"
NOT_FOUND = "Trang này không tồn tại hoặc nằm ngoài phạm vi bạn được xem."
ROUTER = ".._pages_content.children..._pages_store.data.."

_TALLY = Tally("cases")
_COUNTS = _TALLY.counts
case, tally = _TALLY.case, _TALLY.add


@pytest.fixture(scope="module", autouse=True)
def _record_counts():
    yield
    # Under the benchmark's load the same cases are recorded apart, with the load's command.
    target = access_load.CASES if access_load.wanted() else ACCESS_JSON
    command = (f'{access_load.ENV}="{access_load.os.environ[access_load.ENV]}" ' if access_load.wanted() else "") \
        + "pytest tests/test_access_suite.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps([{"class": k, "cases": v["cases"], "held": v["held"], "command": command,
                                   "mode": "under load" if access_load.wanted() else "quiet"}
                                       for k, v in sorted(_COUNTS.items())], ensure_ascii=False, indent=1) + "\n",
                           encoding="utf-8")


# --- the callback graph ---------------------------------------------------------------------

def _id_str(component_id) -> str:
    from dashboard import payloads
    return payloads._id_str(component_id)


@dataclass
class Graph:
    """The app's server-side callbacks, and bodies for them as Dash's renderer sends them."""

    callbacks: dict
    demo: object
    ctx: dict = field(default_factory=dict)

    @classmethod
    def of(cls, app, client, demo, **ctx) -> "Graph":
        client.get("/login")  # Dash registers the pages router at the first request
        callbacks = {k: v for k, v in app.callback_map.items() if "callback" in v}
        assert len(callbacks) >= 15, sorted(callbacks)
        return cls(callbacks, demo, {"unit": demo.dept, "official": demo.official, "period": demo.period,
                                     "kr": "KR-1", **ctx})

    @property
    def keys(self) -> list[str]:
        return sorted(self.callbacks)

    def navigation_only(self, key: str) -> bool:
        """Callbacks whose only output is a link (`nav.href`): they answer with the URL they were
        given, which the page at that URL checks again."""
        return all(o["property"].startswith("href") for o in self._outputs(key))

    def _plausible(self, cid: str, prop: str):
        c = self.ctx
        by_id = {"period-picker": c["period"], "okr-unit": c["unit"], "alerts-unit": c["unit"],
                 "explore-kpi": "on_time_rate", "explore-group": "units", "explore-start": c["period"],
                 "explore-end": c["period"], "explore-units": [c["unit"]],
                 "page-args": {"unit": c["unit"], "official": c["official"], "period": c["period"]},
                 "data-version": 1, "_pages_store": {"title": "x"}}
        by_prop = {"n_clicks": 1, "n_intervals": 1, "page_current": 0, "sort_by": [], "pathname": f"/unit/{c['unit']}",
                   "search": f"?period={c['period']}"}
        return by_id.get(cid, by_prop.get(prop))

    def _entry(self, spec: dict):
        cid, prop = spec["id"], spec["property"]
        if cid.startswith("{"):
            pattern = json.loads(cid)
            concrete = {k: (self.ctx["kr"] if isinstance(v, list) else v) for k, v in pattern.items()}
            return [{"id": concrete, "property": prop, "value": self._plausible(cid, prop)}]
        return {"id": cid, "property": prop, "value": self._plausible(cid, prop)}

    @staticmethod
    def _outputs(key: str) -> list[dict]:
        return [dict(zip(("id", "property"), o.rsplit(".", 1)))
                for o in (key[2:-2].split("...") if key.startswith("..") else [key])]

    def slots(self, key: str, props=None) -> list[tuple[str, int, str, str]]:
        """(part, index, id, property) of every input and state, optionally of some properties."""
        cb = self.callbacks[key]
        return [(part, n, s["id"], s["property"]) for part in ("inputs", "state") for n, s in enumerate(cb[part])
                if props is None or s["property"] in props]

    def body(self, key: str, overrides: dict | None = None, entries: dict | None = None, changed: str | None = None,
             **ctx) -> dict:
        """The renderer's body for `key`; `overrides` {(part, n): value}, `entries` {(part, n): entry}."""
        saved = self.ctx
        self.ctx = {**saved, **ctx}
        try:
            cb = self.callbacks[key]
            outputs = self._outputs(key)
            parts = {part: [self._entry(s) for s in cb[part]] for part in ("inputs", "state")}
        finally:
            self.ctx = saved
        for (part, n), value in (overrides or {}).items():
            entry = parts[part][n]
            if isinstance(entry, list):
                parts[part][n] = [{**e, "value": value} for e in entry]
            else:
                entry["value"] = value
        for (part, n), entry in (entries or {}).items():
            parts[part][n] = entry
        first = parts["inputs"][0][0] if isinstance(parts["inputs"][0], list) and parts["inputs"][0] \
            else parts["inputs"][0]
        if isinstance(first, dict) and "id" in first:
            changed = changed or f"{_id_str(first['id'])}.{first['property']}"
        return {"output": key, "outputs": outputs if key.startswith("..") else outputs[0],
                "inputs": parts["inputs"], "state": parts["state"], "changedPropIds": [changed] if changed else []}

    def router(self, path: str, search: str) -> dict:
        return {"output": ROUTER, "outputs": [{"id": "_pages_content", "property": "children"},
                                              {"id": "_pages_store", "property": "data"}],
                "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                           {"id": "_pages_location", "property": "search", "value": search}],
                "changedPropIds": ["_pages_location.pathname"], "state": []}


# --- who is who, from the database ----------------------------------------------------------

# An id as a whole token: not part of a longer id (`HN` is not found in `HN.S01`, `CB01` not in `CB012`).
_TOKEN_EDGE = r"(?<![A-Za-z0-9_.-]){}(?![A-Za-z0-9_]|[.-][A-Za-z0-9])"


@dataclass
class Scope:
    """What a leader of `unit` may see, and the names and ids of what they may not."""

    unit: str
    units: set[str]
    names: set[str]                  # every name and title inside the scope
    foreign_ids: set[str]            # unit, official and key-result ids outside the scope
    foreign_names: set[str]          # their names and titles that no one inside the scope shares
    some_foreign_unit: str = ""
    some_foreign_official: str = ""
    some_foreign_kr: str | None = None
    own_kr: str | None = None
    own_official: str = ""

    def leaks(self, text: str, sent: str = "") -> list[str]:
        """Names and ids outside the scope in `text`; ids the request itself carried do not count
        (a link callback answers with the URL it was given)."""
        found = [n for n in self.foreign_names if n in text]
        for i in self.foreign_ids:
            if i in text and re.search(_TOKEN_EDGE.format(re.escape(i)), text) and \
                    not re.search(_TOKEN_EDGE.format(re.escape(i)), sent):
                found.append(i)
        return found


def _scope(cur, unit: str, official: str) -> Scope:
    units = {r[0] for r in cur.execute("SELECT descendant FROM unit_closure WHERE ancestor = ?", [unit]).fetchall()}
    all_units = dict(cur.execute("SELECT unit_id, name FROM units").fetchall())
    people = cur.execute("SELECT official_id, full_name, unit_id FROM officials").fetchall()
    krs = cur.execute("SELECT k.kr_id, k.title, o.title, o.unit_id, o.objective_id FROM key_results k "
                      "JOIN objectives o USING (objective_id)").fetchall()
    inside_names = {all_units[u] for u in units} | {p[1] for p in people if p[2] in units} | \
                   {k[1] for k in krs if k[3] in units} | {k[2] for k in krs if k[3] in units}
    out_units = set(all_units) - units
    foreign_ids = out_units | {p[0] for p in people if p[2] not in units} | \
                  {k[0] for k in krs if k[3] not in units} | {k[4] for k in krs if k[3] not in units}
    raw_names = {all_units[u] for u in out_units} | {p[1] for p in people if p[2] not in units} | \
                {k[1] for k in krs if k[3] not in units} | {k[2] for k in krs if k[3] not in units}
    probes = set()
    for name in raw_names:
        probe = (name or "").strip()[:30]
        if len(probe) >= 6 and not any(probe in inside for inside in inside_names):
            probes.add(probe)
    foreign_ids = {i for i in foreign_ids if i and len(i) >= 2}
    foreign_kr = next((k[0] for k in krs if k[3] not in units), None)
    own_kr = next((k[0] for k in krs if k[3] in units), None)
    return Scope(unit, units, inside_names, foreign_ids, probes, own_kr=own_kr, some_foreign_kr=foreign_kr,
                 own_official=official)


@dataclass
class World:
    base: str
    server: object
    a: Scope
    b: Scope
    root: str
    b_child: str
    b_official: str
    root_kr: str | None
    logins: dict
    tokens: dict
    db: object
    periods: list

    def log_size(self) -> int:
        return self.server.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.server.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def world(demo, tmp_path_factory):
    """A private copy of the demo database with two leaders (A = demo.dept, B = demo.other_dept),
    an analyst of A, two leaders of A to disable and log out, a system and a counter device and a
    wall display of A; the real server on it (~15 s)."""
    from dashboard import tokens, users
    from etl.db import connect

    base = tmp_path_factory.mktemp("access")
    db = base / "access.duckdb"
    shutil.copy(demo.copies["kpis"], db)
    conn = connect(db)
    cur = conn.cursor()
    logins = {"leader_a": Login("acc.leader.a", PASSWORD, "leader", unit=demo.dept),
              "leader_b": Login("acc.leader.b", PASSWORD, "leader", unit=demo.other_dept),
              "analyst_a": Login("acc.analyst.a", PASSWORD, "analyst", unit=demo.dept),
              "gone": Login("acc.gone", PASSWORD, "leader", unit=demo.dept),
              "out": Login("acc.out", PASSWORD, "leader", unit=demo.dept)}
    for login in logins.values():
        users.add(cur, login.username, login.role, login.password, unit_id=login.unit)
    toks = {"system": tokens.add_device(cur, "acc-system"),
            "counter": tokens.add_device(cur, "acc-kiosk", counter_id="QA"),
            "display_a": tokens.add_display(cur, "acc-wall-a", demo.dept)}
    a = _scope(cur, demo.dept, demo.official)
    b = _scope(cur, demo.other_dept, demo.other_official)
    b_child = cur.execute("SELECT descendant FROM unit_closure WHERE ancestor = ? AND descendant <> ? "
                          "ORDER BY 1 LIMIT 1", [demo.other_dept, demo.other_dept]).fetchone()
    root_kr = cur.execute("SELECT k.kr_id FROM key_results k JOIN objectives o USING (objective_id) "
                          "WHERE o.unit_id = ? LIMIT 1", [demo.root]).fetchone()
    periods = [r[0] for r in cur.execute("SELECT DISTINCT period FROM scope_month ORDER BY 1").fetchall()]
    load = access_load.start_if_asked(cur)  # the real-time benchmark's load, when asked for
    cur.close()
    conn.close()
    live_port = str(free_port()) if load else "0"  # the displays under load follow the push stream
    srv = start_server(db, base / "server.log", env={"THUOCDO_LIVE_PORT": live_port})
    if load:
        load.start(srv)
    w = World(srv.base_url, srv, a, b, demo.root, b_child[0] if b_child else demo.other_dept, demo.other_official,
              root_kr[0] if root_kr else None, logins, toks, db, periods)
    yield w
    if load:
        print("load behind the suite:", load.stop())
    stop_server(srv)


@pytest.fixture(scope="module")
def graph(app, demo):
    """The callback graph, read from the in-process app (conftest): the same code the server runs."""
    return Graph.of(app, app.server.test_client(), demo)


def _json_text(r: requests.Response) -> str:
    """An answer as text; JSON re-dumped without escapes, so names are found as written."""
    try:
        return json.dumps(r.json(), ensure_ascii=False)
    except ValueError:
        return r.text


def _callback(s: requests.Session, base: str, body: dict) -> requests.Response:
    return s.post(base + "/_dash-update-component", data=json.dumps(body),
                  headers={"Content-Type": "application/json", "X-CSRFToken": s.cookies.get("_csrf_token", ""),
                           "Origin": base})


# --- 1. without a session -------------------------------------------------------------------

_SAMPLE = {"token": "t" * 43, "unit": "HN", "official": "CB000001", "kind": "ratings", "counter_id": "Q1",
           "code": "en", "path": "x.js", "filename": "x.css", "package_name": "dash",
           "fingerprinted_path": "dash-renderer/build/dash_renderer.min.js"}


def _url_for_rule(rule) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: quote(_SAMPLE.get(m.group(1), "x"), safe="/"), rule.rule)


def test_without_a_session_every_route_and_callback_is_refused(app, graph, world):
    from dashboard.auth import PUBLIC_ENDPOINTS, TOKEN_ENDPOINTS

    rules = list(app.server.url_map.iter_rules())
    assert len(rules) >= 15, [r.rule for r in rules]
    failures = []
    for jar in ({}, {"thuocdo_session": "forged.value.x", "_csrf_token": "x"}):
        s = requests.Session()
        s.cookies.update(jar)
        for rule in rules:
            url = world.base + _url_for_rule(rule)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                with case("no session: routes"):
                    r = s.request(method, url, allow_redirects=False, timeout=30,
                                  **({"data": b"{}", "headers": {"Content-Type": "application/json"}}
                                     if method == "POST" else {}))
                    if rule.endpoint in PUBLIC_ENDPOINTS:
                        ok = r.status_code < 500
                    elif rule.endpoint in TOKEN_ENDPOINTS:
                        ok = r.status_code in (401, 403, 404)
                    elif r.status_code in (301, 302, 303, 307, 308):
                        ok = r.headers.get("Location", "").split("?")[0].endswith("/login")
                    else:
                        ok = r.status_code in (401, 403, 404)
                    if not ok:
                        failures.append(f"{method} {rule.rule} ({rule.endpoint}): {r.status_code} "
                                        f"{r.headers.get('Location', '')} {r.text[:100]!r}")
                    assert ok, failures[-1]
        for key in graph.keys:
            with case("no session: callbacks"):
                r = s.post(world.base + "/_dash-update-component", json=graph.body(key), timeout=30)
                assert r.status_code in (401, 403), (key, r.status_code, r.text[:200])
                assert world.a.unit not in r.text or "login" in r.text
    assert not failures


# --- 2. a leader of A asks every callback for B --------------------------------------------

def _variants(graph: Graph, world: World, key: str):
    """(what, body, expects a denial) for every way a body can name something of B."""
    a, b = world.a, world.b
    other, root, child, person = b.unit, world.root, world.b_child, world.b_official
    first, last = world.periods[0], world.periods[-1]
    cb = graph.callbacks[key]
    for part, n, cid, prop in graph.slots(key):
        if cid == "page-args":
            forms = {"unit B": {"unit": other}, "the root": {"unit": root}, "a unit below B": {"unit": child},
                     "an official of B": {"official": person, "unit": None},
                     "A with an official of B": {"unit": a.unit, "official": person},
                     "B over the first period": {"unit": other, "period": first},
                     "B over the last period": {"unit": other, "period": last},
                     "unit B as a list": {"unit": [other]}, "B prefilled": {"unit": a.unit, "prefilled": [other]},
                     "unit B in an object": {"unit": {"unit": other}}, "the root and B's official": {
                         "unit": root, "official": person}}
            base = graph._plausible("page-args", "data")
            # A unit page reads `unit` and an official's page `official`: only the unit forms
            # must be denied by every callback (the others may fall back to A, or ignore it).
            reads_official = {"an official of B", "A with an official of B", "the root and B's official"}
            for what, changes in forms.items():
                yield f"page-args: {what}", graph.body(key, {(part, n): {**base, **changes}}), \
                    what not in reads_official
            for what, value in {"a list naming B": [other], "a string naming B": other}.items():
                yield f"page-args as {what}", graph.body(key, {(part, n): value}), True
        elif cid in ("alerts-unit", "okr-unit"):
            for what, value in {"unit B": other, "the root": root, "below B": child, "a list": [other]}.items():
                yield f"{cid}: {what}", graph.body(key, {(part, n): value}), True
        elif cid == "explore-units":
            for what, value in {"[B]": [other], "[A, B]": [a.unit, other], "[root]": [root], "B": other}.items():
                yield f"{cid}: {what}", graph.body(key, {(part, n): value}), True
        elif cid in ("explore-start", "explore-end"):
            yield f"{cid}: every period", graph.body(key, {(part, n): first if cid == "explore-start" else last}), False
        elif cid == "duty-official":
            yield "duty-official of B", graph.body(key, {(part, n): person}), True
        elif prop == "pathname":
            for path, search in ((f"/unit/{other}", ""), (f"/official/{person}", ""), (f"/unit/{root}", ""),
                                 ("/alerts", f"?unit={other}"), ("/okr", f"?unit={other}"),
                                 ("/explore", f"?units={other}"), (f"/unit/{a.unit}", f"?unit={other}"),
                                 (f"/unit/{child}", f"?period={first}")):
                over = {(part, n): path}
                for p2, n2, c2, pr2 in graph.slots(key, ("search",)):
                    over[(p2, n2)] = search
                yield f"location {path}{search}", graph.body(key, over), f"?unit={other}" != search or \
                    not path.startswith("/unit/")  # the path names the unit; `?unit=` is not read there
        elif prop == "search":
            yield "search naming B", graph.body(key, {(part, n): f"?unit={other}&units={other}&official={person}"}), \
                False
        elif prop == "clickData":
            yield "a click on B", graph.body(key, {(part, n): {"points": [{"id": other, "label": other}]}}), False
        elif cid.startswith("{"):
            pattern = json.loads(cid)
            for what, kr in {"a key result of B": b.some_foreign_kr, "a key result of the root": world.root_kr,
                             "a list id": [b.some_foreign_kr]}.items():
                if kr is None:
                    continue
                concrete = {k: (kr if isinstance(v, list) else v) for k, v in pattern.items()}
                entry = [{"id": concrete, "property": prop, "value": 1}]
                body = graph.body(key, entries={(part, n): entry},
                                  changed=f"{_id_str(concrete) if not isinstance(kr, list) else json.dumps(concrete)}"
                                          f".{prop}")
                yield f"{cid}: {what}", body, True
    # Extra inputs naming B, beyond the callback's own.
    body = graph.body(key)
    body["inputs"] = body["inputs"] + [{"id": "page-args", "property": "data", "value": {"unit": other}}]
    yield "an extra input naming B", body, False
    body = graph.body(key)
    body["state"] = list(body["state"]) + [{"id": "alerts-unit", "property": "value", "value": other}]
    yield "an extra state naming B", body, False
    del cb


def _as_a(world: World, body: dict) -> dict:
    """The same body with every id of B (and the root) replaced by its counterpart in A."""
    a = world.a
    swap = {world.b.unit: a.unit, world.root: a.unit, world.b_child: a.unit, world.b_official: a.own_official}
    if world.b.some_foreign_kr and a.own_kr:
        swap[world.b.some_foreign_kr] = a.own_kr
    if world.root_kr and a.own_kr:
        swap[world.root_kr] = a.own_kr
    text = json.dumps(body)
    for b_id in sorted(swap, key=len, reverse=True):
        text = re.sub(_TOKEN_EDGE.format(re.escape(b_id)), swap[b_id], text)
    return json.loads(text)


def test_a_leader_gets_nothing_of_another_unit_from_any_callback(graph, world):
    """Every variant: no 5xx, nothing of B in the answer. And where the answer shows that the
    callback read the value naming B (it differs from the answer to the same body naming A's
    counterpart instead), the server logged a denial."""
    s = http_login(world.base, world.logins["leader_a"])
    failures, missing_denials, tried = [], [], 0
    for key in graph.keys:
        # the page's own request, as a baseline: it works and shows nothing of B either
        r = _callback(s, world.base, graph.body(key))
        assert r.status_code in (200, 204, 400), (key, r.status_code, r.text[:200])
        with case("leader A: the page's own requests"):
            assert not world.a.leaks(_json_text(r)) if r.status_code == 200 else True, (key, world.a.leaks(r.text))
        for what, body, denial in _variants(graph, world, key):
            tried += 1
            with case("leader A: callbacks naming B"):
                offset = world.log_size()
                r = _callback(s, world.base, body)
                text = _json_text(r)
                logged = "denied" in world.log_since(offset)
                sent = json.dumps(body, ensure_ascii=False)
                leaks = world.a.leaks(text, sent)
                if r.status_code >= 500 or leaks:
                    failures.append(f"{key} / {what}: {r.status_code} leaks={leaks[:5]} {text[:200]}")
                assert r.status_code < 500 and not leaks, failures[-1]
            if denial and not graph.navigation_only(key) and r.status_code == 200 and not logged:
                control = _callback(s, world.base, _as_a(world, body))
                if control.status_code == 200 and _json_text(control) != text:  # B's value was read
                    missing_denials.append(f"{key} / {what}: {text[:160]}")
                    tally("leader A: a denial is logged", False)
            elif denial and not graph.navigation_only(key) and r.status_code in (200, 400):
                tally("leader A: a denial is logged", True)  # logged, or refused whole (400, logged too)
    assert tried > 150, tried
    assert not failures, "\n".join(failures[:30])
    assert not missing_denials, f"{len(missing_denials)} without a logged denial:\n" + "\n".join(missing_denials[:30])


# --- 3. exports, the JSON APIs, display and device tokens ----------------------------------

def _download_body(graph: Graph, kind: str, units, start, end, group="units", kpi="on_time_rate") -> dict:
    key = next(k for k in graph.keys if k.startswith("..explore-download.data"))
    over = {}
    for part, n, cid, prop in graph.slots(key):
        value = {"explore-csv": 1 if kind == "csv" else None, "explore-xlsx": 1 if kind == "xlsx" else None,
                 "explore-kpi": kpi, "explore-group": group, "explore-start": start, "explore-end": end,
                 "explore-units": units}.get(cid, graph._plausible(cid, prop))
        over[(part, n)] = value
    return graph.body(key, over, changed=f"explore-{kind}.n_clicks")


def _file_text(r: requests.Response) -> str | None:
    """The text of a downloaded file in a callback's answer (CSV, or every XML part of an XLSX)."""
    data = r.json().get("response", {}).get("explore-download", {}).get("data")
    if not data:
        return None
    raw = base64.b64decode(data["content"]) if data.get("base64") else data["content"].encode()
    if data["filename"].endswith(".xlsx"):
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            return "\n".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    return raw.decode("utf-8-sig")


def test_exports_stay_in_scope(graph, world):
    from dashboard.pages.explore import GROUP_LABEL, KPIS
    analyst = http_login(world.base, world.logins["analyst_a"])
    leader = http_login(world.base, world.logins["leader_a"])
    first, last = world.periods[0], world.periods[-1]
    files = 0
    for kind in ("csv", "xlsx"):
        for group in GROUP_LABEL:
            for kpi in list(KPIS)[:3]:
                with case("exports: the analyst's own scope"):
                    r = _callback(analyst, world.base, _download_body(graph, kind, [], first, last, group, kpi))
                    assert r.status_code == 200, r.text[:300]
                    content = _file_text(r)
                    if content is not None:
                        files += 1
                        assert not world.a.leaks(content), (kind, group, kpi, world.a.leaks(content)[:5])
        for units in ([world.b.unit], [world.a.unit, world.b.unit], [world.root], [world.b_child]):
            with case("exports: units of B"):
                r = _callback(analyst, world.base, _download_body(graph, kind, units, first, last))
                assert r.status_code in (200, 400) and _file_text(r) is None if r.status_code == 200 else True
                assert not world.a.leaks(_json_text(r), json.dumps(units)), r.text[:300]
        with case("exports: a leader has none"):
            r = _callback(leader, world.base, _download_body(graph, kind, [], first, last))
            assert r.status_code in (200, 204, 400) and (r.status_code != 200 or _file_text(r) is None), r.text[:300]
    assert files >= 2, files


@pytest.mark.parametrize("api", ["/api/v1/kpis", "/api/kpis"])
def test_the_json_apis_apply_the_scope(world, demo, api):
    s = http_login(world.base, world.logins["leader_a"])
    period = demo.period
    unknown = s.get(f"{world.base}{api}?unit=NO-SUCH-UNIT&period={period}")
    for query in (f"unit={world.b.unit}", f"unit={world.root}", f"unit={world.b_child}",
                  f"official={world.b_official}", f"unit={world.b.unit}&unit={world.a.unit}",
                  f"unit={quote(world.b.unit + chr(10))}", f"official={world.b_official}&unit={world.a.unit}"):
        with case("JSON API: ids of B"):
            offset = world.log_size()
            r = s.get(f"{world.base}{api}?{query}&period={period}")
            assert r.status_code in (400, 404), (query, r.status_code)
            assert r.status_code == 400 or "denied" in world.log_since(offset), query
            assert not world.a.leaks(_json_text(r), query), r.text[:300]
            if r.status_code == 404 and "official" not in query:
                assert r.json() == unknown.json()
    with case("JSON API: A's own unit"):
        r = s.get(f"{world.base}{api}?unit={world.a.unit}&period={period}")
        assert r.status_code == 200 and not world.a.leaks(_json_text(r))
    with case("JSON API: data-version of B"):
        r = s.get(f"{world.base}/api/data-version?unit={world.b.unit}")
        assert r.status_code == 404 and r.json() == s.get(f"{world.base}/api/data-version?unit=NOPE").json()


def test_a_display_token_shows_only_its_own_unit(world, graph):
    s = requests.Session()
    r = s.get(f"{world.base}/display/{world.tokens['display_a']}", allow_redirects=False)
    assert r.status_code == 303, r.status_code
    for query in ("", f"?unit={world.b.unit}", f"?unit={world.root}&lang=en", f"?display={world.b.unit}"):
        with case("display token: state"):
            r = s.get(f"{world.base}/display/api/state{query}")
            assert r.status_code == 200, r.text[:200]
            assert r.json()["unit"]["unit_id"] == world.a.unit
            assert not world.a.leaks(_json_text(r), query), world.a.leaks(_json_text(r), query)[:5]
    # The display's cookie opens nothing else.
    for path in ("/", f"/unit/{world.a.unit}", f"/api/v1/kpis?unit={world.a.unit}&period={world.periods[-1]}",
                 f"/api/kpis?unit={world.a.unit}&period={world.periods[-1]}", "/api/data-version"):
        with case("display token: nothing else"):
            r = s.get(world.base + path, allow_redirects=False)
            assert r.status_code in (302, 401, 403, 404), (path, r.status_code)
    with case("display token: nothing else"):
        r = s.post(world.base + "/_dash-update-component", json=graph.body("uv-tiles.children"), allow_redirects=False)
        assert r.status_code in (401, 403), r.status_code


@pytest.mark.parametrize("which", ["system", "counter"])
def test_a_device_token_opens_no_page_and_no_read_api(world, graph, which):
    token = world.tokens[which]
    period = world.periods[-1]
    for how in ("bearer", "cookie"):
        s = requests.Session()
        headers = {"Authorization": f"Bearer {token}"} if how == "bearer" else {"X-Thuocdo-Device": "1"}
        if how == "cookie":
            s.cookies.set("thuocdo_device", token)
        for path in ("/", f"/unit/{world.a.unit}", "/okr", "/data", f"/api/v1/kpis?unit={world.a.unit}&period={period}",
                     f"/api/kpis?unit={world.a.unit}&period={period}", "/api/data-version", "/display/api/state",
                     "/_dash-layout", "/_dash-dependencies"):
            with case("device token: pages and read APIs"):
                r = s.get(world.base + path, headers=headers, allow_redirects=False)
                assert r.status_code in (302, 401, 403, 404), (how, path, r.status_code)
                if r.status_code == 302:
                    assert "/login" in r.headers["Location"]
        with case("device token: pages and read APIs"):
            r = s.post(world.base + "/_dash-update-component", json=graph.body("uv-tiles.children"),
                       headers=headers, allow_redirects=False)
            assert r.status_code in (401, 403), r.status_code
        with case("device token: its own API works"):
            r = s.get(world.base + "/api/v1/device", headers=headers)
            assert r.status_code == 200 and r.json()["name"].startswith("acc-")


# --- 4. disabled users and logged-out cookies -----------------------------------------------

def _still_in(s: requests.Session, world: World, graph: Graph) -> list[int]:
    period = world.periods[-1]
    return [s.get(f"{world.base}/api/v1/kpis?unit={world.a.unit}&period={period}", allow_redirects=False).status_code,
            s.get(f"{world.base}/unit/{world.a.unit}", allow_redirects=False).status_code,
            _callback(s, world.base, graph.body("uv-tiles.children")).status_code]


def test_a_disabled_users_cookie_fails_at_its_next_request(world, graph):
    s = http_login(world.base, world.logins["gone"])
    assert _still_in(s, world, graph) == [200, 200, 200]
    proc = run_dashboard("users", "disable", world.logins["gone"].username, "--db", world.db)
    assert proc.returncode == 0, proc.stderr
    with case("sessions: a disabled user's cookie"):
        codes = _still_in(s, world, graph)
        assert codes[0] == 401 and codes[1] == 302 and codes[2] == 401, codes
    with case("sessions: a disabled user cannot sign in"):
        with pytest.raises(AssertionError):
            http_login(world.base, world.logins["gone"])


def test_a_logged_out_cookie_fails_at_its_next_request(world, graph):
    s = http_login(world.base, world.logins["out"])
    kept = requests.Session()
    kept.cookies.update(s.cookies)
    assert _still_in(kept, world, graph) == [200, 200, 200]
    r = s.post(world.base + "/logout", headers={"X-CSRFToken": s.cookies.get("_csrf_token", ""), "Origin": world.base},
               allow_redirects=False)
    assert r.status_code in (302, 303), (r.status_code, r.text[:200])
    with case("sessions: a logged-out cookie"):
        codes = _still_in(kept, world, graph)
        assert codes[0] == 401 and codes[1] == 302 and codes[2] == 401, codes


# --- 5. two leaders interleaved -------------------------------------------------------------

def test_two_leaders_interleaved_never_cross(world, graph, demo):
    period = demo.period
    leaders = {"a": (world.logins["leader_a"], world.a, world.b), "b": (world.logins["leader_b"], world.b, world.a)}
    cookies = {k: http_login(world.base, login).cookies for k, (login, _, _) in leaders.items()}
    ranking = next(k for k in graph.keys if k.startswith("..ranking-table.data"))

    def requests_for(unit: str) -> list:
        args = {"unit": unit, "official": None, "period": period}
        tiles = graph.body("uv-tiles.children", {("inputs", 0): args})
        rank = graph.body(ranking, {("inputs", 0): args})
        return [("GET", f"/api/v1/kpis?unit={unit}&period={period}", None),
                ("GET", f"/api/kpis?unit={unit}&period={period}", None),
                ("POST", "/_dash-update-component", tiles), ("POST", "/_dash-update-component", rank),
                ("POST", "/_dash-update-component", graph.router(f"/unit/{unit}", f"?period={period}")),
                ("POST", "/_dash-update-component", graph.router("/alerts", f"?period={period}")),
                ("POST", "/_dash-update-component", graph.router("/", f"?period={period}"))]

    plans = {k: requests_for(own.unit) for k, (_, own, _) in leaders.items()}
    local = threading.local()

    def session(who: str) -> requests.Session:
        if not hasattr(local, "sessions"):
            local.sessions = {}
        if who not in local.sessions:
            s = requests.Session()
            s.cookies.update(cookies[who])
            local.sessions[who] = s
        return local.sessions[who]

    def one(i: int):
        who = "ab"[i % 2]
        method, path, body = plans[who][(i // 2) % len(plans[who])]
        s = session(who)
        if method == "GET":
            r = s.get(world.base + path, timeout=60)
        else:
            r = _callback(s, world.base, body)
        _, own, other = leaders[who]
        text = _json_text(r)
        return who, path, r.status_code, own.leaks(text) + _cross(text, own, other)

    for i in range(2 * len(plans["a"])):  # warm every cache first
        one(i)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(1000)))
    elapsed = time.monotonic() - started
    crossed = [r for r in results if r[2] != 200 or r[3]]
    for r in results:
        with case("two leaders interleaved"):
            assert r[2] == 200 and not r[3], r
    assert len(results) == 1000 and not crossed, (len(crossed), crossed[:5], elapsed)


def _cross(text: str, own: Scope, other: Scope) -> list[str]:
    """What of the other leader's unit is in an answer meant for `own`: the other's own unit id
    and its names (names inside `own` are never counted)."""
    found = [n for n in other.names if len(n) >= 6 and n in text and not any(n in x for x in own.names)]
    if re.search(_TOKEN_EDGE.format(re.escape(other.unit)), text):
        found.append(other.unit)
    return found


def test_the_leak_detector_finds_what_it_looks_for(world, graph, demo):
    """The checks above would see a leak: B's own answers, given to B, are full of what A may not
    see (names and ids), and A's own answers of nothing of it."""
    period = demo.period
    ranking = next(k for k in graph.keys if k.startswith("..ranking-table.data"))
    for who, own, other in (("leader_b", world.b, world.a), ("leader_a", world.a, world.b)):
        s = http_login(world.base, world.logins[who])
        args = {"unit": own.unit, "official": None, "period": period}
        for body in (graph.body(ranking, {("inputs", 0): args}), graph.router(f"/unit/{own.unit}", f"?period={period}")):
            with case("the leak detector"):
                text = _json_text(_callback(s, world.base, body))
                assert other.leaks(text), (who, "the other leader's detector saw nothing", text[:200])
                assert not own.leaks(text), own.leaks(text)[:5]
    assert len(world.a.foreign_names) > 20 and len(world.a.foreign_ids) > 20
