"""Pages over HTTP: scope comes from the server-side user whatever a callback payload says;
plus the formats, exports and lookups the pages rely on."""
from __future__ import annotations

import csv
import io
import json

import duckdb
import openpyxl
import pandas as pd
import pytest

from conftest import callback_payload, http_login, kpis_cli, post_callback
from dashboard import export, formats
from dashboard.components import charts, palette
from dashboard.i18n import LANGS, TEXT
from dashboard.metrics import lookups

NOT_FOUND = "Trang này không tồn tại hoặc nằm ngoài phạm vi bạn được xem."


def _unit_tiles(unit, period):
    return callback_payload([("uv-tiles", "children")],
                            [("page-args", "data", {"unit": unit, "period": period}), ("data-version", "data", 1)])


def _official_tiles(official, period):
    return callback_payload([("ov-tiles", "children")],
                            [("page-args", "data", {"official": official, "period": period}), ("data-version", "data", 1)])


def _trends(unit, period):
    return callback_payload([("uv-trend-rates", "children"), ("uv-trend-score", "children"), ("uv-ratings", "children")],
                            [("page-args", "data", {"unit": unit, "period": period}), ("data-version", "data", 1)])


def _alerts(unit, period):
    return callback_payload([("alerts-table", "data"), ("alerts-table", "page_count"), ("alerts-count", "children"),
                             ("alerts-url", "search")],
                            [("page-args", "data", {"unit": unit, "period": period}), ("alerts-unit", "value", unit),
                             ("alerts-rule", "value", None), ("alerts-table", "page_current", 0),
                             ("alerts-table", "sort_by", []), ("data-version", "data", 1)],
                            [("alerts-url", "search", "")])


def _explore(units, period):
    return callback_payload(
        [("explore-table", "data"), ("explore-table", "columns"), ("explore-table", "page_count"),
         ("explore-chart", "children"), ("explore-count", "children"), ("explore-url", "search")],
        [("explore-kpi", "value", "on_time_rate"), ("explore-group", "value", "units"),
         ("explore-start", "value", period), ("explore-end", "value", period), ("explore-units", "value", units),
         ("explore-table", "page_current", 0), ("explore-table", "sort_by", []), ("data-version", "data", 1)],
        [("explore-url", "search", "")])


def _body(r) -> str:
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return json.dumps(r.json(), ensure_ascii=False)


def test_forged_callbacks_get_nothing_and_are_logged(server, demo):
    leader = http_login(server.base_url, demo.logins["leader"])
    own = _body(post_callback(leader, server.base_url, _unit_tiles(demo.dept, demo.period)))
    assert "kpi-tile" in own and NOT_FOUND not in own

    forged = {
        "another unit": _unit_tiles(demo.other_dept, demo.period),
        "the unit above": _unit_tiles(demo.root, demo.period),
        "another unit's trends": _trends(demo.other_dept, demo.period),
        "another unit's official": _official_tiles(demo.other_official, demo.period),
        "another unit's alerts": _alerts(demo.other_dept, demo.period),
        "a malformed period": _unit_tiles(demo.dept, "2026-13' OR 1=1"),
        "a list for a unit": _unit_tiles([demo.dept, demo.other_dept], demo.period),
        "explore (leaders have no export)": _explore([demo.dept], demo.period),
    }
    for what, payload in forged.items():
        body = _body(post_callback(leader, server.base_url, payload))
        assert "kpi-tile" not in body and "treemap" not in body, what
        assert NOT_FOUND in body or '"data": []' in body, what
    log = server.log()
    assert f"denied unit='{demo.other_dept}' to user='{demo.logins['leader'].username}'" in log
    assert f"denied official='{demo.other_official}'" in log
    assert "denied period=" in log


def test_an_official_sees_only_their_own_page(server, demo):
    me = http_login(server.base_url, demo.logins["official"])
    mine = _body(post_callback(me, server.base_url, _official_tiles(demo.official, demo.period)))
    assert "kpi-tile" in mine
    for payload in (_official_tiles(demo.other_official, demo.period), _unit_tiles(demo.dept, demo.period)):
        assert NOT_FOUND in _body(post_callback(me, server.base_url, payload))


def test_tiles_over_http_match_the_cli(server, demo):
    analyst = http_login(server.base_url, demo.logins["analyst"])
    body = post_callback(analyst, server.base_url, _official_tiles(demo.official, demo.period)).json()
    tiles = body["response"]["ov-tiles"]["children"]["props"]["children"]
    values = {c["props"]["children"]["props"]["id"]: c["props"]["children"]["props"]["data-value"] for c in tiles}
    expected = kpis_cli(demo.copies["kpis"], "--official", demo.official, "--period", demo.period)
    assert values["tile-task_score"] == ("" if expected["task_score"] is None else repr(expected["task_score"]))
    assert values["tile-overdue_open"] == repr(expected["overdue_open"])


def test_explore_rows_equal_unit_kpis_for_one_month(server, demo):
    analyst = http_login(server.base_url, demo.logins["analyst"])
    body = post_callback(analyst, server.base_url, _explore([demo.dept, demo.other_dept], demo.period)).json()
    rows = {r["group"]: r for r in body["response"]["explore-table"]["data"]}
    conn = duckdb.connect(str(demo.copies["kpis"]), read_only=True)
    names = lookups.unit_names(conn, [demo.dept, demo.other_dept])
    conn.close()
    for unit in (demo.dept, demo.other_dept):
        want = kpis_cli(demo.copies["kpis"], "--unit", unit, "--period", demo.period)
        row = rows[names[unit]]
        assert row["on_time_rate"] == pytest.approx(want["on_time_rate"], abs=1e-12)
        assert row["tasks_due"] == want["tasks_due"]


# --- formats, texts and exports -----------------------------------------------------------

@pytest.mark.parametrize("value, lang, text", [
    (0.8533, "vi", "85,3 %"), (0.8533, "en", "85.3%"), (None, "vi", "–"), (float("nan"), "vi", "–"),
    (0.0, "vi", "0,0 %"), (1.0, "vi", "100,0 %"),
])
def test_rates(value, lang, text):
    assert formats.rate(value, lang) == text


@pytest.mark.parametrize("value, lang, decimals, text", [
    (1234567, "vi", 0, "1.234.567"), (1234567, "en", 0, "1,234,567"), (56.789, "vi", 1, "56,8"),
    (None, "vi", 0, "–"), (-3.5, "vi", 1, "-3,5"),
])
def test_numbers(value, lang, decimals, text):
    assert formats.number(value, lang, decimals) == text


def test_dates_and_periods():
    import datetime as dt
    assert formats.day(dt.date(2026, 10, 5)) == "05/10/2026"
    assert formats.moment(dt.datetime(2026, 10, 5, 8, 30)) == "05/10/2026 08:30"
    assert formats.period("2026-10") == "10/2026"


def test_every_text_exists_in_both_languages():
    for key, pair in TEXT.items():
        assert len(pair) == len(LANGS) and all(p.strip() for p in pair), key


@pytest.mark.parametrize("cell, written", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("Sở Nội vụ", "Sở Nội vụ"), (-2.5, -2.5), (None, None),
])
def test_export_neutralises_formulas(cell, written):
    columns = [("group", "Nhóm", None), ("v", "=bad header", "rate")]
    rows = [{"group": cell, "v": 0.5}]
    text = export.to_csv(rows, columns, machine=True).decode("utf-8-sig")  # the ',' form; test_exports.py: Excel's
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["Nhóm", "'=bad header"]
    assert parsed[1][0] == ("" if written is None else str(written))
    ws = openpyxl.load_workbook(io.BytesIO(export.to_xlsx(rows, columns))).active
    assert ws.cell(2, 1).value == written
    assert ws.cell(2, 2).value == 0.5 and ws.cell(2, 2).number_format == "0.0%"


def test_treemap_hatches_only_the_boxes_without_data():
    sub = pd.DataFrame({"unit_id": ["R", "A", "B"], "parent_id": [None, "R", "R"], "name": ["Gốc", "A", "B"],
                        "officials_total": [5, 2, 3], "on_time_rate": [0.75, None, 0.75]})
    marker = charts.treemap(sub, "vi").data[0].marker
    assert list(marker.pattern.shape) == ["", palette.MISSING_HATCH, ""]
    assert marker.colors[1] == palette.MISSING and marker.colors[0] == marker.colors[2] != palette.MISSING


def test_okr_progress_runs_either_way():
    assert lookups.kr_progress(16, 40, 10) == pytest.approx(0.8)
    assert lookups.kr_progress(0.95, 0.9, 0.95) == pytest.approx(1.0)
    assert lookups.kr_progress(0.85, 0.9, 0.95) == 0.0
    assert lookups.kr_progress(None, 0, 10) is None
    assert lookups.kr_progress(5, None, 10) == 0.5


def test_okr_tree_takes_kpi_values_from_unit_kpis(demo):
    from dashboard.metrics.kpis import unit_kpis
    conn = duckdb.connect(str(demo.copies["kpis"]), read_only=True)
    try:
        roots = lookups.okr_tree(conn, demo.root, demo.period, max_depth=1)
        krs = [kr for node in roots for kr in node["key_results"]]
        assert krs
        for kr in krs:
            if kr["metric"] != "manual":
                want = unit_kpis(conn, demo.root, demo.period)[kr["metric"]]
                assert kr["value"] == (len(want) if isinstance(want, list) else want)
    finally:
        conn.close()


def test_new_data_reaches_open_pages_through_the_data_version(app, client, auth, demo):
    """A load bumps data_version: the poll endpoint reports it and panels are rebuilt, not served stale."""
    auth.login(demo.logins["admin"])
    before_version = client.get("/api/data-version").get_json()["version"]
    payload = _official_tiles(demo.official, demo.period)

    def on_time_rate() -> str:
        body = auth.callback(payload).get_json()
        tiles = body["response"]["ov-tiles"]["children"]["props"]["children"]
        return {c["props"]["children"]["props"]["id"]: c["props"]["children"]["props"]["data-value"]
                for c in tiles}["tile-on_time_rate"]

    before = on_time_rate()
    day = f"{demo.period}-15"
    database = app.server.extensions["thuocdo_db"]
    # Ingestion runs inside the server process, through its one writer, which reads files only
    # from its own folders (dashboard/db.py lock_down): the spool, as `etl load` does.
    from dashboard.ingest import folders
    spool = folders(app.server.config["THUOCDO"], database.path)["spool"]
    (spool / "tasks_live.csv").write_text(
        "task_id,official_id,title,origin,assigned_at,due_at,completed_at,status,quality_failures,updated_at\n"
        + "".join(f"LIVE-{i},{demo.official},Việc mới {i},assigned,{demo.period}-01,{day},{day},done,0,{day}T10:00:00\n"
                  for i in range(40)), encoding="utf-8")
    app.server.extensions["thuocdo_writer"].load_files([spool / "tasks_live.csv"])
    cur = database.cursor()
    try:
        from dashboard.metrics.kpis import official_kpis
        want = official_kpis(cur, demo.official, demo.period)["on_time_rate"]
    finally:
        cur.close()
    assert client.get("/api/data-version").get_json()["version"] > before_version
    after = on_time_rate()
    assert after != before and float(after) == pytest.approx(want, abs=1e-12)


def test_okr_history_of_another_units_key_result_gets_nothing(server, demo):
    conn = duckdb.connect(str(demo.copies["kpis"]), read_only=True)
    try:
        def kr_of(unit):
            return conn.execute("SELECT k.kr_id FROM key_results k JOIN objectives o USING (objective_id) "
                                "JOIN unit_closure c ON c.descendant = o.unit_id WHERE c.ancestor = ? AND k.metric <> 'overdue_open' "
                                "ORDER BY k.kr_id LIMIT 1", [unit]).fetchone()[0]
        own, foreign = kr_of(demo.dept), kr_of(demo.other_dept)
    finally:
        conn.close()

    def history(kr_id):
        kr = {"type": "okr-kr", "kr": kr_id}
        body = callback_payload([("okr-history", "children")], [])
        body["inputs"] = [[{"id": kr, "property": "n_clicks", "value": 1}],
                          {"id": "page-args", "property": "data", "value": {"unit": demo.dept, "period": demo.period}}]
        body["changedPropIds"] = [json.dumps(kr, separators=(",", ":"), sort_keys=True) + ".n_clicks"]
        return body

    leader = http_login(server.base_url, demo.logins["leader"])
    mine = _body(post_callback(leader, server.base_url, history(own)))
    assert NOT_FOUND not in mine and ("okr-history-graph" in mine or "Chưa có dữ liệu" in mine)
    assert NOT_FOUND in _body(post_callback(leader, server.base_url, history(foreign)))


def test_a_panel_that_fails_leaves_the_rest_of_the_page(app, demo, caplog):
    """The layout carries every panel (callbacks.fill): one builder's error becomes a note in its
    own panel and a log line, never a broken page, and the other panels are still built."""
    from dashboard import db
    from dashboard.callbacks import Ctx, fill
    from dashboard.components import unit_view

    def broken(_ctx):
        raise RuntimeError("a query failed")

    panels = {**unit_view.PANELS, "unit-trends": (unit_view.PANELS["unit-trends"][0], broken)}
    with app.server.test_request_context("/"):
        cur = db.cursor()
        unit = lookups.unit(cur, demo.dept)
        built = fill(Ctx(cur, "vi", demo.period, unit=unit), panels)
    notes = {k: json.dumps(built[k], default=str, ensure_ascii=False)
             for k in ("uv-trend-rates", "uv-trend-score", "uv-ratings")}
    assert all("Không tải được phần này" in n for n in notes.values()), notes
    assert "kpi-tile" in json.dumps(built["uv-tiles"], default=str)
    assert "a query failed" not in json.dumps(built, default=str)  # the reason is for the log only
    assert any("unit-trends" in r.getMessage() and r.exc_info for r in caplog.records)
