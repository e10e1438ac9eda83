"""The counter device with a name the contract would refuse today but an older database holds:
5,000 characters with a right-to-left override. The duty API sends it as plain text within the
contract's 200 characters, and the kiosk shows at most two lines of it with every button on
screen, at phone size too."""
from __future__ import annotations

import shutil

import duckdb
import pytest
import requests

from conftest import ARTIFACTS, run_dashboard, start_server, stop_server
from test_kiosk import COUNTER, Kiosk, open_kiosk

LONG_NAME = "Nguyễn Văn \u202eexe.gnaht " + "Trường " * 700


@pytest.fixture(scope="module")
def long_named(demo, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kiosk-names")
    db = tmp / "k.duckdb"
    shutil.copy(demo.copies["kpis"], db)
    conn = duckdb.connect(str(db))
    try:  # written straight into the file, as data loaded before the limits would be
        conn.execute("UPDATE officials SET full_name = ?, position = ? WHERE official_id = ?",
                     [LONG_NAME, "Chuyên viên " * 100, demo.official])
    finally:
        conn.close()
    server = start_server(db, tmp / "server.log")
    try:
        added = run_dashboard("devices", "add", "kiosk-long", "--counter", COUNTER, "--db", db)
        assert added.returncode == 0, added.stderr
        assert run_dashboard("devices", "assign", "kiosk-long", demo.official, "--db", db).returncode == 0
        token = next(line.split()[-1] for line in added.stdout.splitlines() if line.startswith("token:"))
        yield Kiosk(server, db, token, demo.official, LONG_NAME, 0)
    finally:
        stop_server(server)


@pytest.mark.parametrize("viewport", [(1280, 800), (390, 844)])
def test_a_huge_stored_name_is_cut_and_plain_on_the_counter_screen(browser, long_named, viewport):
    context, page = open_kiosk(browser, long_named, viewport=viewport, clock=False)
    try:
        r = requests.get(f"{long_named.server.base_url}/api/v1/counters/{COUNTER}/duty", timeout=10,
                         cookies={"thuocdo_device": long_named.token}, headers={"X-Thuocdo-Device": "1"})
        assert r.status_code == 200, r.text
        duty = r.json()["official"]
        assert duty["official_id"] == long_named.official
        page.wait_for_function("() => document.getElementById('official-name').textContent.length > 0")
        assert page.text_content("#official-name") == duty["full_name"]
        assert len(duty["full_name"]) <= 200 and duty["full_name"].endswith("…")
        assert "\u202e" not in duty["full_name"] and len(duty["position"]) <= 200
        box = page.locator("#official-name").bounding_box()
        line = page.evaluate("parseFloat(getComputedStyle(document.getElementById('official-name')).lineHeight)")
        assert box["height"] <= 2.2 * line, f"the name takes {box['height']:.0f} px ({line:.0f} px a line)"
        for level in (4, 3, 2, 1):   # every button still on screen, and enabled: someone is on duty
            button = page.locator(f"#level-{level}")
            b = button.bounding_box()
            assert button.is_enabled() and b["y"] + b["height"] <= viewport[1], f"level {level} is off screen"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"kiosk-long-name-{viewport[0]}x{viewport[1]}.png"))
    finally:
        context.close()
