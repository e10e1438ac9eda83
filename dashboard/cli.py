"""`python -m dashboard serve | users | devices | displays | settings | kpis`: the command line.

`users …`, `devices …` and `displays …` open the database themselves when no server holds it,
and otherwise ask the running server (dashboard/control.py), so managing logins and tokens
never needs the server stopped.
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

from dashboard import audit, control, settings, tokens, users
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


def _audit_change(cur, kind: str, what: str, req: dict, *fields: str) -> None:
    """The audit row of a change made by a command (who: the OS user; no secret is recorded)."""
    detail = {"action": req.get("action"), **{f: req.get(f) for f in fields if req.get(f) is not None}}
    audit.write_now(cur, kind, username=_cli_user(), target=f"{what}:{req.get('name')}", detail=detail)


def run_users(cur, req: dict) -> tuple[str, int]:
    """Carry out one `users` action against a cursor; used by the CLI and by the running server."""
    output = _run_users(cur, req)
    if req.get("action") != "list":
        _audit_change(cur, "user_change", "user", req, "role", "unit", "official")
    return output


def _run_users(cur, req: dict) -> tuple[str, int]:
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


def _run_here_or_in_server(db, command: str, req: dict) -> int:
    """Run `req` on the database directly, or, while a server holds it, inside that server."""
    from dashboard.db import Database
    try:
        database = Database(db)
    except DatabaseBusy:
        output, code = control.send(db, {"command": command, **req})
    else:
        try:
            output, code = CONTROL_COMMANDS[command](database.cursor(), req)
        finally:
            database.close()
    print(output, file=sys.stdout if code == 0 else sys.stderr)
    return code


def users_command(args) -> int:
    _require_db(args.db)
    req = {"action": args.action, "name": getattr(args, "name", None)}
    for key in ("role", "unit", "official", "json"):
        if getattr(args, key, None) is not None:
            req[key] = getattr(args, key)
    if args.action in ("add", "set-password"):
        req["password"] = _read_password(args)
    return _run_here_or_in_server(args.db, "users", req)


# --- devices and displays ------------------------------------------------------------

_SHOWN_ONCE = "This token is shown only now and will not be shown again; lost it? revoke and add again."


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


def _format_devices(rows: list[dict]) -> str:
    if not rows:
        return ("no devices yet: `python -m dashboard devices add NAME --counter ID` (a counter's kiosk) "
                "or `devices add NAME` (a system integration)")
    head = f"{'device':<20} {'counter':<12} {'on duty':<28} {'last seen':<16} {'repeats':>7}  status"
    lines = [head, "-" * len(head)]
    for r in rows:
        duty = f"{r['duty_official_id']} {r['duty_full_name'] or ''}".strip() if r["duty_official_id"] else ""
        status = ("REVOKED " + _when(r["revoked_at"]) if r["revoked_at"]
                  else "QUIET" if r["quiet"] else "ok")
        lines.append(f"{r['name']:<20} {r['counter_id'] or '(system)':<12} {duty[:28]:<28} "
                     f"{_when(r['last_seen_at']):<16} {r['ignored_repeats']:>7}  {status}")
    quiet = sum(1 for r in rows if r["quiet"])
    if quiet:
        lines.append(f"{quiet} counter device(s) QUIET: no heartbeat for over {tokens.QUIET_SECONDS} s")
    return "\n".join(lines)


def _format_displays(rows: list[dict]) -> str:
    if not rows:
        return "no displays yet: `python -m dashboard displays add NAME --unit ID`"
    head = f"{'display':<20} {'unit':<16} {'panels':<36} {'rotate':>6}  {'last heartbeat':<16} status"
    lines = [head, "-" * len(head)]
    for r in rows:
        status = ("REVOKED " + _when(r["revoked_at"]) if r["revoked_at"]
                  else "QUIET" if r["quiet"] else "ok")
        lines.append(f"{r['name']:<20} {r['unit_id']:<16} {','.join(r['panels']):<36} {r['rotate_seconds']:>5}s  "
                     f"{_when(r['heartbeat_at']):<16} {status}")
    quiet = sum(1 for r in rows if r["quiet"])
    if quiet:
        lines.append(f"{quiet} screen(s) QUIET: no heartbeat for over {tokens.QUIET_SECONDS} s; check them")
    return "\n".join(lines)


def run_devices(cur, req: dict) -> tuple[str, int]:
    """Carry out one `devices` action against a cursor; used by the CLI and by the running server."""
    output = _run_devices(cur, req)
    if req.get("action") != "list":
        _audit_change(cur, "device_change", "device", req, "counter", "official")
    return output


def _run_devices(cur, req: dict) -> tuple[str, int]:
    action, name = req.get("action"), req.get("name")
    if action == "add":
        token = tokens.add_device(cur, name, req.get("counter"))
        kind = f"counter {req['counter']}" if req.get("counter") else "system token: tasks, ratings, evaluations, duty"
        return f"added device {name} ({kind})\ntoken: {token}\n{_SHOWN_ONCE}", 0
    if action == "list":
        rows = tokens.list_devices(cur)
        if req.get("json"):
            return json.dumps(rows, default=str, ensure_ascii=False, indent=1), 0
        return _format_devices(rows), 0
    if action == "revoke":
        if tokens.revoke_device(cur, name):
            return f"revoked device {name}: its token no longer works", 0
        return f"device {name} was revoked already", 0
    if action == "assign":
        d = tokens.assign_device(cur, name, req.get("official"), req.get("set_by"))
        return (f"counter {d['counter_id']}: {d['official_id']} {d['full_name'] or ''} on duty "
                f"since {_when(d['since'])}"), 0
    raise DashboardError(f"unknown devices action {action!r}")


def run_displays(cur, req: dict) -> tuple[str, int]:
    """Carry out one `displays` action against a cursor; used by the CLI and by the running server."""
    output = _run_displays(cur, req)
    if req.get("action") != "list":
        _audit_change(cur, "display_change", "display", req, "unit", "panels", "rotate_seconds")
    return output


def _run_displays(cur, req: dict) -> tuple[str, int]:
    action, name = req.get("action"), req.get("name")
    if action == "add":
        rotate = req.get("rotate_seconds")
        token = tokens.add_display(cur, name, req.get("unit"), req.get("panels"), 15 if rotate is None else rotate)
        return (f"added display {name} (unit {req.get('unit')})\ntoken: {token}\n"
                f"open on the screen: /display/{token}\n{_SHOWN_ONCE}"), 0
    if action == "list":
        rows = tokens.list_displays(cur)
        if req.get("json"):
            return json.dumps(rows, default=str, ensure_ascii=False, indent=1), 0
        return _format_displays(rows), 0
    if action == "revoke":
        if tokens.revoke_display(cur, name):
            return f"revoked display {name}: its screen stops showing data", 0
        return f"display {name} was revoked already", 0
    raise DashboardError(f"unknown displays action {action!r}")


def _cli_user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no USER variable and no passwd entry (some containers)
        return "cli"


def devices_command(args) -> int:
    _require_db(args.db)
    req = {"action": args.action, "name": getattr(args, "name", None)}
    for key in ("counter", "official", "json"):
        if getattr(args, key, None) is not None:
            req[key] = getattr(args, key)
    if args.action == "assign":
        req["set_by"] = _cli_user()
    return _run_here_or_in_server(args.db, "devices", req)


def displays_command(args) -> int:
    _require_db(args.db)
    req = {"action": args.action, "name": getattr(args, "name", None)}
    for key in ("unit", "panels", "rotate_seconds", "json"):
        if getattr(args, key, None) is not None:
            req[key] = getattr(args, key)
    return _run_here_or_in_server(args.db, "displays", req)


# The control socket's commands: {"command": NAME, ...} runs CONTROL_COMMANDS[NAME](cursor, request)
# inside the server, which returns (output, exit code). Extend it to add commands.
CONTROL_COMMANDS = {"users": run_users, "devices": run_devices, "displays": run_displays}


# --- serve ---------------------------------------------------------------------------

def _serve_handler(database, extra: dict | None = None):
    commands = {**CONTROL_COMMANDS, **(extra or {})}

    def handle(req: dict) -> tuple[str, int]:
        run = commands.get(req.get("command"))
        if run is None:
            raise DashboardError(f"unknown command {req.get('command')!r}: this server knows "
                                 f"{', '.join(sorted(commands))}")
        cur = database.cursor()
        try:
            return run(cur, req)
        finally:
            cur.close()
    return handle


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(checked) -> list[logging.Handler]:
    """The server log on standard error, and also in LOG_FILE (rotated at LOG_MAX_BYTES, keeping
    LOG_BACKUPS files) when that is set. Returns the handlers added to the root logger."""
    from logging.handlers import RotatingFileHandler

    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if checked["LOG_FILE"]:
        path = Path(checked["LOG_FILE"])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(RotatingFileHandler(path, maxBytes=checked["LOG_MAX_BYTES"],
                                                backupCount=checked["LOG_BACKUPS"], encoding="utf-8"))
        except OSError as exc:
            raise DashboardError(f"cannot write the log file {path} (THUOCDO_LOG_FILE): {exc.strerror}; "
                                 "choose a writable path or leave it empty for standard error only") from None
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handlers


def _proxy_options(checked) -> dict:
    """waitress takes the client's address from X-Forwarded-For only on requests from TRUSTED_PROXY."""
    if not checked["TRUSTED_PROXY"]:
        return {}
    return {"trusted_proxy": checked["TRUSTED_PROXY"], "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"}}


def serve_command(args) -> int:
    import waitress

    from dashboard import demo, ingest, limits, live
    from dashboard.app import create_app

    config = {"DB_PATH": args.db, **({"DEMO": True} if args.demo else {})}
    checked = settings.load(config)  # setting mistakes first: they say more than a missing file
    configure_logging(checked)
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
    writer = server.extensions["thuocdo_writer"]
    live.start_push(server, args.host, args.port)
    # `python -m etl load | replay | status` while the server runs: writes go to its writer.
    ctl = control.ControlServer(args.db, _serve_handler(database, ingest.etl_commands(
        writer, ingest.folders(checked, database.path)))).start()
    from dashboard.digests import scheduler
    digests = scheduler.start(server)  # the morning digests (DIGESTS, DIGEST_HOUR)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"Thước đo: http://{args.host}:{args.port}/ (database {args.db}, {checked['THREADS']} threads)", flush=True)
    push_server = server.extensions.get("thuocdo_push")
    print(f"push: http://{args.host}:{push_server.port}/events" if push_server else
          f"push: off (pages poll every {checked['POLL_SECONDS']} s)", flush=True)
    try:
        # poll(), not select(): the push's streams take file descriptors past select()'s 1,024,
        # where waitress would stop with "filedescriptor out of range". Connections beyond the
        # threads wait in waitress's queue (API requests wait for their batch's commit).
        waitress.serve(server, host=args.host, port=args.port, threads=checked["THREADS"],
                       connection_limit=checked["CONNECTIONS"], asyncore_use_poll=True,
                       ident="thuocdo", clear_untrusted_proxy_headers=True, _quiet=True,
                       **_proxy_options(checked),
                       max_request_body_size=limits.server_cap(checked))  # routes' own limits: dashboard/limits.py
    finally:
        ctl.stop()
        if digests is not None:
            digests.stop()
        writer.stop()  # what has arrived is loaded before the file closes
        server.extensions["thuocdo_audit"].stop()  # the queued audit rows too
        database.close()
    return 0


# --- kpis: owned by dashboard/metrics/cli.py (the lead's); only wired in here --------------

def _add_kpis_parser(sub) -> None:
    from dashboard.metrics.cli import add_kpis_arguments, kpis_command
    p = sub.add_parser("kpis", help="print one unit's or official's KPIs (metrics.md) as JSON or a table")
    add_kpis_arguments(p)
    p.set_defaults(func=kpis_command)


# --- report and digests: owned by dashboard/reports and dashboard/digests; only wired in here ---

def _run_digests(cur, req: dict) -> tuple[str, int]:
    from dashboard.digests.cli import run_request
    return run_request(cur, req)


def _run_report(cur, req: dict) -> tuple[str, int]:
    from dashboard.reports.cli import run_request
    return run_request(cur, req)


CONTROL_COMMANDS["digests"] = _run_digests  # `digests …` and `report` while the server runs: inside it
CONTROL_COMMANDS["report"] = _run_report


def _add_report_parsers(sub) -> None:
    from dashboard.digests.cli import add_digests_parser
    from dashboard.reports.cli import add_arguments, report_command
    p = sub.add_parser("report", help="write a unit's monthly A4 report (PDF)")
    add_arguments(p)
    p.set_defaults(func=report_command)
    add_digests_parser(sub, DEFAULT_DB)


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

    p = sub.add_parser("devices", help="counter devices and system integrations: tokens (works while the server runs)")
    dsub = p.add_subparsers(dest="action", required=True)
    a = dsub.add_parser("add", help="add a device and print its token (once)")
    a.add_argument("name")
    a.add_argument("--counter", help="the counter this device belongs to; without it: a system token "
                                     "(task software, queue system)")
    a = dsub.add_parser("list", help="list devices, their counter's duty official and quiet ones")
    a.add_argument("--json", action="store_true", default=None)
    a = dsub.add_parser("revoke", help="revoke a device: its token stops working at once")
    a.add_argument("name")
    a = dsub.add_parser("assign", help="put an official on duty at a device's counter")
    a.add_argument("name", metavar="device")
    a.add_argument("official")
    for a in dsub.choices.values():
        a.add_argument("--db", default=DEFAULT_DB)
    p.set_defaults(func=devices_command)

    p = sub.add_parser("displays", help="wall screens showing one unit: tokens (works while the server runs)")
    dsub = p.add_subparsers(dest="action", required=True)
    a = dsub.add_parser("add", help="add a display and print its token and URL (once)")
    a.add_argument("name")
    a.add_argument("--unit", required=True, help="the unit the screen shows")
    a.add_argument("--panels", help=f"comma-separated, in order (default all: {','.join(tokens.PANELS)})")
    a.add_argument("--rotate-seconds", type=int, help="seconds per panel (default 15, at least 5)")
    a = dsub.add_parser("list", help="list displays; flags screens without a recent heartbeat")
    a.add_argument("--json", action="store_true", default=None)
    a = dsub.add_parser("revoke", help="revoke a display: its screen stops showing data")
    a.add_argument("name")
    for a in dsub.choices.values():
        a.add_argument("--db", default=DEFAULT_DB)
    p.set_defaults(func=displays_command)

    p = sub.add_parser("settings", help="list every server setting with its default")
    p.set_defaults(func=lambda _args: print(settings.describe()) or 0)

    _add_kpis_parser(sub)
    _add_report_parsers(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (DashboardError, EtlError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
