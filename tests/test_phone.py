"""Every page at phone size (390×844) in real Chromium: nothing is wider than the screen, the
navigation folds into a menu whose toggler opens and closes it, and each page is photographed
(test-artifacts/phone-*.png). One browser context for all of them, on the session's server."""
from __future__ import annotations

import re

import pytest

from conftest import TRACK_FETCH, run_dashboard, screenshot, settled

PHONE = {"width": 390, "height": 844}
WIDTH = "document.documentElement.scrollWidth"


def _pages(demo) -> list[tuple[str, str]]:
    p = demo.period
    return [("overview", f"/?period={p}"), ("unit", f"/unit/{demo.dept}?period={p}"),
            ("official", f"/official/{demo.official}?period={p}"), ("alerts", f"/alerts?period={p}"),
            ("okr", f"/okr?period={p}"), ("explore", "/explore"), ("data", "/data")]


def _token(output: str) -> str:
    found = re.search(r"^token: (\S+)$", output, re.M)
    assert found, output
    return found.group(1)


@pytest.fixture(scope="module")
def phone(browser, server):
    """One phone-sized browser context for the whole module."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_init_script(TRACK_FETCH)
    yield context.new_page()
    context.close()


def _fits(page, name: str) -> None:
    width = page.evaluate(WIDTH)
    if width > PHONE["width"]:  # say which element sticks out
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect()
            .right > document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + '#' + e.id + '.' +
            e.className)""")
        pytest.fail(f"{name} is {width} px wide at 390 px: {wide}")


def test_every_page_fits_a_phone_and_its_menu_opens_and_closes(phone, server, demo):
    page = phone
    page.goto(server.base_url + "/login")
    _fits(page, "login")
    screenshot(page, "phone-login-390x844")
    login = demo.logins["admin"]
    page.fill("#username", login.username)
    page.fill("#password", login.password)
    page.click("#login-button")
    page.wait_for_url(re.compile(r".*/(\?.*)?$"))
    for name, path in _pages(demo):
        page.goto(server.base_url + path)
        settled(page)
        assert page.locator("#not-found").count() == 0, name
        _fits(page, name)
        if name == "unit":  # the units table keeps its key columns and drops the secondary ones
            shown = page.evaluate("""() => [...document.querySelectorAll('#children-table th[data-dash-column]')]
                .filter(th => th.offsetWidth > 0).map(th => th.dataset.dashColumn)""")
            assert {"name", "on_time_rate", "task_score"} <= set(shown) and "officials_total" not in shown, shown
        # Folded: the toggler and the data's time show, the links do not.
        assert page.locator("#nav-toggler").is_visible(), name
        assert re.fullmatch(r"Số liệu đến \d\d:\d\d \d\d/\d\d", page.inner_text("#data-as-of").strip()), name
        links = page.locator("#nav-collapse .nav-link")
        assert not links.first.is_visible(), name
        screenshot(page, f"phone-{name}-390x844")
        page.click("#nav-toggler")
        page.wait_for_selector("#nav-collapse.show", state="visible")
        assert links.first.is_visible() and page.locator("#site-search").is_visible(), name
        _fits(page, f"{name} with the menu open")
        if name == "overview":
            screenshot(page, "phone-menu-open-390x844")
        page.click("#nav-toggler")
        page.wait_for_function("() => !document.querySelector('#nav-collapse.show') && "
                               "!document.querySelector('#nav-collapse.collapsing')")
        assert not links.first.is_visible(), name


def test_a_menu_link_closes_the_menu_and_keeps_the_period(phone, server, demo):
    page = phone
    page.goto(f"{server.base_url}/?period={demo.period}")
    settled(page)
    page.click("#nav-toggler")
    page.wait_for_selector("#nav-collapse.show", state="visible")
    page.click("#nav-collapse .nav-link[href^='/alerts']")
    page.wait_for_url(re.compile(r".*/alerts\?period=" + demo.period))
    settled(page)
    page.wait_for_function("() => !document.querySelector('#nav-collapse.show')")


def test_the_wall_display_and_the_counter_kiosk_fit_a_phone(phone, server, demo):
    """Their own pages (no menu): only the width is checked, through tokens made as an admin would."""
    made = run_dashboard("displays", "add", "phone-check-tv", "--unit", demo.dept, "--db", demo.path)
    assert made.returncode == 0, made.stderr
    device = run_dashboard("devices", "add", "phone-check-kiosk", "--counter", "Q1", "--db", demo.path)
    assert device.returncode == 0, device.stderr
    page = phone
    page.goto(f"{server.base_url}/display/{_token(made.stdout)}")
    page.wait_for_function("() => window.__display && window.__display.lastUpdate", timeout=20_000)
    _fits(page, "display")
    screenshot(page, "phone-display-390x844")
    page.goto(f"{server.base_url}/kiosk/{_token(device.stdout)}")
    page.wait_for_function("() => window.__kiosk && window.__kiosk.screen", timeout=20_000)
    _fits(page, "kiosk")
    screenshot(page, "phone-kiosk-390x844")
