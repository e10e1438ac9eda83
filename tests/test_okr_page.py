"""The OKR page: the status rule (metrics/okr_status.py) with fixed dates, the list's order and
filter (metrics/okr_list.py), and the paged page in Chromium as an admin at the city scope of
the demo database, at desk and phone size.
"""
from __future__ import annotations

import re
from datetime import date

import duckdb
import pytest

from conftest import act, browser_login, screenshot, settled
from dashboard.metrics import okr_list, okr_status
from dashboard.metrics.okr_status import AT_RISK, NO_DATA, OFF_TRACK, ON_TRACK


# --- the rule --------------------------------------------------------------------------------

@pytest.mark.parametrize("period, as_of, share", [
    ("2026", date(2026, 1, 1), 1 / 365),
    ("2026", date(2026, 7, 2), 183 / 365),
    ("2026", date(2025, 12, 31), 0.0),
    ("2026", date(2027, 3, 1), 1.0),
    ("2026-Q4", date(2026, 11, 30), 61 / 92),
    ("2026-Q1", date(2026, 3, 31), 1.0),
    ("2024-Q1", date(2024, 2, 29), 60 / 91),  # a leap year
])
def test_elapsed_share_counts_the_days_gone_by(period, as_of, share):
    assert okr_status.elapsed_share(period, as_of) == pytest.approx(share)


def test_a_month_stands_for_its_last_day_or_today_while_it_runs():
    assert okr_status.month_as_of("2026-11", date(2026, 12, 3)) == date(2026, 11, 30)
    assert okr_status.month_as_of("2026-12", date(2026, 12, 3)) == date(2026, 12, 3)
    assert okr_status.month_as_of("2026-02", date(2027, 1, 1)) == date(2026, 2, 28)


@pytest.mark.parametrize("progress, expected, status", [
    (None, 0.5, NO_DATA), (0.0, 0.0, ON_TRACK), (0.0, 0.5, OFF_TRACK),
    (0.375, 0.5, ON_TRACK),   # exactly 3/4 of the plan
    (0.37, 0.5, AT_RISK), (0.25, 0.5, AT_RISK),  # exactly half
    (0.24, 0.5, OFF_TRACK), (1.0, 1.0, ON_TRACK), (0.75, 1.0, ON_TRACK), (0.74, 1.0, AT_RISK),
])
def test_status_is_progress_against_the_elapsed_share(progress, expected, status):
    assert okr_status.status(progress, expected) == status


def test_an_objective_is_the_mean_of_its_measured_key_results():
    assert okr_status.objective_progress([0.5, None, 1.0]) == 0.75
    assert okr_status.objective_progress([None, None]) is None
    with pytest.raises(ValueError):
        okr_status.period_days("2026-Q5")


def test_the_list_sorts_worst_first_and_filters():
    def obj(i, status, progress):
        return {"objective_id": f"O{i}", "status": status, "progress": progress, "depth": 1, "unit_name": "U",
                "title": f"T{i}"}
    objs = [obj(1, ON_TRACK, 0.9), obj(2, OFF_TRACK, 0.3), obj(3, NO_DATA, None), obj(4, AT_RISK, 0.5),
            obj(5, OFF_TRACK, 0.1)]
    assert [o["objective_id"] for o in okr_list.ordered(objs)] == ["O5", "O2", "O4", "O3", "O1"]
    assert [o["objective_id"] for o in okr_list.ordered(objs, OFF_TRACK)] == ["O5", "O2"]
    assert [o["objective_id"] for o in okr_list.ordered(objs, "forged", "forged")] == ["O5", "O2", "O4", "O3", "O1"]
    assert okr_list.counts(objs) == {"all": 5, OFF_TRACK: 2, AT_RISK: 1, NO_DATA: 1, ON_TRACK: 1}
    assert okr_list.page(list(range(23)), 3, 10) == ([20, 21, 22], 3, 3)
    assert okr_list.page(list(range(23)), 99, 10)[1:] == (3, 3)


def test_no_data_is_drawn_unlike_zero_percent(app):  # the page module needs the Dash app
    from dashboard.cache import json_ready
    from dashboard.pages.okr import progress_bar

    none, zero = (str(json_ready(progress_bar(p, 0.5, okr_status.status(p, 0.5), "vi"))) for p in (None, 0.0))
    assert "okr-bar-none" in none and "chưa có số liệu" in none and "'0 %'" not in none
    assert "okr-bar-none" not in zero and "'0 %'" in zero and "chưa có số liệu" not in zero


def test_the_demo_citys_statuses_follow_the_rule(demo):
    conn = duckdb.connect(str(demo.copies["kpis"]), read_only=True)
    try:
        today = date(2026, 11, 15)
        objs = okr_list.objective_list(conn.cursor(), demo.root, demo.period, today=today)
        as_of = okr_list.as_of(conn.cursor(), demo.period, today)
        newest = conn.execute("SELECT greatest((SELECT max(rated_at) FROM ratings), (SELECT max(updated_at) FROM tasks), "
                              "(SELECT max(acted_at) FROM evaluations), (SELECT max(checked_at) FROM checkins))::DATE"
                              ).fetchone()[0]
    finally:
        conn.close()
    assert len(objs) > 10 and {o["depth"] for o in objs} == {0, 1}
    # the demo's last month is still running: elapsed time stops at its newest record, not the month's end
    assert as_of == min(newest, okr_status.month_as_of(demo.period, today)) < date(2026, 10, 31)
    for o in objs:
        expected = okr_status.elapsed_share(o["period"], as_of)
        assert o["expected"] == expected
        assert o["status"] == okr_status.status(okr_status.objective_progress(k["progress"] for k in o["key_results"]),
                                                expected)
        assert all(k["status"] == okr_status.status(k["progress"], expected) for k in o["key_results"])
        assert o["head"] is None or o["head"]["full_name"]


# --- the page in Chromium --------------------------------------------------------------------

CARDS = "#okr-tree .okr-card"


def _statuses(page) -> list[str]:
    return page.eval_on_selector_all(CARDS, "cs => cs.map(c => c.className.match(/okr-card-(\\w+)/)[1])")


def test_the_okr_page_is_paged_worst_first_with_a_status_filter(browser, server, demo):
    context, page = browser_login(browser, server.base_url, demo.logins["admin"], viewport=(1920, 1080))
    try:
        page.goto(f"{server.base_url}/okr?period={demo.period}")
        settled(page)
        statuses = _statuses(page)
        assert len(statuses) == 10  # 14 objectives at the city's two top levels: ten on page 1
        ranks = [okr_status.rank(s) for s in statuses]
        assert ranks == sorted(ranks) and statuses[0] == OFF_TRACK
        assert page.locator(f"{CARDS} .okr-meta a[href^='/unit/']").count() == 10  # every owner shown, linked
        assert page.locator("#okr-pager .page-item").filter(has_text=re.compile(r"^2$")).count() == 1
        screenshot(page, "okr-1920")

        act(page, lambda: page.locator("#okr-pager .page-link", has_text=re.compile(r"^2$")).click())
        second = _statuses(page)
        assert 0 < len(second) < 10 and okr_status.rank(second[0]) >= ranks[-1]
        assert "page=2" in page.url

        label = page.locator("#okr-status label", has_text="Chậm tiến độ")
        count = int(re.search(r"\((\d+)\)", label.inner_text()).group(1))
        act(page, lambda: label.click())
        assert _statuses(page) == [OFF_TRACK] * count and "status=off_track" in page.url and "page=" not in page.url
        kr = page.locator(f"{CARDS} .okr-kr-row .kr-title").first
        act(page, lambda: kr.click())
        assert page.locator("#okr-history .fw-semibold").inner_text() == kr.inner_text()  # the KR picked
        page.wait_for_selector("#okr-history .js-plotly-plot, #okr-history .empty-note")  # plotly loads lazily
        screenshot(page, "okr-1920-filtered")
    finally:
        context.close()


def test_the_okr_page_fits_a_phone(browser, server, demo):
    context, page = browser_login(browser, server.base_url, demo.logins["admin"], viewport=(390, 844))
    try:
        page.goto(f"{server.base_url}/okr?period={demo.period}")
        settled(page)
        assert len(_statuses(page)) == 10
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "okr-390")
    finally:
        context.close()
