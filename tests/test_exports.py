"""Exports (dashboard/export.py, components/export_buttons.py): CSV that Excel opens correctly
with Vietnamese regional settings, header lines saying what the file is, XLSX with the table
below its header rows, and leaders' downloads of the tables they see, scope-checked and audited.
"""
from __future__ import annotations

import base64
import io
import json
from datetime import date, datetime

import openpyxl
import pytest

from conftest import audit_mark, audit_since, callback_payload
from dashboard import export

NOT_FOUND = "Trang này không tồn tại hoặc nằm ngoài phạm vi bạn được xem."
COLUMNS = [("name", "Đơn vị", None), ("on_time_rate", "Tỷ lệ đúng hạn", "rate"), ("task_score", "Điểm", "score"),
           ("tasks_due", "Nhiệm vụ đến hạn", "count"), ("due", "Hạn", "date")]
ROWS = [{"name": "Phường Thanh Xuân; Hà Nội", "on_time_rate": 0.875, "task_score": 61.25, "tasks_due": 1234,
         "due": date(2026, 12, 3)},
        {"name": "=HYPERLINK(\"x\")", "on_time_rate": 0.8753246753246753, "task_score": None, "tasks_due": 0,
         "due": None}]
HEADER = export.Header("Đơn vị trực thuộc", "Sở Nội vụ (HN.SNV)", "10/2026", datetime(2026, 12, 3, 8, 5))


# --- the file formats ---------------------------------------------------------------------------

def test_csv_for_excel_vn_has_bom_semicolons_decimal_commas_and_header_lines():
    data = export.to_csv(ROWS, COLUMNS, HEADER)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[:5] == ["Bảng;Đơn vị trực thuộc", "Phạm vi;Sở Nội vụ (HN.SNV)", "Kỳ;10/2026",
                         "Thời điểm xuất;03/12/2026 08:05", ""]
    assert lines[5] == "Đơn vị;Tỷ lệ đúng hạn (%);Điểm;Nhiệm vụ đến hạn;Hạn"
    # numbers unquoted with a decimal comma and no thousands mark; text with ';' quoted; dates dd/mm/yyyy
    assert lines[6] == '"Phường Thanh Xuân; Hà Nội";87,5;61,25;1234;03/12/2026'
    # a formula is neutralised; no value is an empty cell, never 0
    assert lines[7] == '"\'=HYPERLINK(""x"")";87,5324675325;;0;'


def test_csv_numbers_read_back_as_the_metrics():
    head, table = export.read_csv_table(export.to_csv(ROWS, COLUMNS, HEADER))
    assert head[0] == ["Bảng", "Đơn vị trực thuộc"] and table[0][0] == "Đơn vị"
    for row, cells in zip(ROWS, table[1:]):
        assert float(cells[1].replace(",", ".")) / 100 == pytest.approx(row["on_time_rate"], abs=1e-10)
        assert (float(cells[2].replace(",", ".")) if cells[2] else None) == row["task_score"]
        assert int(cells[3]) == row["tasks_due"]


def test_csv_for_software_keeps_the_old_form_under_the_same_header_lines():
    data = export.to_csv(ROWS, COLUMNS, HEADER, machine=True)
    head, table = export.read_csv_table(data)
    assert data.startswith(b"\xef\xbb\xbf") and head[2] == ["Kỳ", "10/2026"]
    assert table[0] == ["Đơn vị", "Tỷ lệ đúng hạn", "Điểm", "Nhiệm vụ đến hạn", "Hạn"]
    assert table[1] == ["Phường Thanh Xuân; Hà Nội", "0.875", "61.25", "1234", "2026-12-03"]
    assert float(table[2][1]) == ROWS[1]["on_time_rate"]


def test_xlsx_has_header_rows_then_the_table_with_its_header_frozen():
    ws = openpyxl.load_workbook(io.BytesIO(export.to_xlsx(ROWS, COLUMNS, HEADER))).active
    assert [[c.value for c in ws[r]][:2] for r in range(1, 5)] == [
        ["Bảng", "Đơn vị trực thuộc"], ["Phạm vi", "Sở Nội vụ (HN.SNV)"], ["Kỳ", "10/2026"],
        ["Thời điểm xuất", "03/12/2026 08:05"]]
    row = export.table_row(ws)
    assert row == 6 and [c.value for c in ws[row]] == [label for _, label, _ in COLUMNS]
    assert ws.freeze_panes == "A7"
    assert ws.cell(7, 2).value == 0.875 and ws.cell(7, 2).number_format == "0.0%"
    assert ws.cell(8, 1).value.startswith("'=") and ws.cell(8, 3).value is None


# --- leaders' downloads through the real callbacks (in-process app) -----------------------------

def _download(table: str, args: dict, kind: str = "csv", state=()):
    payload = callback_payload(
        [(f"export-{table}-download", "data"), (f"export-{table}-message", "children")],
        [(f"export-{table}-csv", "n_clicks", 1 if kind == "csv" else None),
         (f"export-{table}-xlsx", "n_clicks", 1 if kind == "xlsx" else None)],
        [("page-args", "data", args), *state])
    payload["changedPropIds"] = [f"export-{table}-{kind}.n_clicks"]
    return payload


def _file(response) -> tuple[str, bytes] | None:
    sent = response.get_json()["response"]
    data = next((v.get("data") for k, v in sent.items() if k.endswith("-download")), None)
    if not data:
        return None
    return data["filename"], base64.b64decode(data["content"]) if data.get("base64") else data["content"].encode()


def _subtree(app, unit: str) -> set[str]:
    cur = app.server.extensions["thuocdo_db"].cursor()
    try:
        return {r[0] for r in cur.execute("SELECT descendant FROM unit_closure WHERE ancestor = ?", [unit]).fetchall()}
    finally:
        cur.close()


def test_a_leader_exports_the_units_below_their_unit_with_the_metrics_numbers(app, auth, demo):
    from dashboard.metrics.compare import children

    leader = demo.logins["leader"]
    auth.login(leader)
    mark = audit_mark(app)
    r = auth.callback(_download("children", {"unit": demo.dept, "period": demo.period}))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    name, data = _file(r)
    assert name == f"thuocdo_don_vi_truc_thuoc_{demo.dept}_{demo.period}.csv" and data.startswith(b"\xef\xbb\xbf")
    head, table = export.read_csv_table(data)
    assert head[1][1].endswith(f"({demo.dept})") and head[2][1] == f"{demo.period[5:]}/{demo.period[:4]}"
    cols = table[0]
    assert cols[:2] == ["Mã đơn vị", "Đơn vị"] and "Tỷ lệ đúng hạn (%)" in cols
    cur = app.server.extensions["thuocdo_db"].cursor()
    try:
        expected = {r["unit_id"]: r for r in children(cur, demo.dept, demo.period).to_dict("records")}
    finally:
        cur.close()
    inside = _subtree(app, demo.dept)
    assert {row[0] for row in table[1:]} == set(expected) and set(expected) <= inside
    rate = cols.index("Tỷ lệ đúng hạn (%)")
    for row in table[1:]:
        want = expected[row[0]]["on_time_rate"]
        got = float(row[rate].replace(",", ".")) / 100 if row[rate] else None
        if want is None or want != want:  # no tasks due: an empty cell, never 0
            assert got is None
        else:
            assert got == pytest.approx(want, abs=1e-10)
    rows = audit_since(app, mark)
    assert [(k, u, t) for k, u, t, _ in rows] == [("export", leader.username, "csv")]
    assert json.loads(rows[0][3])["table"] == "children" and json.loads(rows[0][3])["unit"] == demo.dept


def test_a_leaders_ranking_export_holds_only_their_subtree(app, auth, demo):
    auth.login(demo.logins["leader"])
    r = auth.callback(_download("ranking", {"unit": demo.dept, "period": demo.period}, "xlsx",
                                [("ranking-list", "value", "all"), ("ranking-table", "sort_by", [])]))
    name, data = _file(r)
    assert name.endswith(".xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    row = export.table_row(ws)
    assert ws.cell(row, 1).value == "Mã cán bộ" and ws.freeze_panes == f"A{row + 1}"
    units = {ws.cell(r, 4).value for r in range(row + 1, ws.max_row + 1)}
    assert units and units <= _subtree(app, demo.dept)


def test_a_forged_export_for_another_unit_is_refused_and_audited(app, auth, demo):
    leader = demo.logins["leader"]
    auth.login(leader)
    for table, state in (("children", ()), ("okr", [("okr-status", "value", "all"), ("okr-sort", "value", "status")]),
                         ("ranking", [("ranking-list", "value", "all"), ("ranking-table", "sort_by", [])])):
        mark = audit_mark(app)
        r = auth.callback(_download(table, {"unit": demo.other_dept, "period": demo.period}, state=state))
        assert r.status_code == 200 and _file(r) is None and NOT_FOUND in json.dumps(r.get_json(), ensure_ascii=False)
        rows = audit_since(app, mark)
        assert [(k, u, t) for k, u, t, _ in rows] == [("denied", leader.username, "unit")], table
        assert json.loads(rows[0][3]) == {"value": demo.other_dept}


def test_an_official_has_no_exports(app, auth, demo):
    official = demo.logins["official"]
    auth.login(official)
    mark = audit_mark(app)
    r = auth.callback(_download("children", {"unit": demo.dept, "period": demo.period}))
    assert _file(r) is None
    assert [(k, t) for k, _, t, _ in audit_since(app, mark)] == [("denied", "export")]


def test_the_okr_export_follows_the_filter(app, auth, demo):
    auth.login(demo.logins["admin"])
    state = [("okr-status", "value", "off_track"), ("okr-sort", "value", "status")]
    name, data = _file(auth.callback(_download("okr", {"unit": demo.root, "period": demo.period}, state=state)))
    head, table = export.read_csv_table(data)
    assert name == f"thuocdo_okr_{demo.root}_{demo.period}.csv" and head[0][1] == "Danh sách OKR"
    status = table[0].index("Trạng thái mục tiêu")
    assert len(table) > 1 and {row[status] for row in table[1:]} == {"Chậm tiến độ"}


def test_a_leader_downloads_from_the_unit_page_in_the_browser(browser, server, demo):
    from conftest import browser_login, screenshot, settled

    for size in ((1920, 1080), (390, 844)):
        context, page = browser_login(browser, server.base_url, demo.logins["leader"], viewport=size)
        try:
            page.goto(f"{server.base_url}/unit/{demo.dept}?period={demo.period}")
            settled(page)
            page.locator("#unit-exports").scroll_into_view_if_needed()
            assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
            screenshot(page, f"unit-exports-{size[0]}")
            if size[0] != 1920:
                continue
            with page.expect_download() as info:
                page.click("#export-ranking-csv")
            assert info.value.suggested_filename == f"thuocdo_xep_hang_can_bo_{demo.dept}_{demo.period}.csv"
            with open(info.value.path(), "rb") as f:
                head, table = export.read_csv_table(f.read())
            assert head[1][1].endswith(f"({demo.dept})") and table[0][0] == "Mã cán bộ" and len(table) > 1
            # the file's first rows are the table's first page, in its order (worst first by default)
            shown = page.eval_on_selector_all("#ranking-table tbody tr td[data-dash-column='full_name']",
                                              "cells => cells.map(c => c.innerText.trim())")
            assert [r[1] for r in table[1:1 + len(shown)]] == [s.split(" ★")[0].split(" (")[0] for s in shown]
        finally:
            context.close()


def test_the_analysts_csv_for_software_keeps_the_old_form(browser, server, demo):
    from conftest import browser_login, settled

    context, page = browser_login(browser, server.base_url, demo.logins["analyst"])
    try:
        page.goto(f"{server.base_url}/explore?kpi=on_time_rate&group=units&start={demo.period}&end={demo.period}")
        settled(page)
        with page.expect_download() as info:
            page.click("#explore-csv-machine")
        with open(info.value.path(), "rb") as f:
            head, table = export.read_csv_table(f.read())
        assert head[2] == ["Kỳ", f"{demo.period[5:]}/{demo.period[:4]}"]
        assert table[0][1] == "Tỷ lệ đúng hạn" and len(table) > 1
        assert all(0 <= float(row[1]) <= 1 for row in table[1:] if row[1])  # rates 0..1, '.' decimals
    finally:
        context.close()
