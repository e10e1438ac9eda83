"""`python -m etl`: init, load, replay, status, demo, compact, backup, restore.

Exit codes:
  0  done, every row loaded (or the file was already loaded)
  1  done, but some rows were quarantined or a whole file was rejected (see `status`)
  2  wrong arguments
  3  the database is held by another process (normally the running server)
  4  any other error (a missing file, a damaged database, …); the message says what to do
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from etl.clustering import compact
from etl.db import DEFAULT_DB, connect
from etl.errors import DatabaseBusy, EtlError
from etl.scaleout import add_parsers as add_scaleout_parsers

EXIT_OK, EXIT_QUARANTINE, EXIT_USAGE, EXIT_BUSY, EXIT_ERROR = 0, 1, 2, 3, 4


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m etl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"database file (default {DEFAULT_DB})")
        return p

    command("init", "create the database (or upgrade its schema)")
    p = command("load", "load contract files, each in its own transaction")
    p.add_argument("files", nargs="+", type=Path, help="files named <kind>…(.csv|.xlsx|.jsonl|.parquet)")
    p.add_argument("--json", action="store_true", help="print one JSON object per file")
    p = command("replay", "retry quarantined rows whose unit/official/objective/key result was unknown")
    p.add_argument("--json", action="store_true", help="print one JSON object per batch")
    p = command("status", "the ingest ledger and quarantine summary")
    p.add_argument("--json", action="store_true", help="print one JSON object per file or batch")
    p = command("demo", "write the seeded demo files and load them")
    p.add_argument("--scale", choices=("demo", "city"), default="demo")
    p.add_argument("--until", help="last month of data, YYYY-MM (default: this month)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", type=Path, help="folder for the generated files")
    p = command("compact", "rewrite the per-official tables in official_id order (load and demo do "
                           "this by themselves when lookups have become slow)")
    p.add_argument("--force", action="store_true", help="every clustered table, however ordered it is")
    p = command("backup", "write a snapshot of the database (Parquet files and a manifest) into a new folder; "
                          "while the server runs, the server takes it without pausing its loads")
    p.add_argument("--into", type=Path, help="folder for the backup's folder (default: backups/ beside the "
                                             "database; the running server uses its BACKUP_DIR)")
    p = command("restore", "build a new database file (--db, must not exist) from a backup folder")
    p.add_argument("backup", type=Path, help="a folder `python -m etl backup` printed")
    COMMANDS.update(add_scaleout_parsers(sub))  # lake export, spark rollups, rollups import (etl/scaleout.py)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except EtlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _init(args) -> int:
    conn = connect(args.db)
    version = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    conn.close()
    print(f"{args.db}: ready (schema version {version})")
    return EXIT_OK


def _print_entries(entries: list[dict], as_json: bool) -> None:
    for e in entries:
        if as_json:
            print(json.dumps(e, ensure_ascii=False, default=str))
            continue
        line = (f"{e['file']:<32} {e['kind'] or '-':<16} {e['status']:<14} read {e['rows_read']:>9,}  "
                f"loaded {e['loaded']:>9,}  duplicates {e['duplicates']:>7,}  quarantined {e['quarantined']:>6,}")
        print(line)
        if e.get("message"):
            print(f"    {e['message']}")
        for reason, count in (e.get("reasons") or {}).items():
            print(f"    {count:>6,} × {reason}")


def _exit_for(entries: list[dict]) -> int:
    bad = any(e["quarantined"] or e["status"] == "rejected" for e in entries)
    return EXIT_QUARANTINE if bad else EXIT_OK


def _load(args) -> int:
    from etl.loader import load_file

    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        raise EtlError(f"no such file(s): {', '.join(missing)}", EXIT_ERROR)
    try:
        conn = connect(args.db)
    except DatabaseBusy as busy:
        return _load_in_server(args, busy)
    entries = []
    try:
        for f in args.files:
            entry = load_file(conn, f)
            entries.append(entry)
            _print_entries([entry], args.json)
        _report_compaction(compact(conn), to_stderr=args.json)
    finally:
        conn.close()
    return _exit_for(entries)


def _ask_server(args, busy: DatabaseBusy, request: dict):
    """The server holds the database: run the command there, over its admin socket (its writer
    loads files between its other arrivals); the answer, decoded from JSON."""
    from dashboard.control import send  # the server's admin channel; only needed in this case
    from dashboard.errors import DashboardError

    try:
        output, code = send(args.db, request, timeout=3600)
    except DashboardError:  # not a Thước đo server, or not one this user may talk to
        raise EtlError(f"{busy} (No Thước đo server answers on the database's admin socket, so the "
                       "command could not be handed to it.)", EXIT_BUSY) from None
    if code != 0:
        raise EtlError(output, code)
    return json.loads(output)


def _load_in_server(args, busy: DatabaseBusy) -> int:
    entries = _ask_server(args, busy, {"command": "load", "paths": [str(f.resolve()) for f in args.files]})
    _print_entries(entries, args.json)
    return _exit_for(entries)


def _report_compaction(done: list[dict], to_stderr: bool = False) -> None:
    for d in done:
        print(f"compacted {d['table']}: a lookup of one official reads {d['lookup_cost_before']} → "
              f"{d['lookup_cost_after']} row groups ({d['seconds']} s)", file=sys.stderr if to_stderr else sys.stdout)


def _compact(args) -> int:
    conn = connect(args.db)
    try:
        done = compact(conn, force=args.force)
    finally:
        conn.close()
    _report_compaction(done)
    if not done:
        print("nothing to compact: every per-official table is in official_id order")
    return EXIT_OK


def _replay(args) -> int:
    from etl.loader import replay

    try:
        conn = connect(args.db)
    except DatabaseBusy as busy:
        entries = _ask_server(args, busy, {"command": "replay"})
    else:
        try:
            entries = replay(conn)
        finally:
            conn.close()
    if not entries and not args.json:
        print("nothing to replay: no quarantined row is waiting for a unit, official, objective or key result")
    _print_entries(entries, args.json)
    return _exit_for(entries)


def _status(args) -> int:
    from etl.loader import status_report

    if not Path(args.db).exists():
        raise EtlError(f"no database at {args.db}; create it with `python -m etl init --db {args.db}`")
    try:
        conn = connect(args.db)
    except DatabaseBusy as busy:
        entries, waiting = _ask_server(args, busy, {"command": "status"})
    else:
        try:
            entries, waiting = status_report(conn)
        finally:
            conn.close()
    _print_entries(entries, args.json)
    if not args.json:
        print(f"{len(entries)} batches; rows in quarantine: {sum(n for _, n in waiting):,}")
        for reason, n in waiting:
            print(f"    {n:>6,} × {reason}")
    return EXIT_OK


def _demo(args) -> int:
    from etl.demo import build_demo

    summary = build_demo(args.db, scale=args.scale, out_dir=args.out, seed=args.seed, until=args.until,
                         progress=lambda text: print(text, file=sys.stderr, flush=True))
    shown = {k: v for k, v in summary.items() if k not in ("ledger", "files")}  # per file: see `status`
    print(json.dumps(shown, ensure_ascii=False, default=str, indent=2))
    return EXIT_QUARANTINE if summary["quarantined"] else EXIT_OK


def _backup(args) -> int:
    from etl import backup

    if not Path(args.db).exists():
        raise EtlError(f"no database at {args.db}")
    try:
        conn = connect(args.db)
    except DatabaseBusy as busy:
        taken = _ask_server(args, busy, {"command": "backup"})
        if args.into and Path(args.into).resolve() != Path(taken["path"]).parent:
            print(f"note: the running server writes backups to its BACKUP_DIR, not {args.into}", file=sys.stderr)
    else:
        try:
            taken = backup.take(conn.cursor(), args.into or backup.default_folder(args.db))
        finally:
            conn.close()
    print(f"{taken['path']}: {sum(taken['tables'].values()):,} rows in {len(taken['tables'])} tables "
          f"(schema version {taken['schema_version']})")
    return EXIT_OK


def _restore(args) -> int:
    from etl import backup

    restored = backup.restore(args.backup, args.db)
    print(f"{restored['path']}: restored {sum(restored['tables'].values()):,} rows in {len(restored['tables'])} "
          f"tables from the backup taken {restored['taken_at']}")
    connect(args.db).close()  # a backup from an older release is brought to this schema now
    return EXIT_OK


COMMANDS = {"backup": _backup, "restore": _restore, "init": _init, "load": _load, "replay": _replay, "status": _status, "demo": _demo,
            "compact": _compact}
