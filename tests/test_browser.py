"""Real Chromium against the real server: the journeys leaders take, and what they must not see.

Numbers on screen are checked against `python -m dashboard kpis` on a snapshot of the same data
(the running server owns the database file). Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import re

import pytest

from conftest import act, browser_login, kpis_cli, run_dashboard, screenshot, settled
from dashboard import formats

SHOW = {"on_time_rate": formats.rate, "completion_rate": formats.rate, "satisfaction_rate": formats.rate,
        "task_score": formats.score}


def shown_period(page) -> str:
    return page.get_attribute(".page-header", "data-period")


def check_tiles(page, expected: dict) -> int:
    """Every tile on the page shows the kpis CLI's value, exactly and in Vietnamese format."""
    tiles = page.eval_on_selector_all(
        ".kpi-tile", "els => els.map(e => [e.id, e.dataset.value, e.querySelector('.kpi-value').textContent])")
    assert len(tiles) >= 7
    for tile_id, raw, text in tiles:
        key = tile_id.removeprefix("tile-")
        want = expected[key]
        if key in ("violations", "warnings"):
            want = len(want)
        if want is None:
            assert raw == "" and text == "–", (key, raw, text)
            continue
        assert float(raw) == pytest.approx(want, abs=1e-9), key
        assert text == SHOW.get(key, formats.number)(want, "vi"), (key, text)
    return len(tiles)


def follow_first_link(page, selector: str, kind: str, period: str) -> str:
    """Click the first link of `selector` to a /unit/ or /official/ page, wait until it has
    drawn, and return the id it opened."""
    link = page.locator(selector).first
    target = link.get_attribute("href").split(f"/{kind}/")[1].split("?")[0]
    link.click()
    page.wait_for_url(re.compile(rf".*/{kind}/{re.escape(target)}\?period={period}$"))
    settled(page)
    return target


def test_leader_drills_down_and_back_with_numbers_matching_the_cli(browser, server, demo):
    context, page = browser_login(browser, server.base_url, demo.logins["city"])
    try:
        settled(page)
        period = shown_period(page)
        assert re.fullmatch(r"\d{4}-\d{2}", period)
        check_tiles(page, kpis_cli(demo.copies["kpis"], "--unit", demo.root, "--period", period))
        screenshot(page, "overview")
        page.evaluate("window.__notReloaded = true")  # gone if a link reloads the page

        child = follow_first_link(page, "#children-table a", "unit", period)
        check_tiles(page, kpis_cli(demo.copies["kpis"], "--unit", child, "--period", period))
        assert page.locator("#ranking-table").count() == 1 and page.locator("#uv-rules").count() == 1
        screenshot(page, "unit")

        official = follow_first_link(page, "#ranking-table a", "official", period)
        check_tiles(page, kpis_cli(demo.copies["kpis"], "--official", official, "--period", period))
        assert page.locator("#tasks-table, #ov-tasks .empty-note").count() >= 1
        assert page.locator("#ov-history .timeline-step, #ov-history .empty-note").count() >= 1
        assert page.evaluate("window.__notReloaded") is True, "the tables' links open their page inside the app"
        screenshot(page, "official")

        act(page, lambda: page.locator("#breadcrumbs a").first.click())  # in-app: no page load to wait for
        page.wait_for_url(re.compile(rf".*/unit/{re.escape(demo.root)}\?period={period}$"))
        check_tiles(page, kpis_cli(demo.copies["kpis"], "--unit", demo.root, "--period", period))

        # The treemap is a way down too: clicking a box opens that unit.
        act(page, lambda: page.locator("#uv-treemap g.slice path.surface").last.click())  # a leaf: nothing on top
        page.wait_for_url(re.compile(r".*/unit/(?!" + re.escape(demo.root) + r"\?)[^?]+\?period=.*"))
        assert page.locator(".kpi-tile").count() >= 7
    finally:
        context.close()


# The outputs of every callback request the page makes, in order.
RECORD_CALLBACKS = """
(() => {
  window.__outputs = [];
  const orig = window.fetch;
  window.fetch = function(...args) {
    if (String(args[0]).includes('_dash-update-component')) {
      try { window.__outputs.push(JSON.parse(args[1].body).output); } catch (e) {}
    }
    return orig.apply(this, args);
  };
})();
"""
PANEL_OUTPUTS = ("uv-attention", "uv-tiles", "uv-children", "uv-tree", "uv-trend", "ranking-table", "uv-rules",
                 "ov-tiles", "ov-scores", "ov-tasks", "ov-feedback", "ov-history")


def test_a_drill_down_arrives_whole_in_one_round_trip(browser, server, demo):
    """A unit or official page comes inside the router's answer, panels and the first page of its
    tables included: no panel callback runs as it mounts (bench/pages.py measured one round
    trip less). Paging the ranking still asks the server."""
    context, page = browser_login(browser, server.base_url, demo.logins["city"])
    context.add_init_script(RECORD_CALLBACKS)
    try:
        page.goto(f"{server.base_url}/unit/{demo.root}?period={demo.period}")
        settled(page)
        assert page.evaluate("window.__outputs").count("..ranking-table.data...ranking-table.page_count"
                                                       "...ranking-count.children...ranking-sort-note.children..") == 0
        assert page.locator("#ranking-table td").count() > 0 and page.locator(".kpi-tile").count() >= 7
        for kind, table in (("unit", "#children-table a"), ("official", "#ranking-table a")):
            page.evaluate("window.__outputs = []")
            follow_first_link(page, table, kind, demo.period)
            outputs = page.evaluate("window.__outputs")
            assert any("_pages_content" in o for o in outputs), outputs
            assert not [o for o in outputs if any(p in o for p in PANEL_OUTPUTS)], outputs
            assert page.locator(".kpi-tile").count() >= 3 and page.locator(".dash-graph .main-svg").count() >= 1
        assert page.locator("#ov-feedback-table, #ov-feedback-count").count() >= 1
        assert page.locator("#ov-history .timeline-step, #ov-history .empty-note").count() >= 1

        page.go_back()  # the unit page again: its ranking pages through the server
        settled(page)
        if page.locator("#ranking-table .next-page:not([disabled])").count():
            page.evaluate("window.__outputs = []")
            first = page.locator("#ranking-table td").first.text_content()
            act(page, lambda: page.locator("#ranking-table .next-page").click())
            assert any("ranking-table.data" in o for o in page.evaluate("window.__outputs"))
            assert page.locator("#ranking-table td").first.text_content() != first
    finally:
        context.close()


def test_changing_the_period_updates_every_panel(browser, server, demo):
    context, page = browser_login(browser, server.base_url, demo.logins["leader"])
    try:
        page.goto(f"{server.base_url}/unit/{demo.dept}")
        settled(page)
        before_period = shown_period(page)
        panels = ["#uv-tiles", "#uv-children", "#uv-tree", "#uv-trend-rates", "#uv-trend-score", "#uv-ratings",
                  "#ranking-table", "#uv-rules"]
        before = {p: page.inner_html(p) for p in panels}
        options = page.locator("#period-picker")
        options.click()
        target = formats.period(_previous(before_period))
        act(page, lambda: page.locator("[role=option]", has_text=target).first.click())
        page.wait_for_url(re.compile(rf".*/unit/{re.escape(demo.dept)}\?period={_previous(before_period)}$"))
        assert shown_period(page) == _previous(before_period)
        check_tiles(page, kpis_cli(demo.copies["kpis"], "--unit", demo.dept, "--period", _previous(before_period)))
        after = {p: page.inner_html(p) for p in panels}
        unchanged = [p for p in panels if before[p] == after[p]]
        assert not unchanged, f"panels that kept the old period: {unchanged}"
        screenshot(page, "unit-previous-period")
    finally:
        context.close()


def _previous(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def test_a_leader_cannot_open_another_units_pages(browser, server, demo):
    context, page = browser_login(browser, server.base_url, demo.logins["leader"])
    try:
        for path in (f"/unit/{demo.other_dept}", f"/official/{demo.other_official}", f"/unit/{demo.root}",
                     "/unit/NO.SUCH.UNIT"):
            page.goto(server.base_url + path)
            settled(page)
            assert page.locator("#not-found").count() == 1, path
            assert page.locator(".kpi-tile").count() == 0, path
        screenshot(page, "not-found")
        page.goto(f"{server.base_url}/unit/{demo.dept}")
        settled(page)
        assert page.locator(".kpi-tile").count() >= 7
    finally:
        context.close()
    assert f"denied unit='{demo.other_dept}'" in server.log()


def test_users_disable_ends_a_live_session(browser, server, demo):
    context, page = browser_login(browser, server.base_url, demo.logins["victim"])
    try:
        settled(page)
        assert page.locator(".kpi-tile").count() >= 7
        proc = run_dashboard("users", "disable", demo.logins["victim"].username, "--db", server.db)
        assert proc.returncode == 0, proc.stderr
        assert "ended 1 session" in proc.stdout
        # The open page polls the data version every second; the 401 sends it to the login page.
        page.wait_for_url(re.compile(r".*/login\?next=.*"), timeout=15_000)
        page.fill("#username", demo.logins["victim"].username)
        page.fill("#password", demo.logins["victim"].password)
        page.click("#login-button")
        assert page.locator("#login-message").inner_text() == "Tên đăng nhập hoặc mật khẩu không đúng."
    finally:
        context.close()


def test_language_switch_and_sign_out(browser, server, demo):
    context, page = browser_login(browser, server.base_url, demo.logins["analyst"])
    try:
        settled(page)
        assert page.locator("nav").first.inner_text().find("Tổng quan") >= 0
        page.click("#lang-switch")
        settled(page)
        assert "Overview" in page.locator("nav").first.inner_text()
        assert page.locator("#tile-on_time_rate .kpi-label").inner_text() == "On-time rate"
        screenshot(page, "overview-english")
        page.click("#lang-switch")
        settled(page)
        assert page.locator("#tile-on_time_rate .kpi-label").inner_text() == "Tỷ lệ đúng hạn"
        page.click("#logout-button")
        page.wait_for_url(re.compile(r".*/login$"))
        page.goto(server.base_url + "/")
        assert "/login" in page.url
        screenshot(page, "login")
    finally:
        context.close()


def test_export_downloads_exactly_the_table(browser, server, demo):
    context, page = browser_login(browser, server.base_url, demo.logins["analyst"])
    try:
        page.goto(f"{server.base_url}/explore?kpi=on_time_rate&group=level_2&start={_previous(demo.period)}"
                  f"&end={demo.period}")
        settled(page)
        act(page, lambda: page.locator("#explore-table th", has_text="Nhiệm vụ đến hạn")
            .locator(".column-header--sort").click())
        shown = page.eval_on_selector_all(
            "#explore-table tbody tr", "rows => rows.map(r => Array.from(r.querySelectorAll('td')).map(td => td.innerText.trim()))")
        shown = [r for r in shown if r]
        headers = page.eval_on_selector_all("#explore-table th .column-header-name", "hs => hs.map(h => h.innerText.trim())")
        assert 1 < len(shown) <= 20
        screenshot(page, "explore")

        with page.expect_download() as info:
            page.click("#explore-csv")
        assert info.value.suggested_filename.endswith(".csv")
        path = info.value.path()
        from dashboard import export
        with open(path, "rb") as f:  # header lines, then the table; Excel-VN form: ';', 87,5 (a rate in %)
            _, exported = export.read_csv_table(f.read())
        assert exported[0] == [h + " (%)" if h == "Tỷ lệ đúng hạn" else h for h in headers]
        assert len(exported) - 1 == len(shown)
        for row, cells in zip(exported[1:], shown):
            assert row[0] == cells[0]
            assert formats.rate(float(row[1].replace(",", ".")) / 100 if row[1] else None, "vi").replace(" ", "") \
                == cells[1].replace(" ", "")
            assert formats.number(int(row[2]), "vi") == cells[2]

        with page.expect_download() as info:
            page.click("#explore-xlsx")
        import openpyxl
        assert info.value.suggested_filename.endswith(".xlsx")
        with open(info.value.path(), "rb") as f:
            ws = openpyxl.load_workbook(f).active
        top = export.table_row(ws)  # under the header rows (scope, period, time of export)
        assert [c.value for c in ws[top]] == headers
        assert [ws.cell(top + 1 + i, 1).value for i in range(len(shown))] == [r[0] for r in shown]
    finally:
        context.close()


@pytest.mark.parametrize("who, path, marker", [
    ("admin", "/alerts", "#alerts-table"),
    ("admin", "/okr", "#okr-tree .okr-card, #okr-tree .empty-note"),
    ("admin", "/data", "#freshness-table"),
    ("official", "/", "#ov-tiles .kpi-tile"),
])
def test_every_page_renders_for_its_role(browser, server, demo, who, path, marker):
    context, page = browser_login(browser, server.base_url, demo.logins[who])
    try:
        page.goto(server.base_url + path)
        settled(page)
        assert page.locator(marker).count() >= 1
        assert page.locator("#not-found").count() == 0
        if path == "/okr" and page.locator("#okr-tree .kr-title").count():
            act(page, lambda: page.locator("#okr-tree .kr-title").first.click())
            assert page.locator("#okr-history .js-plotly-plot, #okr-history .empty-note").count() >= 1
        screenshot(page, f"{who}-{path.strip('/') or 'home'}")
        # What the role may not open answers like an unknown page.
        for other in {"official": ["/explore", "/data", "/okr", f"/unit/{demo.dept}"], "admin": []}[who]:
            page.goto(server.base_url + other)
            settled(page)
            assert page.locator("#not-found").count() == 1, other
    finally:
        context.close()


def test_alerts_list_every_rule_item_the_cli_counts(browser, server, demo):
    context, page = browser_login(browser, server.base_url, demo.logins["city"])
    try:
        period = _previous(demo.period)  # a month whose evaluations are done has items
        want = kpis_cli(demo.copies["kpis"], "--unit", demo.root, "--period", period)
        n = len(want["violations"]) + len(want["warnings"])
        page.goto(f"{server.base_url}/alerts?period={period}")
        settled(page)
        count = page.locator("#alerts-count").inner_text()
        if n:
            assert count == f"{formats.number(n, 'vi')} mục"
            first = page.locator("#alerts-table td").first.inner_text()
            assert first.startswith("✖") == bool(want["violations"])
        else:
            assert count == "Không có vi phạm hay cảnh báo nào trong kỳ."
        screenshot(page, "alerts")
    finally:
        context.close()
