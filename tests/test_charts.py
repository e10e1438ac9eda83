"""Charts that tell the truth (issue 13: items 8-12, 15, and the explore denial of issue 12).

- Every figure built for the demo database has axis titles with units, in both languages.
- The official's chart gives the task score (0-70) and the final score (0-100) each their own axis.
- Phân tích by counter draws one bar per (unit, counter), each a rate of at most 100 %; by month
  it draws a units x months grid, and the table's headers are distinct.
- The treemap's "no data" differs from every colour of its scale and from 0 %; the scale has no grey.
- The official's citizen feedback follows the chosen period (the SQL count of that official's
  ratings in that month), and filters by level and counter.
- A forged Phân tích callback writes a `denied` audit row, as the other pages do.
- Screenshots of the official page, Phân tích (by counter, by month) and the unit page at
  1920x1080 and 390x844.

In-process callbacks use conftest's `app`/`auth` (the app's own database copy, read through the
app's cursor, since other tests load data into it); the browser part uses the real server.
"""
from __future__ import annotations

import json
import re
import uuid

import duckdb
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.colors import sample_colorscale, unlabel_rgb, hex_to_rgb

from conftest import audit_mark, audit_since, browser_login, callback_payload, screenshot, settled
from dashboard.components import charts, palette
from dashboard.metrics import lookups, trends

NOT_FOUND = "Trang này không tồn tại hoặc nằm ngoài phạm vi bạn được xem."


# --- helpers ----------------------------------------------------------------------------------

def _cursor(app):
    return app.server.extensions["thuocdo_db"].cursor()


def _explore(group, kpi, start, end, units=()):
    return callback_payload(
        [("explore-table", "data"), ("explore-table", "columns"), ("explore-table", "page_count"),
         ("explore-chart", "children"), ("explore-count", "children"), ("explore-url", "search")],
        [("explore-kpi", "value", kpi), ("explore-group", "value", group), ("explore-start", "value", start),
         ("explore-end", "value", end), ("explore-units", "value", list(units)), ("explore-table", "page_current", 0),
         ("explore-table", "sort_by", []), ("data-version", "data", 1)],
        [("explore-url", "search", "")])


def _feedback(official, period, level=None, counter=None, page=0):
    return callback_payload(
        [("ov-feedback-table", "data"), ("ov-feedback-table", "page_count"), ("ov-feedback-count", "children"),
         ("ov-feedback-counter", "options")],
        [("page-args", "data", {"official": official, "period": period}), ("data-version", "data", 1),
         ("ov-feedback-level", "value", level), ("ov-feedback-counter", "value", counter),
         ("ov-feedback-table", "page_current", page)])


def _response(r) -> dict:
    assert r.status_code == 200, (r.status_code, r.get_data(as_text=True)[:300])
    return r.get_json()["response"]


def _figures(tree) -> list[dict]:
    """Every dcc.Graph figure inside a serialised component tree."""
    found = []
    if isinstance(tree, dict):
        if tree.get("type") == "Graph" and isinstance(tree.get("props", {}).get("figure"), dict):
            found.append(tree["props"]["figure"])
        for value in tree.values():
            found += _figures(value)
    elif isinstance(tree, list):
        for value in tree:
            found += _figures(value)
    return found


def _axes_used(fig: dict) -> set[str]:
    """Layout keys of the axes the traces draw on (xaxis, yaxis, yaxis2, …)."""
    used = set()
    for trace in fig["data"]:
        for letter in ("x", "y"):
            ref = trace.get(f"{letter}axis", letter)
            used.add(f"{letter}axis{ref[1:]}")
    return used


def _title(fig: dict, axis: str) -> str:
    title = fig["layout"].get(axis, {}).get("title", {})
    return title.get("text", "") if isinstance(title, dict) else str(title or "")


# --- 8. axis titles with units ----------------------------------------------------------------

@pytest.mark.parametrize("lang, month, percent", [("vi", "Tháng", "%"), ("en", "Month", "%")])
def test_every_figure_for_the_demo_has_axis_titles_with_units(app, demo, lang, month, percent):
    cur = _cursor(app)
    try:
        unit = trends.unit_trend(cur, demo.root, demo.period)
        rater = cur.execute("SELECT official_id FROM ratings GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[0]
        official = trends.official_trend(cur, rater, demo.period)  # an official at a counter: both charts
        from dashboard.pages.explore import _distinct_labels
        bars = _distinct_labels(lookups.explore(cur, "counter", demo.period, demo.period, [demo.root]), "counter", lang)
        months = _distinct_labels(lookups.explore(cur, "month", "2026-01", demo.period, [demo.dept, demo.other_dept]),
                                  "month", lang)
    finally:
        cur.close()
    figures = {
        "trend_rates": charts.trend_rates(unit, lang), "trend_score": charts.trend_score(unit, lang),
        "rating_distribution": charts.rating_distribution(unit, lang),
        "official_scores": charts.official_scores(official, lang), "satisfaction": charts.satisfaction(official, lang),
        "explore bars": charts.series_chart(bars, "group", "satisfaction_rate", lang, percent=True,
                                            y_label=charts.axis_title("satisfaction_rate", lang), x_label="Quầy"),
        "explore grid": charts.month_heatmap(months, "on_time_rate", lang, rows=list(months["group"].unique()),
                                             percent=True, z_label=charts.axis_title("on_time_rate", lang),
                                             y_label="Đơn vị"),
        "okr history": charts.series_chart(unit.assign(month=unit["period"] + "-01"), "month", "on_time_rate", lang,
                                           percent=True, kind="line", y_label="Giá trị"),
    }
    for name, fig in figures.items():
        assert fig is not None, name
        fig = fig.to_plotly_json()
        go.Figure(fig)  # every property checked: charts.py assembles figures without plotly's validation
        assert fig["data"], name
        for axis in _axes_used(fig):
            assert _title(fig, axis).strip(), f"{name}: {axis} has no title"
        titles = " | ".join(_title(fig, a) for a in _axes_used(fig))
        if name not in ("explore bars", "explore grid"):
            assert month in titles, (name, titles)  # every month axis says so
    # units: rates in %, scores in points out of their maximum, counts in what they count
    assert charts.axis_title("on_time_rate", "vi") == "Tỷ lệ đúng hạn (%)"
    assert charts.axis_title("task_score", "vi") == "Điểm nhiệm vụ (điểm, tối đa 70)"
    assert charts.axis_title("dissatisfied_count", "vi") == "Lượt không hài lòng (lượt đánh giá)"
    assert charts.axis_title("task_score", "en") == "Task score (points, max 70)"
    assert percent in _title(figures["trend_rates"].to_plotly_json(), "yaxis")


# --- 9. the official's two scores, each on its own scale ---------------------------------------

def test_the_official_chart_gives_each_score_its_own_full_scale(app, demo):
    cur = _cursor(app)
    try:
        df = trends.official_trend(cur, demo.official, demo.period)
    finally:
        cur.close()
    fig = charts.official_scores(df, "vi").to_plotly_json()
    bars, line = fig["data"]
    assert bars["type"] == "bar" and bars.get("yaxis", "y") == "y" and line.get("yaxis") == "y2"
    assert list(fig["layout"]["yaxis"]["range"]) == [0, 100]
    assert list(fig["layout"]["yaxis2"]["range"]) == [0, 70]
    # Gridlines shared: five steps on each, so 70/70 sits exactly where 100/100 does.
    assert 100 / fig["layout"]["yaxis"]["dtick"] == 70 / fig["layout"]["yaxis2"]["dtick"]
    assert "100" in _title(fig, "yaxis") and "70" in _title(fig, "yaxis2")


# --- 10 and 11. Phân tích by counter and by month ----------------------------------------------

def test_explore_by_counter_draws_one_bar_per_counter_of_a_unit_and_never_adds_rates(app, auth, demo):
    auth.login(demo.logins["analyst"])
    start = demo.period
    response = _response(auth.callback(_explore("counter", "satisfaction_rate", start, demo.period)))
    figures = _figures(response["explore-chart"]["children"])
    assert len(figures) == 1
    fig = figures[0]
    assert fig["layout"].get("barmode") in (None, "group") and len(fig["data"]) == 1
    bars = fig["data"][0]
    cur = _cursor(app)
    try:
        first, _ = lookups.period_bounds(start)
        _, after = lookups.period_bounds(demo.period)
        # (unit, counter) pairs of the two children's subtrees, as the page's default units
        children = [u["unit_id"] for u in lookups.units_in_scope(cur, demo.root, max_depth=1) if u["depth"] == 1]
        pairs = cur.execute("""
            SELECT count(DISTINCT (o.unit_id, coalesce(r.counter_id, ''))) FROM ratings r
            JOIN officials o USING (official_id)
            WHERE r.rated_at >= ? AND r.rated_at < ? AND o.unit_id IN (
                SELECT descendant FROM unit_closure WHERE ancestor IN (SELECT unnest(?::VARCHAR[])))""",
                            [first, after, children]).fetchone()[0]
    finally:
        cur.close()
    assert pairs > 1
    rows = response["explore-table"]["data"]
    assert len(bars["y"]) == min(pairs, 40) == len(set(bars["y"]))  # one bar each, none merged
    assert all(0 <= v <= 1 for v in bars["x"] if v is not None), max(bars["x"])
    assert fig["layout"]["xaxis"]["range"][1] <= 1.01  # the axis ends at 100 %, not 2.000 %
    labels = [r["group"] for r in rows]
    assert all(label.startswith("Quầy ") and " · " in label for label in labels), labels[:3]
    assert len(set(labels)) == len(labels)


def test_explore_by_month_is_a_units_by_months_grid_with_distinct_headers(app, auth, demo):
    auth.login(demo.logins["analyst"])
    response = _response(auth.callback(_explore("month", "satisfaction_rate", "2026-01", demo.period,
                                                 [demo.dept, demo.other_dept])))
    headers = [c["name"] for c in response["explore-table"]["columns"]]
    assert len(set(headers)) == len(headers) and headers[:2] == ["Đơn vị", "Tháng"], headers
    [fig] = _figures(response["explore-chart"]["children"])
    [grid] = fig["data"]
    assert grid["type"] == "heatmap" and len(grid["y"]) == 2
    months = int(demo.period[5:])  # January to the demo's month
    assert list(grid["x"]) == [f"{m:02d}/{demo.period[:4]}" for m in range(1, months + 1)]
    assert all(v is None or 0 <= v <= 1 for row in grid["z"] for v in row)
    assert _title(fig, "xaxis") == "Tháng" and _title(fig, "yaxis") == "Đơn vị"


# --- 12. the treemap's colours ------------------------------------------------------------------

def _rgb(colour: str) -> tuple[int, ...]:
    return tuple(int(float(c)) for c in (hex_to_rgb(colour) if colour.startswith("#") else unlabel_rgb(colour)))


def test_no_data_differs_from_every_colour_of_the_scale_and_from_zero():
    missing = _rgb(palette.MISSING)
    scale = [_rgb(c) for c in sample_colorscale(palette.SEQUENTIAL, [i / 100 for i in range(101)])]
    nearest = min(sum(abs(a - b) for a, b in zip(missing, c)) for c in scale)
    assert nearest > 150, nearest  # far from every value, not just different by a digit
    assert charts.scale_colours([0.0, None]) == [charts.scale_colours([0.0])[0], palette.MISSING]
    assert charts.scale_colours([0.0])[0] != palette.MISSING
    middle = _rgb(sample_colorscale(palette.SEQUENTIAL, [0.5])[0])  # about 75 %
    assert max(middle) - min(middle) > 60, middle  # a colour, not a grey
    sub = pd.DataFrame({"unit_id": ["R", "A", "B", "C"], "parent_id": [None, "R", "R", "R"],
                        "name": ["Gốc", "A", "B", "C"], "officials_total": [9, 2, 3, 4],
                        "on_time_rate": [0.75, None, 0.0, 0.75]})
    go.Figure(charts.treemap(sub, "vi").to_plotly_json())  # every property valid (built unvalidated)
    box = charts.treemap(sub, "vi").data[0]
    assert list(box.text) == ["75,0 %", "chưa có dữ liệu", "0,0 %", "75,0 %"]
    assert box.marker.colors[1] == palette.MISSING != box.marker.colors[2]
    assert list(box.marker.pattern.shape) == ["", palette.MISSING_HATCH, "", ""]
    assert box.maxdepth == 2 and charts.treemap(sub, "vi").layout.uniformtext.minsize >= 11


# --- 15. citizen feedback follows the period -------------------------------------------------

def test_the_feedback_list_follows_the_period_and_filters(app, auth, demo):
    cur = _cursor(app)
    try:
        official, period, n = cur.execute("""
            SELECT official_id, strftime(rated_at, '%Y-%m') AS p, count(*) FROM ratings
            WHERE strftime(rated_at, '%Y-%m') <= ? GROUP BY ALL ORDER BY 3 DESC, 1, 2 LIMIT 1""",
                                          [demo.period]).fetchone()
        earlier = cur.execute("""
            SELECT strftime(rated_at, '%Y-%m') AS p, count(*) FROM ratings WHERE official_id = ?
            AND strftime(rated_at, '%Y-%m') <> ? GROUP BY ALL ORDER BY 1 LIMIT 1""", [official, period]).fetchone()
        level1 = cur.execute("""SELECT count(*) FROM ratings WHERE official_id = ? AND level = 1
            AND strftime(rated_at, '%Y-%m') = ?""", [official, period]).fetchone()[0]
        counter, by_counter = cur.execute("""SELECT counter_id, count(*) FROM ratings WHERE official_id = ?
            AND strftime(rated_at, '%Y-%m') = ? GROUP BY ALL ORDER BY 2 DESC, 1 LIMIT 1""", [official, period]).fetchone()
        newest = cur.execute("""SELECT max(rated_at) FROM ratings WHERE official_id = ?
            AND strftime(rated_at, '%Y-%m') = ?""", [official, period]).fetchone()[0]
    finally:
        cur.close()
    assert n > 10 and earlier is not None
    auth.login(demo.logins["admin"])

    got = _response(auth.callback(_feedback(official, period)))
    pages = -(-n // 10)
    assert got["ov-feedback-table"]["page_count"] == pages and len(got["ov-feedback-table"]["data"]) == 10
    assert got["ov-feedback-count"]["children"] == f"{n} lượt đánh giá trong kỳ {period[5:]}/{period[:4]}"
    assert got["ov-feedback-table"]["data"][0]["rated_at"] == newest.strftime("%d/%m/%Y %H:%M")
    last = _response(auth.callback(_feedback(official, period, page=pages - 1)))
    assert len(last["ov-feedback-table"]["data"]) == n - 10 * (pages - 1)

    other_period, other_n = earlier
    other = _response(auth.callback(_feedback(official, other_period)))
    assert other["ov-feedback-count"]["children"].startswith(f"{other_n} lượt")  # not the 8 newest whatever the month
    assert other["ov-feedback-table"]["page_count"] == -(-other_n // 10)

    only = _response(auth.callback(_feedback(official, period, level="1")))
    assert only["ov-feedback-count"]["children"].startswith(f"{level1}/{n} " if level1 != n else f"{n} ")
    assert all(r["level"].endswith("Không hài lòng") for r in only["ov-feedback-table"]["data"])
    at = _response(auth.callback(_feedback(official, period, counter=counter)))
    assert at["ov-feedback-count"]["children"].startswith(f"{by_counter}/{n} " if by_counter != n else f"{n} ")
    assert counter in [o["value"] for o in got["ov-feedback-counter"]["options"]]
    # a value that is no choice is no filter (and no error)
    odd = _response(auth.callback(_feedback(official, period, level="9", counter="' OR 1=1")))
    assert odd["ov-feedback-count"]["children"] == got["ov-feedback-count"]["children"]


def test_the_feedback_of_an_official_outside_the_scope_is_not_found(app, auth, demo):
    auth.login(demo.logins["leader"])
    got = _response(auth.callback(_feedback(demo.other_official, demo.period)))
    assert got["ov-feedback-table"]["data"] == [] and got["ov-feedback-count"]["children"] == NOT_FOUND


# --- issue 12 leftover: a forged Phân tích callback is audited -----------------------------------

def test_a_forged_explore_callback_writes_a_denied_audit_row(app, client, auth, demo):
    from conftest import Login
    from dashboard import users

    analyst = Login(f"charts.analyst.{uuid.uuid4().hex[:6]}", "charts-Pass-0042", "analyst", unit=demo.dept)
    cur = _cursor(app)
    try:
        users.add(cur, analyst.username, analyst.role, analyst.password, unit_id=analyst.unit)
    finally:
        cur.close()
    auth.login(analyst)
    forged = {"[B]": [demo.other_dept], "[A, B]": [demo.dept, demo.other_dept], "[root]": [demo.root],
              "an unknown unit": ["NO-SUCH-UNIT"]}
    for what, units in forged.items():
        mark = audit_mark(app)
        got = _response(auth.callback(_explore("units", "on_time_rate", demo.period, demo.period, units)))
        assert got["explore-table"]["data"] == [], what
        rows = audit_since(app, mark)
        assert ("denied", analyst.username, "unit") in [r[:3] for r in rows], (what, rows)
        assert demo.other_dept not in json.dumps(got, ensure_ascii=False), what
    for field, payload in {"kpi": _explore("units", "'; DROP TABLE x", demo.period, demo.period),
                           "group": _explore("nope", "on_time_rate", demo.period, demo.period)}.items():
        mark = audit_mark(app)
        assert _response(auth.callback(payload))["explore-table"]["data"] == []
        assert [r[:3] for r in audit_since(app, mark)] == [("denied", analyst.username, field)], field
    own = _response(auth.callback(_explore("units", "on_time_rate", demo.period, demo.period, [demo.dept])))
    assert len(own["explore-table"]["data"]) == 1  # the analyst's own unit still answers

    # a role without Phân tích (an official) forging its callback: refused and recorded
    client.get("/")  # hands the CSRF token to the browser as the _csrf_token cookie
    client.post("/logout", headers={"X-CSRFToken": client.get_cookie("_csrf_token").value})
    auth.login(demo.logins["official"])
    mark = audit_mark(app)
    got = _response(auth.callback(_explore("units", "on_time_rate", demo.period, demo.period)))
    assert got["explore-table"]["data"] == []
    assert [r[:3] for r in audit_since(app, mark)] == [("denied", demo.logins["official"].username, "page")]


# --- screenshots ----------------------------------------------------------------------------

@pytest.mark.parametrize("viewport", [(1920, 1080), (390, 844)], ids=["1920x1080", "390x844"])
def test_chart_pages_in_chromium(browser, server, demo, viewport):
    conn = duckdb.connect(str(demo.copies["kpis"]), read_only=True)
    try:
        official = conn.execute("""SELECT official_id FROM ratings WHERE strftime(rated_at, '%Y-%m') = ?
            GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""", [demo.period]).fetchone()[0]
        n = conn.execute("""SELECT count(*) FROM ratings WHERE official_id = ? AND strftime(rated_at, '%Y-%m') = ?""",
                         [official, demo.period]).fetchone()[0]
    finally:
        conn.close()
    size = f"{viewport[0]}x{viewport[1]}"
    context, page = browser_login(browser, server.base_url, demo.logins["analyst"], viewport=viewport)
    try:
        page.goto(f"{server.base_url}/official/{official}?period={demo.period}")
        settled(page)
        page.wait_for_selector("#ov-feedback-table td")
        assert page.inner_text("#ov-feedback-count").startswith(f"{n} lượt đánh giá")
        page.wait_for_selector("#ov-scores-graph .g-y2title", timeout=10_000)  # plotly draws after the callback
        assert page.locator("#ov-scores-graph .g-y2title").count() == 1  # the task score's own axis
        right = page.evaluate("document.querySelector('.feedback-panel').getBoundingClientRect().right")
        assert right <= viewport[0], right  # the list fits the screen (its table scrolls inside)
        screenshot(page, f"charts-official-{size}")

        start = f"{int(demo.period[:4]) - 1}{demo.period[4:]}"
        page.goto(f"{server.base_url}/explore?kpi=satisfaction_rate&group=counter&start={start}&end={demo.period}")
        settled(page)
        page.wait_for_selector("#explore-graph .barlayer")
        ticks = page.eval_on_selector_all("#explore-graph .xtick text", "ts => ts.map(t => t.textContent)")
        assert ticks and all(int(re.sub(r"\D", "", t) or 0) <= 100 for t in ticks), ticks
        screenshot(page, f"charts-explore-counter-{size}")

        page.goto(f"{server.base_url}/explore?kpi=on_time_rate&group=month&start={start}&end={demo.period}")
        settled(page)
        page.wait_for_selector("#explore-graph .hm")
        heads = page.locator("#explore-table th .column-header-name").all_inner_texts()
        assert len(set(heads)) == len(heads), heads
        screenshot(page, f"charts-explore-month-{size}")

        page.goto(f"{server.base_url}/unit/{demo.root}?period={demo.period}")
        settled(page)
        page.wait_for_selector("#uv-treemap g.slice")
        screenshot(page, f"charts-unit-{size}")
    finally:
        context.close()
