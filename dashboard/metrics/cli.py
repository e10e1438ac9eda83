"""`python -m dashboard kpis`: the metrics.md object for a unit or an official, as JSON or a table."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from etl.db import DEFAULT_DB, connect
from etl.errors import EtlError

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE = 0, 1, 2


def period_args_valid(args) -> bool:
    """--period is a month and --as-of (if given) a date; otherwise says which, on stderr."""
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", args.period):
        print(f"error: --period {args.period!r} is not a month; use YYYY-MM, e.g. 2026-10", file=sys.stderr)
        return False
    if args.as_of and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", args.as_of):
        print(f"error: --as-of {args.as_of!r} is not a date; use YYYY-MM-DD", file=sys.stderr)
        return False
    return True


def add_kpis_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"database file (default {DEFAULT_DB})")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--unit", help="unit id: the unit and all its descendants")
    who.add_argument("--official", help="official id")
    p.add_argument("--period", required=True, help="month, YYYY-MM (Asia/Ho_Chi_Minh)")
    p.add_argument("--as-of", dest="as_of", help="date for overdue_open, YYYY-MM-DD (default: today)")
    p.add_argument("--format", choices=("json", "table"), default="json")


def kpis_command(args) -> int:
    """Run `kpis` with parsed arguments; prints the object, returns the exit code."""
    from dashboard.metrics.kpis import NotFound, official_kpis, unit_kpis

    if not period_args_valid(args):
        return EXIT_USAGE
    if not Path(args.db).exists():
        print(f"error: no database at {args.db}", file=sys.stderr)
        return EXIT_NOT_FOUND
    try:
        conn = connect(args.db, read_only=True)
    except EtlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        cur = conn.cursor()
        if args.unit:
            result = unit_kpis(cur, args.unit, args.period, args.as_of)
        else:
            result = official_kpis(cur, args.official, args.period, args.as_of)
    except NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    finally:
        conn.close()
    print(json.dumps(result, ensure_ascii=False) if args.format == "json" else format_table(result))
    return EXIT_OK


def format_table(result: dict) -> str:
    """The object for people: one KPI a line, rates as percentages, '–' for null."""
    lines = []
    for key, value in result.items():
        if key in ("violations", "warnings"):
            lines.append(f"{key:<22} {len(value)}")
            lines.extend(f"    {i['rule']:<24} {i['unit_id']:<16} {i['official_id'] or ''}" for i in value)
        elif key == "rating_counts":
            lines.append(f"{key:<22} " + "  ".join(f"{k} {v}" for k, v in value.items()))
        elif value is None:
            lines.append(f"{key:<22} –")
        elif key.endswith("_rate"):
            lines.append(f"{key:<22} {value * 100:.1f} %")
        elif isinstance(value, float):
            lines.append(f"{key:<22} {value:.2f}")
        else:
            lines.append(f"{key:<22} {value}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard kpis", description=__doc__)
    add_kpis_arguments(parser)
    return kpis_command(parser.parse_args(argv))
