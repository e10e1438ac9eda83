"""`python -m dashboard report --unit ID --period YYYY-MM --out FILE.pdf`: the monthly report.

It reads the rollups read-only. While a server holds the file (DuckDB then refuses other
processes), the command is run inside that server over its admin socket (dashboard/control.py,
same OS user only), which writes the file."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dashboard.metrics.cli import period_args_valid
from etl.db import DEFAULT_DB, connect
from etl.errors import DatabaseBusy, EtlError

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE = 0, 1, 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"database file (default {DEFAULT_DB})")
    p.add_argument("--unit", required=True, help="unit id: the unit and all its descendants")
    p.add_argument("--period", required=True, help="month, YYYY-MM (Asia/Ho_Chi_Minh)")
    p.add_argument("--out", type=Path, required=True, help="the PDF file to write")
    p.add_argument("--as-of", dest="as_of", help="date for overdue tasks, YYYY-MM-DD (default: today)")
    p.add_argument("--lang", choices=("vi", "en"), default="vi")
    p.add_argument("--html", action="store_true", help="write the HTML instead of the PDF (to look at the layout)")


def render(cur, unit_id: str, period: str, as_of=None, lang: str = "vi") -> bytes:
    """The report's PDF bytes (raises metrics NotFound for an unknown unit)."""
    from dashboard.reports import content, render as html
    return html.to_pdf(html.to_html(content.build(cur, unit_id, period, as_of), lang))


def report_command(args) -> int:
    if not period_args_valid(args):
        return EXIT_USAGE
    req = {"unit": args.unit, "period": args.period, "as_of": args.as_of, "lang": args.lang,
           "html": bool(args.html), "out": str(Path(args.out).resolve())}
    try:
        conn = connect(args.db, read_only=True)
    except DatabaseBusy:
        from dashboard import control
        output, code = control.send(args.db, {"command": "report", **req})
        print(output, file=sys.stdout if code == 0 else sys.stderr)
        return code
    except EtlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        output, code = run_request(conn.cursor(), req)
    finally:
        conn.close()
    print(output if code == 0 else f"error: {output}", file=sys.stdout if code == 0 else sys.stderr)
    return code


def run_request(cur, req: dict) -> tuple[str, int]:
    """Write one report (the CLI's cursor, or the running server's); (message, exit code)."""
    from dashboard.metrics.kpis import NotFound
    from dashboard.reports import content, render as html

    started = time.perf_counter()
    try:
        data = content.build(cur, req["unit"], req["period"], req.get("as_of"))
    except NotFound as exc:
        return str(exc), EXIT_NOT_FOUND
    page = html.to_html(data, req.get("lang") or "vi")
    out = page.encode("utf-8") if req.get("html") else html.to_pdf(page)
    path = Path(req["out"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out)
    return f"wrote {path} ({len(out):,} bytes, {time.perf_counter() - started:.1f} s)", EXIT_OK
