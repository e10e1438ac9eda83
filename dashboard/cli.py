"""`python -m dashboard serve | users | settings | kpis`: the dashboard's command line.

`users …` opens the database itself when no server holds it, and otherwise asks the running
server (dashboard/control.py), so managing users never needs the server stopped.
"""
from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import signal
import sys
from pathlib import Path

from dashboard import control, settings, users
from dashboard.errors import DashboardError
from etl.errors import DatabaseBusy, EtlError

DEFAULT_DB = os.environ.get("THUOCDO_DB_PATH", settings.SETTINGS["DB_PATH"].default)


# --- users ---------------------------------------------------------------------------

def _format_users(rows: list[dict]) -> str:
    if not rows:
        return "no users yet: `python -m dashboard users add NAME --role admin --password-stdin`"
    head = f"{'username':<20} {'role':<9} {'unit':<16} {'official':<16} {'active':<7} sessions"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['username']:<20} {r['role']:<9} {r['unit_id'] or '(all)':<16} "
                     f"{r['official_id'] or '':<16} {'yes' if r['active'] else 'NO':<7} {r['sessions']}")
    return "\n".join(lines)


def run_users(cur, req: dict) -> tuple[str, int]:
    """Carry out one `users` action against a cursor; used by the CLI and by the running server."""
    action, name = req.get("action"), req.get("name")
    if action == "add":
        u = users.add(cur, name, req["role"], req["password"], req.get("unit"), req.get("official"))
        scope = u.unit_id or u.official_id or "everything"
        return f"added {u.username} ({u.role}, scope: {scope})", 0
    if action == "list":
        rows = users.list_users(cur)
        if req.get("json"):
            return json.dumps(rows, default=str, ensure_ascii=False, indent=1), 0
        return _format_users(rows), 0
    if action in ("disable", "enable"):
        ended = users.set_active(cur, name, action == "enable")
        return f"{action}d {name}" + (f"; ended {ended} session(s)" if action == "disable" else ""), 0
    if action == "set-scope":
        u = users.set_scope(cur, name, req.get("role"), req.get("unit"), req.get("official"))
        return f"{u.username} is now {u.role}, scope: {u.unit_id or u.official_id or 'everything'}", 0
    if action == "set-password":
        ended = users.set_password(cur, name, req["password"])
        return f"new password for {name}; ended {ended} session(s)", 0
    raise DashboardError(f"unknown users action {action!r}")


def _read_password(args) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise DashboardError("the two passwords differ")
    else:
        raise DashboardError("give the password on standard input with --password-stdin")
    return users.check_password_strength(password)


def _require_db(path) -> None:
    """A mistyped --db must not quietly create an empty database."""
    if str(path) != ":memory:" and not Path(path).exists():
        raise DashboardError(f"no database at {path}; create it with `python -m etl init --db {path}` and load data "
                             f"(or `python -m dashboard serve --db {path} --demo` for demo data)")


def users_command(args) -> int:
    _require_db(args.db)
    req = {"action": args.action, "name": getattr(args, "name", None)}
    for key in ("role", "unit", "official", "json"):
        if getattr(args, key, None) is not None:
            req[key] = getattr(args, key)
    if args.action in ("add", "set-password"):
        req["password"] = _read_password(args)
    from dashboard.db import Database
    try:
        database = Database(args.db)
    except DatabaseBusy:
        output, code = control.send(args.db, {"command": "users", **req})
    else:
        try:
            output, code = run_users(database.cursor(), req)
        finally:
            database.close()
    print(output, file=sys.stdout if code == 0 else sys.stderr)
    return code


# --- serve ---------------------------------------------------------------------------

def _serve_handler(database):
    def handle(req: dict) -> tuple[str, int]:
        if req.get("command") != "users":
            raise DashboardError(f"unknown command {req.get('command')!r}")
        cur = database.cursor()
        try:
            return run_users(cur, req)
        finally:
            cur.close()
    return handle


def serve_command(args) -> int:
    import waitress

    from dashboard import demo
    from dashboard.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = {"DB_PATH": args.db, **({"DEMO": True} if args.demo else {})}
    settings.load(config)  # setting mistakes first: they say more than a missing file
    if args.demo:
        demo.ensure_data(args.db)
    else:
        _require_db(args.db)
    app = create_app(config)
    server = app.server
    checked = server.config["THUOCDO"]
    database = server.extensions["thuocdo_db"]
    if checked["DEMO"]:
        print(demo.ensure_users(database), flush=True)
    ctl = control.ControlServer(args.db, _serve_handler(database)).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"Thước đo: http://{args.host}:{args.port}/ (database {args.db}, {checked['THREADS']} threads)", flush=True)
    try:
        waitress.serve(server, host=args.host, port=args.port, threads=checked["THREADS"],
                       ident="thuocdo", clear_untrusted_proxy_headers=True, _quiet=True)
    finally:
        ctl.stop()
        database.close()
    return 0


# --- kpis: owned by dashboard/metrics/cli.py (the lead's); only wired in here --------------

def _add_kpis_parser(sub) -> None:
    from dashboard.metrics.cli import add_kpis_arguments, kpis_command
    p = sub.add_parser("kpis", help="print one unit's or official's KPIs (metrics.md) as JSON or a table")
    add_kpis_arguments(p)
    p.set_defaults(func=kpis_command)


# --- parser --------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="Thước đo dashboard")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the dashboard (one process, waitress threads)")
    p.add_argument("--db", default=DEFAULT_DB)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8050)
    p.add_argument("--demo", action="store_true",
                   help="build demo data if the database is empty and print demo logins")
    p.set_defaults(func=serve_command)

    p = sub.add_parser("users", help="manage logins (works while the server runs)")
    usub = p.add_subparsers(dest="action", required=True)
    a = usub.add_parser("add", help="add a login")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=users.ROLES)
    a.add_argument("--unit", help="scope: this unit and below (leader, analyst)")
    a.add_argument("--official", help="the official this login belongs to (role official)")
    a.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    a = usub.add_parser("list", help="list logins")
    a.add_argument("--json", action="store_true", default=None)
    for action, text in (("disable", "disable a login and end its sessions now"), ("enable", "enable a login")):
        a = usub.add_parser(action, help=text)
        a.add_argument("name")
    a = usub.add_parser("set-scope", help="change role and scope (from the user's next request)")
    a.add_argument("name")
    a.add_argument("--role", choices=users.ROLES)
    a.add_argument("--unit")
    a.add_argument("--official")
    a = usub.add_parser("set-password", help="set a new password and end the user's sessions")
    a.add_argument("name")
    a.add_argument("--password-stdin", action="store_true")
    for a in usub.choices.values():
        a.add_argument("--db", default=DEFAULT_DB)
    p.set_defaults(func=users_command)

    p = sub.add_parser("settings", help="list every server setting with its default")
    p.set_defaults(func=lambda _args: print(settings.describe()) or 0)

    _add_kpis_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (DashboardError, EtlError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
