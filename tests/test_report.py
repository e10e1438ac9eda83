"""The monthly A4 report: the CLI writes a PDF whose text (pdftotext) holds the Vietnamese
headings and the same numbers as `python -m dashboard kpis`, and whose pages pdftoppm draws;
the unit page's button downloads it within the user's scope, audited as an export."""
from __future__ import annotations

import shutil
import subprocess

import duckdb
import pytest

from conftest import ARTIFACTS, browser_login, kpis_cli, run_dashboard, screenshot, settled

AS_OF = "2026-11-05"
pytestmark = pytest.mark.skipif(not shutil.which("pdftotext") or not shutil.which("pdftoppm"),
                                reason="poppler-utils missing: `make poppler`")


def vn_rate(x) -> str:
    return "–" if x is None else f"{100 * x:,.1f}".replace(",", "\0").replace(".", ",").replace("\0", ".") + " %"


def vn_int(x) -> str:
    return f"{x:,}".replace(",", ".")


def test_cli_report_text_numbers_and_pages(demo, tmp_path):
    out = tmp_path / "report.pdf"
    db = demo.copies["kpis"]
    proc = run_dashboard("report", "--db", db, "--unit", demo.root, "--period", demo.period, "--as-of", AS_OF,
                         "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    period_vn = f"{demo.period[5:]}/{demo.period[:4]}"
    for heading in (f"Báo cáo tháng {period_vn}", "Chỉ số chính", "Diễn biến 13 tháng", "Đơn vị trực thuộc",
                    "Vi phạm và cảnh báo", "Cán bộ cần quan tâm", "Tình trạng OKR", "Tỷ lệ đúng hạn",
                    "Mức độ hài lòng", "Chưa có kết quả xếp loại"):
        assert heading in text, heading
    kpis = kpis_cli(db, "--unit", demo.root, "--period", demo.period, "--as-of", AS_OF)
    tiles = text.split("Diễn biến 13 tháng")[0]
    for shown in (vn_rate(kpis["on_time_rate"]), vn_rate(kpis["completion_rate"]), vn_rate(kpis["satisfaction_rate"]),
                  vn_int(kpis["overdue_open"]), vn_int(kpis["ratings_count"]), vn_int(kpis["pending_evaluations"])):
        assert shown in tiles, (shown, tiles)
    # Children worst-first: their order in the text follows their own on-time rates (from `kpis`).
    from dashboard.metrics.kpis import unit_kpis
    conn = duckdb.connect(str(db), read_only=True)
    children = conn.execute("SELECT unit_id, name FROM units WHERE parent_id = ?", [demo.root]).fetchall()
    rates = {name: unit_kpis(conn.cursor(), unit_id, demo.period)["on_time_rate"] for unit_id, name in children}
    conn.close()
    table = text.split("Đơn vị trực thuộc")[1].split("Vi phạm và cảnh báo")[0]
    positions = sorted((table.index(name), rate) for name, rate in rates.items() if rate is not None)
    assert [r for _, r in positions] == sorted(r for _, r in positions), "lowest on-time rate first"
    pages = subprocess.run(["pdftoppm", "-r", "80", "-png", str(out), str(ARTIFACTS / "report-page")],
                           capture_output=True, text=True)
    assert pages.returncode == 0, pages.stderr
    assert sorted(p.name for p in ARTIFACTS.glob("report-page-*.png"))[:1] == ["report-page-1.png"]


def test_cli_refuses_bad_arguments(demo, tmp_path):
    proc = run_dashboard("report", "--db", demo.copies["kpis"], "--unit", "NO.SUCH", "--period", demo.period,
                         "--out", tmp_path / "x.pdf")
    assert proc.returncode == 1 and "unknown unit" in proc.stderr
    proc = run_dashboard("report", "--db", demo.copies["kpis"], "--unit", demo.root, "--period", "2026-13",
                         "--out", tmp_path / "x.pdf")
    assert proc.returncode == 2


def test_download_is_scoped_and_audited(app, client, auth, demo):
    auth.login(demo.logins["leader"])
    ok = client.get(f"/report/{demo.dept}.pdf?period={demo.period}")
    assert ok.status_code == 200 and ok.mimetype == "application/pdf" and ok.data.startswith(b"%PDF")
    assert f"bao-cao-{demo.dept}-{demo.period}.pdf" in ok.headers["Content-Disposition"]
    assert client.get(f"/report/{demo.other_dept}.pdf?period={demo.period}").status_code == 404, "outside the scope"
    assert client.get(f"/report/{demo.dept}.pdf?period=2026-1").status_code == 404
    anonymous = app.server.test_client()
    assert anonymous.get(f"/report/{demo.dept}.pdf?period={demo.period}").status_code in (302, 401)
    audit = app.server.extensions["thuocdo_audit"]
    audit.flush()
    cur = app.server.extensions["thuocdo_db"].cursor()
    rows = cur.execute("SELECT username, target, detail FROM audit_log WHERE kind = 'export' AND target = 'pdf'").fetchall()
    assert any(r[0] == demo.logins["leader"].username and demo.dept in r[2] for r in rows), rows


def test_unit_page_button_downloads_the_pdf(server, demo, browser):
    context, page = browser_login(browser, server.base_url, demo.logins["leader"], viewport=(1920, 1080))
    try:
        page.goto(f"{server.base_url}/unit/{demo.dept}?period={demo.period}")
        settled(page)
        screenshot(page, "unit-report-button-desktop")
        with page.expect_download() as info:
            page.click("#report-pdf")
        download = info.value
        assert download.suggested_filename == f"bao-cao-{demo.dept}-{demo.period}.pdf"
        with open(download.path(), "rb") as f:
            assert f.read(4) == b"%PDF"
        page.set_viewport_size({"width": 390, "height": 844})
        settled(page)
        screenshot(page, "unit-report-button-phone")
    finally:
        context.close()


def test_cli_report_while_the_server_holds_the_file(server, demo, tmp_path):
    out = tmp_path / "served.pdf"
    proc = run_dashboard("report", "--db", server.db, "--unit", demo.dept, "--period", demo.period, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith(b"%PDF"), "written by the server, over its admin socket"
