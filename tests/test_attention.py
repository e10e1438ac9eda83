"""What needs attention first: the Cần chú ý panel's figures against unit_kpis, the lists behind
the tiles, targets, worst-first tables, and the pages in Chromium (links that land, scope kept).
"""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest

from conftest import act, browser_login, screenshot, settled
from dashboard import formats
from dashboard.metrics import attention, compare, targets
from dashboard.metrics.definitions import previous_period
from dashboard.metrics.kpis import official_kpis, unit_kpis

AS_OF = dt.date(2026, 11, 5)  # fixed: overdue counts move with the day


@pytest.fixture(scope="module")
def cur(demo):
    conn = duckdb.connect(str(demo.copies["kpis"]), read_only=True)
    yield conn.cursor()
    conn.close()


# --- the computation, against the metrics ---------------------------------------------------

def test_drops_are_this_month_minus_the_previous_from_unit_kpis(cur, demo):
    period, before = demo.period, previous_period(demo.period)
    found = attention.drops(cur, demo.root, period)
    assert found, "the demo has children whose on-time rate or satisfaction fell"
    assert [d["change"] for d in found] == sorted(d["change"] for d in found)  # biggest fall first
    listed = {(d["unit_id"], d["kpi"]): d for d in found}
    for child in compare.children(cur, demo.root, period)["unit_id"]:
        now, then = unit_kpis(cur, child, period), unit_kpis(cur, child, before)
        for kpi in attention.DROP_KPIS:
            fell = now[kpi] is not None and then[kpi] is not None and now[kpi] - then[kpi] <= -attention.MIN_DROP
            assert ((child, kpi) in listed) == fell, (child, kpi)
            if fell:
                d = listed[(child, kpi)]
                assert (d["now"], d["before"]) == (now[kpi], then[kpi])
                assert d["change"] == pytest.approx(now[kpi] - then[kpi], abs=1e-12)


def test_rule_groups_count_the_rule_items_of_unit_kpis(cur, demo):
    period = previous_period(demo.period)  # an evaluated month has items
    want = unit_kpis(cur, demo.root, period)
    items = want["violations"] + want["warnings"]
    assert items, "the demo's evaluated month has rule items"
    groups = attention.rule_groups(cur, demo.root, period)
    assert {g["rule"]: g["count"] for g in groups} == {r: sum(i["rule"] == r for i in items) for r in {i["rule"] for i in items}}
    kinds = [g["kind"] for g in groups]
    assert kinds == sorted(kinds, key=lambda k: k != "violation")  # violations first


def test_officials_needing_attention_carry_their_own_figures(cur, demo):
    period = previous_period(demo.period)
    people = attention.officials_needing_attention(cur, demo.root, period, AS_OF, limit=8)
    assert 0 < len(people) <= 8
    for p in people:
        mine = official_kpis(cur, p["official_id"], period, as_of=AS_OF)
        assert p["overdue"] == mine["overdue_open"]
        if p["kht"]:
            assert mine["rating_counts"]["KHT"] == 1
        assert sorted(p["violations"]) == sorted({v["rule"] for v in mine["violations"]})
        assert p["overdue"] or p["kht"] or p["violations"]
    keys = [(not p["kht"], -len(p["violations"]), -p["overdue"]) for p in people]
    assert keys == sorted(keys)


def test_the_lists_behind_the_tiles_add_up_to_the_tiles(cur, demo):
    period = demo.period
    want = unit_kpis(cur, demo.dept, period, as_of=AS_OF)
    overdue = attention.officials_list(cur, demo.dept, period, "overdue", as_of=AS_OF, sort_by="overdue_open",
                                       descending=True)
    assert sum(overdue["overdue_open"]) == want["overdue_open"] > 0
    assert list(overdue["overdue_open"]) == sorted(overdue["overdue_open"], reverse=True)
    assert attention.officials_list_size(cur, demo.dept, period, "overdue", as_of=AS_OF) == len(overdue)
    assert attention.officials_list_size(cur, demo.dept, period, "pending") == want["pending_evaluations"]
    pending = attention.officials_list(cur, demo.dept, period, "pending")
    assert len(pending) == want["pending_evaluations"] and pending["active"].all() and pending["rating"].isna().all()
    evaluated = previous_period(period)
    kht = unit_kpis(cur, demo.root, evaluated)["rating_counts"]["KHT"]
    assert attention.officials_list_size(cur, demo.root, evaluated, "kht") == kht
    # Worst first, no data last, and a page is a slice of the whole.
    everyone = attention.officials_list(cur, demo.dept, period, "all", as_of=AS_OF)
    rates = list(everyone["on_time_rate"])
    known = [r for r in rates if r == r and r is not None]
    assert rates[:len(known)] == sorted(known)
    page = attention.officials_list(cur, demo.dept, period, "all", as_of=AS_OF, limit=5, offset=5)
    assert list(page["official_id"]) == list(everyone["official_id"][5:10])
    with pytest.raises(ValueError):
        attention.officials_list(cur, demo.dept, period, "all", sort_by="1; DROP TABLE units")


def test_the_panel_is_capped_and_keeps_a_place_for_every_section():
    sections = {"violation": list("vvvv"), "drop": list("ddddd"), "official": list("ooooooo"), "warning": list("ww")}
    chosen = attention.choose(sections, 8)
    assert len(chosen) == 8 and set(chosen) == {"v", "d", "o", "w"}
    assert chosen == sorted(chosen, key="vdow".index)  # section by section
    assert attention.choose({"official": list("oo")}, 8) == ["o", "o"]
    assert len(attention.choose({"drop": list("d" * 9), "official": list("o" * 9)}, 8)) == 8


def test_targets_come_from_the_units_key_results_else_the_setting(cur, demo):
    found = targets.unit_targets(cur, demo.root, demo.period, {"on_time_rate": 0.9, "completion_rate": 0.95})
    krs = dict(cur.execute(
        """SELECT k.metric, k.target_value FROM objectives o JOIN key_results k USING (objective_id)
           WHERE o.unit_id = ? AND o.period = ? AND k.metric <> 'manual'""", [demo.root, demo.period[:4]]).fetchall())
    assert krs
    for metric, value in krs.items():
        assert found[metric]["value"] == value and found[metric]["source"] == "okr"
    if "completion_rate" not in krs:
        assert found["completion_rate"] == {"value": 0.95, "direction": "up", "source": "setting", "kr_id": None,
                                            "title": None}


@pytest.mark.parametrize("value, target, kpi, where", [
    (0.91, {"value": 0.9, "direction": "up"}, "on_time_rate", "met"),
    (0.86, {"value": 0.9, "direction": "up"}, "on_time_rate", "near"),
    (0.80, {"value": 0.9, "direction": "up"}, "on_time_rate", "missed"),
    (4, {"value": 5, "direction": "down"}, "overdue_open", "met"),
    (6, {"value": 5, "direction": "down"}, "overdue_open", "near"),
    (30, {"value": 5, "direction": "down"}, "overdue_open", "missed"),
    (None, {"value": 0.9, "direction": "up"}, "on_time_rate", None),
    (0.5, None, "on_time_rate", None),
])
def test_standing_against_a_target(value, target, kpi, where):
    assert targets.standing(value, target, kpi) == where


# --- the pages ------------------------------------------------------------------------------

def _links(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))")


def _subtree(cur, unit_id: str) -> set[str]:
    return {r[0] for r in cur.execute("SELECT descendant FROM unit_closure WHERE ancestor = ?", [unit_id]).fetchall()}


def test_the_overview_puts_attention_first_with_links_that_land(browser, server, demo):
    context, page = browser_login(browser, server.base_url, demo.logins["city"], viewport=(1920, 1080))
    try:
        settled(page)
        items = page.locator("#uv-attention .attention-item")
        assert 1 <= items.count() <= 8
        # Above the tiles: the first thing under the heading.
        assert page.evaluate("document.querySelector('#uv-attention').getBoundingClientRect().top < "
                             "document.querySelector('#uv-tiles').getBoundingClientRect().top")
        hrefs = _links(page, "#uv-attention .attention-link")
        assert all(re.match(r"^/(unit|official)/[^?]+\?period=\d{4}-\d{2}$|^/alerts\?period=", h) for h in hrefs), hrefs
        screenshot(page, "attention-overview-1920")
        first = page.locator("#uv-attention .attention-link").first
        target = first.get_attribute("href")
        act(page, lambda: first.click())
        page.wait_for_url(re.compile(".*" + re.escape(target) + "$"))
        assert page.locator("#not-found").count() == 0
        assert page.locator(".kpi-tile, #alerts-table").count() >= 1
    finally:
        context.close()


def test_the_children_table_shows_the_worst_unit_first(browser, server, demo, cur):
    context, page = browser_login(browser, server.base_url, demo.logins["city"], viewport=(1920, 1080))
    try:
        settled(page)
        period = page.get_attribute(".page-header", "data-period")
        children = compare.children(cur, demo.root, period)
        known = children.dropna(subset=["on_time_rate"]).sort_values(["on_time_rate"], kind="stable")
        worst = known.iloc[0]
        first_row = page.locator("#children-table tbody tr").nth(1)  # row 0 holds the headers
        assert first_row.locator("a").first.get_attribute("href").startswith(f"/unit/{worst['unit_id']}?")
        note = page.locator("#children-sort-note").inner_text()
        assert "Sắp xếp: Tỷ lệ đúng hạn, thấp nhất trước" in note
        # The sort can be changed: the header's sort button turns it, and the note follows.
        act(page, lambda: page.locator("#children-table th[data-dash-column=on_time_rate] .column-header--sort").click())
        assert "cao nhất trước" in page.locator("#children-sort-note").inner_text()
    finally:
        context.close()


def test_a_tile_opens_the_list_behind_its_number(browser, server, demo, cur):
    context, page = browser_login(browser, server.base_url, demo.logins["leader"], viewport=(1920, 1080))
    try:
        page.goto(f"{server.base_url}/unit/{demo.dept}")
        settled(page)
        period = page.get_attribute(".page-header", "data-period")
        overdue = int(page.get_attribute("#tile-overdue_open", "data-value"))
        assert overdue > 0
        act(page, lambda: page.locator("#tile-overdue_open a").click())
        page.wait_for_url(re.compile(rf".*/unit/{re.escape(demo.dept)}\?period={period}&list=overdue#officials$"))
        settled(page)
        assert page.locator("#ranking-list input[value=overdue]").is_checked()
        shown = page.eval_on_selector_all("#ranking-table td[data-dash-column=overdue_open]",
                                          "tds => tds.map(td => Number(td.innerText.replace(/\\./g, '')))")
        size = attention.officials_list_size(cur, demo.dept, period, "overdue")
        assert len(shown) == min(size, 15) and all(n > 0 for n in shown) and shown == sorted(shown, reverse=True)
        assert page.locator("#ranking-count").inner_text().startswith(formats.number(size, "vi") + " ")
        # The panel came into view.
        assert page.evaluate("document.querySelector('#officials').getBoundingClientRect().top < window.innerHeight")
        screenshot(page, "attention-unit-overdue-list")

        page.goto(f"{server.base_url}/unit/{demo.dept}?period={period}")
        settled(page)
        act(page, lambda: page.locator("#tile-violations a").click())
        page.wait_for_url(re.compile(rf".*/alerts\?period={period}&unit={re.escape(demo.dept)}$"))
        assert page.locator("#alerts-table").count() == 1

        page.goto(f"{server.base_url}/unit/{demo.dept}?period={period}")
        settled(page)
        act(page, lambda: page.locator("#tile-pending_evaluations a").click())
        page.wait_for_url(re.compile(r".*&list=pending#officials$"))
        settled(page)
        want = unit_kpis(cur, demo.dept, period)["pending_evaluations"]
        assert page.locator("#ranking-count").inner_text().startswith(formats.number(want, "vi") + " ")
    finally:
        context.close()


def test_tiles_show_their_target_and_stand_against_it(browser, server, demo, cur):
    context, page = browser_login(browser, server.base_url, demo.logins["city"], viewport=(1920, 1080))
    try:
        settled(page)
        period = page.get_attribute(".page-header", "data-period")
        goal = targets.unit_targets(cur, demo.root, period, {"on_time_rate": 0.9})["on_time_rate"]
        tile = page.locator("#tile-on_time_rate")
        assert tile.locator(".kpi-target").inner_text().startswith("✓ Mục tiêu " if
                                                                   tile.get_attribute("data-standing") == "met" else "")
        assert f"Mục tiêu {formats.rate(goal['value'], 'vi', 0)}" in tile.locator(".kpi-target").inner_text()
        value = float(tile.get_attribute("data-value"))
        assert tile.get_attribute("data-standing") == targets.standing(value, goal, "on_time_rate")
        assert f"target-{tile.get_attribute('data-standing')}" in tile.get_attribute("class")
    finally:
        context.close()


def test_a_leaders_attention_panel_stays_inside_their_scope(browser, server, demo, cur):
    context, page = browser_login(browser, server.base_url, demo.logins["leader"], viewport=(390, 844))
    try:
        settled(page)
        assert page.locator("#uv-attention .attention-item, #uv-attention .empty-note").count() >= 1
        inside = _subtree(cur, demo.dept)
        hrefs = _links(page, "#uv-attention a") + _links(page, ".kpi-tile a")
        assert hrefs
        for href in hrefs:
            url = urlparse(href)
            if url.path.startswith("/unit/"):
                assert url.path.removeprefix("/unit/") in inside, href
            elif url.path.startswith("/official/"):
                unit = cur.execute("SELECT unit_id FROM officials WHERE official_id = ?",
                                   [url.path.removeprefix("/official/")]).fetchone()[0]
                assert unit in inside, href
            else:
                assert url.path == "/alerts" and parse_qs(url.query)["unit"] == [demo.dept], href
        assert page.evaluate("(e => e.scrollWidth <= e.clientWidth)(document.querySelector('#uv-attention'))")
        screenshot(page, "attention-overview-390")
        page.goto(f"{server.base_url}/unit/{demo.dept}")
        settled(page)
        screenshot(page, "attention-unit-390")
        page.set_viewport_size({"width": 1920, "height": 1080})
        settled(page)
        screenshot(page, "attention-unit-1920")
    finally:
        context.close()
