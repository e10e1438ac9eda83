"""Report and digest benchmark (not a test): the monthly PDF of the city's root unit, its time
and peak memory, and a day's digests for every leader, sent to a real SMTP server on loopback.

- The report runs in a child process (`python -m dashboard report`), so its peak resident memory
  (DuckDB's included) is the child's alone; the baseline in the same run is the same child doing
  only the metrics read (`--html`), so the PDF's own cost shows.
- "Every leader": one leader per unit of the first two levels (the city and each of its
  departments and communes), as a city would subscribe them. Their digests are built from the
  database read-only and delivered to aiosmtpd on loopback: a normal day, and the first working
  day of a month (each with its own monthly report attached).

    python bench/reports.py --db data/city.duckdb [--period 2026-11] [--leaders 0 (all)]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import duckdb  # noqa: E402


def child_report(db: Path, unit: str, period: str, out: Path, html: bool) -> dict:
    """Run the report command in a child; its wall time and peak RSS."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "dashboard", "report", "--db", str(db), "--unit", unit,
                           "--period", period, "--out", str(out), *(["--html"] if html else [])],
                          cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(proc.stderr)
    return {"seconds": round(wall, 2), "bytes": out.stat().st_size}


def peak_of_children_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def report_figures(db: Path, unit: str, period: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        # Each figure in its own measuring child: RUSAGE_CHILDREN keeps the largest child's peak.
        html = _measured(db, unit, period, Path(tmp) / "r.html", True)
        pdf = _measured(db, unit, period, Path(tmp) / "r.pdf", False)
    return {"html_only": html, "pdf": pdf}


def _measured(db: Path, unit: str, period: str, out: Path, html: bool) -> dict:
    code = (f"import sys, json, resource; sys.path[:0]={[str(REPO), str(REPO / 'bench')]!r}; "
            f"from reports import child_report; from pathlib import Path; "
            f"r = child_report(Path({str(db)!r}), {unit!r}, {period!r}, Path({str(out)!r}), {html!r}); "
            f"r['peak_mb'] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); print(json.dumps(r))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    if proc.returncode:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def leaders(cur, limit: int) -> list[tuple[str, str]]:
    """(username, unit) of one leader per unit of the first two levels."""
    root = cur.execute("SELECT unit_id FROM units WHERE parent_id IS NULL ORDER BY unit_id").fetchone()[0]
    units = [r[0] for r in cur.execute("SELECT descendant FROM unit_closure WHERE ancestor = ? AND depth <= 1 "
                                       "ORDER BY depth, descendant", [root]).fetchall()]
    units = units[:limit] if limit else units
    return [(f"lanhdao.{u.lower()}", u) for u in units]


def digests_figures(db: Path, day: dt.date, limit: int) -> dict:
    from aiosmtpd.controller import Controller

    from conftest import free_port
    from dashboard import settings
    from dashboard.digests import compose, mail

    class Sink:
        count = 0
        size = 0

        async def handle_DATA(self, server, session, envelope):
            Sink.count += 1
            Sink.size += len(envelope.content)
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    checked = settings.load({"DEMO": True, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": controller.port,
                             "SMTP_TLS": "none", "PUBLIC_BASE_URL": "https://thuocdo.example"}, environ={})
    conn = duckdb.connect(str(db), read_only=True)
    cur = conn.cursor()
    try:
        who = leaders(cur, limit)
        from dashboard.metrics.subtrees import subtree_rollups
        started = time.perf_counter()
        subtree_rollups(cur)  # what the running server holds already
        warm = time.perf_counter() - started
        build = send = pdf = 0.0
        items = attached = 0
        for username, unit in who:
            t0 = time.perf_counter()
            digest = compose.build(cur, username, unit, day, day - dt.timedelta(days=1), set(), "vi",
                                   checked["EVALUATION_DEADLINE_DAY"], checked["EVALUATION_REMINDER_DAYS"])
            t1 = time.perf_counter()
            attachment = None
            if digest.report_period:
                from dashboard.reports.cli import render
                attachment = (f"{unit}.pdf", render(cur, unit, digest.report_period))
                attached += 1
            t2 = time.perf_counter()
            msg = mail.message(digest, f"{username}@example.vn", username, checked["MAIL_FROM"],
                               mail.base_url(checked), "vi", attachment)
            mail.send(msg, checked, None)
            t3 = time.perf_counter()
            build, pdf, send = build + t1 - t0, pdf + t2 - t1, send + t3 - t2
            items += len(digest.new)
        return {"day": day.isoformat(), "leaders": len(who), "items": items, "reports_attached": attached,
                "rollups_read_s": round(warm, 2), "build_s": round(build, 2), "pdf_s": round(pdf, 2),
                "smtp_s": round(send, 2), "total_s": round(build + pdf + send, 2),
                "mails_received": Sink.count, "mb_received": round(Sink.size / 1e6, 1)}
    finally:
        conn.close()
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=REPO / "data" / "city.duckdb")
    parser.add_argument("--period", help="the report's month (default: the last complete month with data)")
    parser.add_argument("--leaders", type=int, default=0, help="only the first N leaders (0: all)")
    parser.add_argument("--skip-first-day", action="store_true", help="not the first working day's run (a PDF each)")
    args = parser.parse_args()
    conn = duckdb.connect(str(args.db), read_only=True)
    from dashboard.metrics import lookups
    root = lookups.roots(conn.cursor())[0]["unit_id"]
    period = args.period or lookups.default_period(conn.cursor())
    size = conn.execute("SELECT (SELECT count(*) FROM units), (SELECT count(*) FROM officials), "
                        "(SELECT count(*) FROM tasks)").fetchone()
    conn.close()
    print(f"data: {args.db} ({size[0]:,} units, {size[1]:,} officials, {size[2]:,} tasks); report {root} {period}")
    print("report:", json.dumps(report_figures(args.db, root, period)))
    year, month = int(period[:4]), int(period[5:7])
    first = dt.date(year + month // 12, month % 12 + 1, 1)
    while first.weekday() >= 5:
        first += dt.timedelta(days=1)
    normal = first + dt.timedelta(days=1 if first.weekday() < 4 else 3)
    print("digests, a normal day:", json.dumps(digests_figures(args.db, normal, args.leaders)))
    if not args.skip_first_day:
        print("digests, the first working day:", json.dumps(digests_figures(args.db, first, args.leaders)))


if __name__ == "__main__":
    main()
