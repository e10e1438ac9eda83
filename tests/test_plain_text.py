"""Text from the data is plain text everywhere, and names of people outside a viewer's scope
are not shown (issue 12, breaks 2, 8 and 9).

- The helpers (dashboard/text.py) and the places that use them: plotly labels escaped as
  entities, markdown cells escaped with link targets from ids, bidi controls removed, long
  names cut.
- The HTTP API answers `bad_text` and `text_too_long` per record (the loader's own checks are
  in test_bad_input.py).
- An evaluation's history names no actor outside the viewer's scope, even after a wider
  viewer filled the cache.
- Real Chromium on a copy of the demo database whose units and officials were renamed, with
  duckdb, to hostile strings (the loader would now quarantine them): no page grows a link to
  evil.example, the strings read literally, and no page hangs or grows huge (~40 s).
"""
from __future__ import annotations

import json
import re
import shutil

import duckdb
import pandas as pd
import pytest
import requests

from conftest import (Auth, browser_login, callback_payload, run_dashboard, screenshot, settled, start_server,
                      stop_server)

LINK = '<a href="https://evil.example">x</a>'
MARKDOWN = "<https://evil.example/x> **bold**"
RLO = "Phòng \u202eexe.gnaht"
LONG = "Dài" + "x" * 9997  # 10,000 characters, one word: nothing to wrap at
HOSTILE = (LINK, MARKDOWN, RLO, LONG)
BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


# --- the helpers and the figures and cells built with them -------------------------------

def test_plotly_labels_show_tags_as_text():
    from dashboard.components import charts

    sub = pd.DataFrame({"unit_id": ["A", "B"], "parent_id": [None, "A"], "name": [LINK, "<span style='font-size:90px'>y</span>"],
                        "officials_total": [2, 1], "on_time_rate": [0.8, None]})
    labels = charts.treemap(sub, "vi").data[0].labels
    # Box labels are wrapped with the chart's own <br>; every other character is text.
    unwrapped = tuple(label.replace("<br>", " ").replace(" ", "") for label in labels)
    assert unwrapped == ('&lt;ahref="https://evil.example"&gt;x&lt;/a&gt;', "&lt;spanstyle='font-size:90px'&gt;y&lt;/span&gt;")
    assert all("<" not in label.replace("<br>", "") for label in labels)
    df = pd.DataFrame({"group": [LINK, "b & c"], "on_time_rate": [0.5, 0.6]})
    bars = charts.series_chart(df, "group", "on_time_rate", "vi", percent=True).data[0]
    assert list(bars.y) == ['&lt;a href="https://evil.example"&gt;x&lt;/a&gt;', "b &amp; c"]
    months = pd.DataFrame({"month": ["2026-09-01", "2026-10-01"], "group": [LINK, LINK], "on_time_rate": [0.5, 0.6]})
    line = charts.series_chart(months, "month", "on_time_rate", "vi", color="group").data[0]
    assert "<" not in line.name


@pytest.mark.parametrize("name", [MARKDOWN, LINK, "[real](javascript:alert(1)) ![i](x.png) `c` _e_ # h",
                                  "a](https://evil.example) [b"])
def test_markdown_cells_cannot_make_a_link(name):
    from dashboard.components import tables

    cell = tables.link(name, "/unit/HN.SNV?period=2026-10")
    text, href = re.fullmatch(r"\[(.*)\]\(([^()\s]*)\)", cell).groups()
    assert href == "/unit/HN.SNV?period=2026-10"
    assert not re.search(r"(?<!\\)[<>*_`\[\]()!#]", text), text  # every metacharacter escaped
    assert tables.link("x", "/unit/a)b c?period=1").endswith("(/unit/a%29b%20c?period=1)")


def test_display_text_is_plain_short_and_has_no_bidi_controls():
    from dashboard import text

    assert text.label(RLO) == "Phòng exe.gnaht"
    assert text.label("a\u2067b\u2069\u200fc\x1b[31m\td") == "abc[31m d"
    assert len(text.label(LONG)) == text.LABEL and text.label(LONG).endswith("…")
    assert text.plain("dòng 1\ndòng 2", lines=True) == "dòng 1\ndòng 2"
    assert text.tooltip("ngắn") == "" and len(text.tooltip(LONG)) == text.TOOLTIP


# --- the HTTP API gives the new reasons per record ---------------------------------------

def test_api_answers_bad_text_and_text_too_long_per_record(hostile):
    records = [
        {"task_id": "PT-1", "official_id": hostile.official, "title": "Lập báo cáo tuần", "assigned_at": "2026-10-01",
         "due_at": "2026-10-20", "status": "open", "updated_at": "2026-10-01T08:00:00+07:00"},
        {"task_id": "PT-2", "official_id": hostile.official, "title": RLO, "assigned_at": "2026-10-01",
         "due_at": "2026-10-20", "status": "open", "updated_at": "2026-10-01T08:00:00+07:00"},
        {"task_id": "PT-3", "official_id": hostile.official, "title": "x" * 201, "assigned_at": "2026-10-01",
         "due_at": "2026-10-20", "status": "open", "updated_at": "2026-10-01T08:00:00+07:00"},
    ]
    r = requests.post(f"{hostile.base_url}/api/v1/tasks", json=records, timeout=30,
                      headers={"Authorization": f"Bearer {hostile.token}"})
    assert r.status_code == 207, r.text
    body = r.json()
    assert [(x["id"], x["result"], x["status"]) for x in body["results"]] == [
        ("PT-1", "loaded", 201), ("PT-2", "bad_text", 422), ("PT-3", "text_too_long", 422)]
    assert "U+202E" in body["results"][1]["detail"] and "201 characters" in body["results"][2]["detail"]
    assert (body["loaded"], body["quarantined"]) == (1, 2)


# --- evaluation history: actors outside the viewer's scope ---------------------------------

def _history_case(db, dept: str) -> tuple[str, set[str], set[str]]:
    """An official of the department evaluated by someone outside it: (official, names of the
    history's actors outside the department, names of those inside it)."""
    conn = duckdb.connect(str(db), read_only=True)
    try:
        rows = conn.execute("""
            WITH inside AS (SELECT descendant AS unit_id FROM unit_closure WHERE ancestor = ?)
            SELECT e.official_id, a.full_name, a.unit_id IN (SELECT unit_id FROM inside) AS in_scope
            FROM evaluations e JOIN officials o ON o.official_id = e.official_id
            JOIN officials a ON a.official_id = e.actor_id
            WHERE o.unit_id IN (SELECT unit_id FROM inside) ORDER BY e.official_id""", [dept]).fetchall()
    finally:
        conn.close()
    actors: dict[str, dict[bool, set]] = {}
    for official, name, in_scope in rows:
        actors.setdefault(official, {True: set(), False: set()})[in_scope].add(name)
    # One with actors on both sides, so the test sees a name kept and a name replaced.
    official = max(actors, key=lambda o: (bool(actors[o][False]), bool(actors[o][True])))
    return official, actors[official][False], actors[official][True]


def _strings(value) -> str:
    """Every string in a callback's JSON answer, one a line: the text the browser would show."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(_strings(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(_strings(v) for v in value)
    return ""


def _history(auth: Auth, official: str, period: str) -> str:
    r = auth.callback(callback_payload([("ov-history", "children")],
                                       [("page-args", "data", {"official": official, "period": period}),
                                        ("data-version", "data", 1)]))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return _strings(json.loads(r.get_data(as_text=True)))


def test_history_names_no_actor_outside_the_leaders_scope(app, demo):
    official, outside, inside = _history_case(demo.copies["kpis"], demo.dept)
    assert outside, "the demo has an official of the department evaluated from above"
    # The admin first, so the cache holds a history with every name in it.
    admin = Auth(app.server.test_client())
    assert admin.login(demo.logins["admin"]).status_code == 302
    seen_by_admin = _history(admin, official, demo.period)
    assert all(name in seen_by_admin for name in outside | inside)

    leader = Auth(app.server.test_client())
    assert leader.login(demo.logins["leader"]).status_code == 302
    seen = _history(leader, official, demo.period)
    assert "Lãnh đạo cấp trên" in seen
    for name in outside:
        assert name not in seen, f"{name} is outside {demo.dept}"
    for name in inside:
        assert name in seen


# --- real Chromium on a database holding hostile names -------------------------------------

@pytest.fixture(scope="module")
def hostile(demo, tmp_path_factory):
    """A server on a copy of the demo database whose depth-1 units and every official carry
    hostile names, written straight with duckdb; with a system device token (~10 s)."""
    base = tmp_path_factory.mktemp("hostile")
    db = base / "hostile.duckdb"
    shutil.copy(demo.copies["kpis"], db)
    conn = duckdb.connect(str(db))
    try:
        units = [r[0] for r in conn.execute("SELECT unit_id FROM units WHERE parent_id = ? ORDER BY unit_id",
                                            [demo.root]).fetchall()]
        for i, unit_id in enumerate(units):
            conn.execute("UPDATE units SET name = ? WHERE unit_id = ?", [HOSTILE[i % len(HOSTILE)], unit_id])
        conn.execute("UPDATE officials SET full_name = CASE hash(official_id) % 4 WHEN 0 THEN ? WHEN 1 THEN ? "
                     "WHEN 2 THEN ? ELSE ? END, position = ?", [*HOSTILE, MARKDOWN])
        # The ranking reads names from its rollup, kept current by the loader: renamed there too.
        conn.execute("UPDATE official_scores s SET full_name = o.full_name, position = o.position "
                     "FROM officials o WHERE o.official_id = s.official_id")
        long_unit = units[HOSTILE.index(LONG)]
        official = conn.execute("SELECT official_id FROM officials WHERE full_name = ? ORDER BY 1 LIMIT 1",
                                [LINK]).fetchone()[0]
    finally:
        conn.close()
    out = run_dashboard("devices", "add", "plain-text-sys", "--db", db)
    assert out.returncode == 0, out.stderr
    srv = start_server(db, base / "server.log")
    srv.token = next(line.split()[-1] for line in out.stdout.splitlines() if line.startswith("token:"))
    srv.long_unit, srv.official, srv.units = long_unit, official, units
    yield srv
    stop_server(srv)


# The elements reaching furthest right, to say what widened a page.
WIDEST = """[...document.querySelectorAll('body *')].map(e => [e.getBoundingClientRect().right, e.tagName + '.' +
  e.className + '#' + e.id]).sort((a, b) => b[0] - a[0]).slice(0, 8)"""
PAGES = ["/", "/explore", "/okr", "/alerts", "unit", "official"]


@pytest.mark.parametrize("path", PAGES)
def test_hostile_names_stay_plain_text_in_the_browser(browser, hostile, demo, path):
    path = {"unit": f"/unit/{hostile.long_unit}", "official": f"/official/{hostile.official}"}.get(path, path)
    context, page = browser_login(browser, hostile.base_url, demo.logins["admin"], viewport=(1400, 900))
    try:
        page.set_default_timeout(30_000)
        # The month before the demo's last: its evaluations are done, so the alerts have items.
        year, month = map(int, demo.period.split("-"))
        period = f"{year - (month == 1)}-{12 if month == 1 else month - 1:02d}"
        page.goto(hostile.base_url + path + ("" if path == "/explore" else f"?period={period}"))
        settled(page, timeout=30_000)  # a 10,000-character name once hung the page here
        assert page.locator("#not-found").count() == 0
        if path in ("/alerts", "/okr", "/explore"):  # open the unit picker: its options are names
            picker = page.locator("#alerts-unit, #okr-unit, #explore-units").first
            picker.click()
            page.wait_for_timeout(300)
        assert page.locator('a[href*="evil.example"]').count() == 0
        assert page.locator("svg a").count() == 0  # plotly made no link from a label
        shown = page.evaluate("document.body.textContent")
        assert not BIDI.search(shown), "a bidi control reached the page"
        assert "thang.exe" not in page.evaluate("document.body.innerText")
        if path in ("/", "/explore", "/alerts", "/okr") or path.startswith("/official"):
            assert LINK in shown or MARKDOWN in shown, "the names read literally"
        if path == "/alerts":  # markdown cells: the escaped names as written, links only to the app
            cells = page.locator("#alerts-table .dash-cell a")
            assert cells.count() > 0
            assert all(re.match(r"^/(unit|official)/", h or "") for h in cells.evaluate_all("l => l.map(a => a.getAttribute('href'))"))
            assert MARKDOWN in page.locator("#alerts-table").text_content()
        if path == "/":
            for name in (LINK, MARKDOWN, "Phòng exe.gnaht"):
                assert name in shown, name
        if path == "/explore":  # plotly shows the escaped tags as the characters themselves
            ticks = page.locator("#explore-graph").text_content()
            assert LINK in ticks and "&lt;" not in ticks
        assert LONG not in shown, "a 10,000-character name is cut for display"
        screenshot(page, "hostile-" + (path.strip("/").split("/")[0] or "home"))
        width, height = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        # Dash's dropdown keeps a hidden focus input past the period picker (~40 px) on every page.
        assert width <= 1500, (f"{path} is {width}px wide", page.evaluate(WIDEST))
        assert height <= 5000, f"{path} is {height}px tall"  # the unit page was 28,000 px
    finally:
        context.close()
