"""The search box: accent-insensitive, by name or id, inside the signed-in user's scope, and
results are links. Through the real server's callback, then once in the browser."""
from __future__ import annotations

import json
import re
import shutil

import duckdb
import pytest

from conftest import browser_login, callback_payload, http_login, post_callback, screenshot, settled
from dashboard.metrics import search


def _search(session, base_url: str, query: str, page_search: str = "") -> str:
    body = post_callback(session, base_url, callback_payload(
        [("site-search-results", "children")], [("site-search", "value", query)],
        [("_pages_location", "search", page_search)]))
    assert body.status_code == 200, body.text[:300]
    return json.dumps(body.json()["response"]["site-search-results"]["children"], ensure_ascii=False)


@pytest.fixture(scope="module")
def people(demo, tmp_path_factory):
    """Names to look for, read from a copy of the demo database."""
    path = tmp_path_factory.mktemp("search") / "copy.duckdb"
    shutil.copy(demo.copies["kpis"], path)
    conn = duckdb.connect(str(path), read_only=True)
    try:
        def name_of(official_id):
            return conn.execute("SELECT full_name FROM officials WHERE official_id = ?", [official_id]).fetchone()[0]
        accented = conn.execute("SELECT unit_id, name FROM units WHERE name <> strip_accents(name) AND unit_id <> ? "
                                "AND parent_id = ? ORDER BY unit_id LIMIT 1", [demo.dept, demo.root]).fetchone()
        return {"official": name_of(demo.official), "other": name_of(demo.other_official), "unit": accented}
    finally:
        conn.close()


def test_fold_drops_accents_and_reads_d_for_dj():
    assert search.fold("  Phường  Thanh Xuân ") == "phuong thanh xuan"
    assert search.fold("ĐỐNG ĐA đường") == "dong da duong"
    assert search.fold("Nguyễn Thị Ngọc Ánh") == "nguyen thi ngoc anh"


def test_accent_free_words_find_units_and_officials_as_links(server, demo, people):
    admin = http_login(server.base_url, demo.logins["admin"])
    unit_id, unit_name = people["unit"]
    found = _search(admin, server.base_url, search.fold(unit_name).upper(), "?period=2026-09")
    assert f"/unit/{unit_id}?period=2026-09" in found and unit_name in found
    found = _search(admin, server.base_url, search.fold(people["official"]))
    assert f"/official/{demo.official}" in found
    assert f"/official/{demo.official}" in _search(admin, server.base_url, demo.official.lower())  # by id
    shared = _search(admin, server.base_url, "van phong")  # offices share the name: each shows its parent
    assert re.search(r"Văn phòng · ", shared), shared
    # A period in the page's address that is not a month is not carried into the links.
    assert "period=" not in _search(admin, server.base_url, demo.official, "?period=2026-10%27%20OR%201")


def test_search_stays_inside_the_scope(server, demo, people):
    leader = http_login(server.base_url, demo.logins["leader"])  # leads demo.dept only
    assert f"/official/{demo.official}" in _search(leader, server.base_url, search.fold(people["official"]))
    outside = _search(leader, server.base_url, demo.other_official)
    assert demo.other_official not in outside and "Không tìm thấy" in outside
    assert demo.other_dept not in _search(leader, server.base_url, demo.other_dept)
    official = http_login(server.base_url, demo.logins["official"])  # sees only themselves
    assert f"/official/{demo.official}" in _search(official, server.base_url, demo.official)
    mine = _search(official, server.base_url, search.fold(people["other"]))
    assert demo.other_official not in mine
    assert "/unit/" not in _search(official, server.base_url, "phong")


def test_typing_in_the_box_shows_links_that_open_the_page(browser, server, demo, people):
    context, page = browser_login(browser, server.base_url, demo.logins["admin"], viewport=(1920, 1080))
    try:
        settled(page)
        page.fill("#site-search", search.fold(people["official"]))
        page.wait_for_selector("#search-list a[href^='/official/']")
        screenshot(page, "search-results-1920x1080")
        page.click(f"#search-list a[href^='/official/{demo.official}']")
        page.wait_for_url(re.compile(rf".*/official/{demo.official}.*"))
        settled(page)
        assert page.input_value("#site-search") == ""  # a new page empties the box
    finally:
        context.close()
