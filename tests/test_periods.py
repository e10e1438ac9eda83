"""Honest periods: only months with data are offered (the data's clock, not the server's, decides
the running month), the running month is marked and not compared, a month outside the data gets
a clear message, every page says when its data is from, and no code reaches the screen."""
from __future__ import annotations

import re
import shutil
from datetime import date

import duckdb
import pytest

from conftest import DEMO_UNTIL, TRACK_FETCH, screenshot, settled
from dashboard import formats, labels
from dashboard.metrics import lookups, periods, unit_names


@pytest.fixture(scope="module")
def cur(demo, tmp_path_factory):
    """A read-only copy of the demo database (the server owns the original)."""
    path = tmp_path_factory.mktemp("periods") / "copy.duckdb"
    shutil.copy(demo.copies["kpis"], path)
    conn = duckdb.connect(str(path), read_only=True)
    yield conn.cursor()
    conn.close()


def test_the_data_decides_the_running_month_and_no_future_month_is_offered(cur):
    # The demo's tasks run into the next month (due later): that month has rows but no data yet.
    future = cur.execute("SELECT max(period) FROM scope_month").fetchone()[0]
    assert future > DEMO_UNTIL
    clock = periods.data_clock(cur)
    assert clock.strftime("%Y-%m") == DEMO_UNTIL == periods.running_month(cur)
    offered = lookups.periods(cur)
    assert offered[0] == DEMO_UNTIL and future not in offered and offered == sorted(offered, reverse=True)
    # The default is the last complete month, whatever today's date (before or after the data).
    assert lookups.default_period(cur) == "2026-09"
    assert lookups.default_period(cur, on=date(2030, 1, 1)) == "2026-09"
    assert lookups.default_period(cur, on=date(2026, 8, 10)) == "2026-07"


def test_codes_get_words_in_both_languages():
    assert formats.period_label("2026-Q4", "vi") == "Quý 4/2026" and formats.period_label("2026-Q4", "en") == "Q4 2026"
    assert formats.period_label("2026", "vi") == "Năm 2026" and formats.period_label("2026-10", "en") == "10/2026"
    assert labels.unit_kind("thanh_pho", "vi") == "Thành phố" and labels.unit_kind("don_vi_su_nghiep", "en") == \
        "Public service unit"
    assert labels.unit_kind("mot_kieu_moi", "vi") == "mot kieu moi"  # unknown: plain, never a key
    assert labels.load_status("loaded", "vi") == "Đã nạp" and labels.load_status(None, "en") == formats.DASH
    assert labels.source("unit_evaluations", "en") == "Unit evaluations" and labels.value(None) == formats.DASH


def test_a_shared_unit_name_carries_its_parent(cur):
    shared = cur.execute("SELECT u.unit_id, p.name FROM units u JOIN units p ON p.unit_id = u.parent_id "
                         "WHERE u.name = 'Văn phòng' ORDER BY u.unit_id").fetchall()
    assert len(shared) >= 2
    names = unit_names.shown(cur, [uid for uid, _ in shared] + ["HN"])
    for uid, parent in shared:
        assert names[uid] == f"Văn phòng · {parent}"
    assert " · " not in names["HN"]  # a unique name stays as it is
    assert lookups.unit_names(cur, [shared[0][0]]) == {shared[0][0]: names[shared[0][0]]}


@pytest.fixture(scope="module")
def desk(browser, server, demo):
    """One signed-in desktop context (a leader) for the browser checks below."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    context.add_init_script(TRACK_FETCH)
    page = context.new_page()
    login = demo.logins["leader"]
    page.goto(server.base_url + "/login")
    page.fill("#username", login.username)
    page.fill("#password", login.password)
    page.click("#login-button")
    page.wait_for_url(re.compile(r".*/(\?.*)?$"))
    yield page
    context.close()


def test_the_running_month_is_marked_and_its_tiles_raise_no_alarm(desk, server, demo):
    page = desk
    page.goto(f"{server.base_url}/unit/{demo.dept}?period={DEMO_UNTIL}")
    settled(page)
    assert "đang cập nhật" in page.inner_text("#period-running-note")
    assert "10/2026 · đang cập nhật" in page.inner_text(".page-header .period-picker")
    deltas = page.locator("#uv-tiles .kpi-delta").all_inner_texts()
    assert deltas and not any(re.search("[▲▼]", d) for d in deltas), deltas
    assert any("chưa đủ tháng" in d for d in deltas)
    assert re.fullmatch(r"Số liệu đến \d\d:\d\d \d\d/\d\d", page.inner_text("#data-as-of").strip())
    assert page.evaluate("document.documentElement.scrollWidth") <= 1920
    screenshot(page, "periods-running-month-1920x1080")
    # A whole month is compared as before, and its picker lists no month after the data.
    page.goto(f"{server.base_url}/unit/{demo.dept}?period=2026-09")
    settled(page)
    assert page.locator("#period-running-note").count() == 0
    assert any(re.search("[▲▼▶]", d) for d in page.locator("#uv-tiles .kpi-delta").all_inner_texts())
    page.click("#period-picker")
    options = page.locator(".dash-dropdown-option").all_inner_texts()
    assert options and options[0].startswith("10/2026") and not any("11/2026" in o for o in options), options


@pytest.mark.parametrize("path", ["/unit/{dept}?period=2026-12", "/?period=2019-01", "/alerts?period=2030-05"])
def test_a_month_outside_the_data_says_so_and_links_to_the_latest(desk, server, demo, path):
    page = desk
    page.goto(server.base_url + path.format(dept=demo.dept))
    settled(page)
    message = page.inner_text("#period-missing")
    shown = formats.period(re.search(r"period=(\d{4}-\d\d)", path).group(1))
    assert f"Chưa có số liệu cho kỳ {shown}" in message and "10/2025" in message and "10/2026" in message
    assert page.locator(".kpi-tile").count() == 0  # not a page of dashes
    link = page.locator("#period-latest-link")
    assert link.get_attribute("href") == path.format(dept=demo.dept).split("?")[0] + f"?period={DEMO_UNTIL}"
    if "unit" in path:
        screenshot(page, "periods-outside-the-data-1920x1080")
    link.click()
    page.wait_for_url(re.compile(rf".*\?period={DEMO_UNTIL}$"))
    settled(page)
    assert page.locator("#period-missing").count() == 0


def test_no_page_is_wider_than_a_1920_window_in_english(browser, server, demo):
    """The period picker's hidden input once made every page 1,959 px wide; in English the units
    table hid two columns behind a sideways scroll."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    context.add_init_script(TRACK_FETCH)
    context.add_cookies([{"name": "lang", "value": "en", "url": server.base_url}])
    page = context.new_page()
    try:
        login = demo.logins["admin"]
        page.goto(server.base_url + "/login")
        page.fill("#username", login.username)
        page.fill("#password", login.password)
        page.click("#login-button")
        page.wait_for_url(re.compile(r".*/(\?.*)?$"))
        for path in ("/?period=2026-09", f"/unit/{demo.root}?period=2026-09", f"/official/{demo.official}",
                     "/alerts", "/okr", "/explore", "/data"):
            page.goto(server.base_url + path)
            settled(page)
            assert page.evaluate("document.documentElement.scrollWidth") <= 1920, path
            if path.startswith("/unit"):
                hidden = page.evaluate("""() => { const c = document.querySelector('#children-table .dash-spreadsheet-container');
                    return c.scrollWidth - c.clientWidth; }""")
                assert hidden <= 1, f"the units table hides {hidden} px of columns"
                screenshot(page, "periods-units-table-english-1920x1080")
    finally:
        context.close()
