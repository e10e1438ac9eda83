"""`python -m dashboard digests send | subscribe | unsubscribe | list | log`.

Like `users`, these open the database themselves when no server holds it, and otherwise run
inside the running server (dashboard/control.py), which owns the file and its writes."""
from __future__ import annotations

import json

from dashboard import audit, settings
from dashboard.digests import run, store
from dashboard.errors import DashboardError
from dashboard import formats


def add_digests_parser(sub, default_db) -> None:
    p = sub.add_parser("digests", help="e-mail digests: send now, manage subscriptions, read the delivery log")
    dsub = p.add_subparsers(dest="action", required=True)
    a = dsub.add_parser("send", help="send the digests due now (as the server's thread does each morning)")
    a.add_argument("--now", action="store_true", default=None,
                   help="ignore DIGEST_HOUR and what was already sent today: every subscription, now")
    a.add_argument("--dry-run", action="store_true", default=None,
                   help="build the digests and print them; send, log and mark nothing")
    a.add_argument("--user", help="only this login's subscription")
    a = dsub.add_parser("subscribe", help="subscribe a login (or change its subscription)")
    a.add_argument("name")
    a.add_argument("--email", required=True)
    a.add_argument("--frequency", choices=store.FREQUENCIES, default="daily")
    a = dsub.add_parser("unsubscribe", help="end a login's subscription")
    a.add_argument("name")
    a = dsub.add_parser("list", help="every subscription")
    a.add_argument("--json", action="store_true", default=None)
    a = dsub.add_parser("log", help="the newest deliveries: sent, skipped, failed, with the reason")
    a.add_argument("--limit", type=int, default=30)
    for a in dsub.choices.values():
        a.add_argument("--db", default=default_db)
    p.set_defaults(func=digests_command)


def digests_command(args) -> int:
    from dashboard.cli import _cli_user, _require_db, _run_here_or_in_server
    _require_db(args.db)
    req = {"action": args.action, "by": _cli_user()}
    for key in ("name", "email", "frequency", "now", "dry_run", "user", "json", "limit"):
        if getattr(args, key, None) is not None:
            req[key] = getattr(args, key)
    return _run_here_or_in_server(args.db, "digests", req)


def _settings():
    """The server's settings as its environment gives them (a secret key is not needed here)."""
    return settings.load({"DEMO": True})


def run_request(cur, req: dict) -> tuple[str, int]:
    """Carry out one `digests` action against a cursor (the CLI's, or the running server's)."""
    action = req.get("action")
    if action == "send":
        outcomes = run.run(cur, _settings(), force=bool(req.get("now")), dry_run=bool(req.get("dry_run")),
                           only=req.get("user"))
        if not outcomes:
            return "no digest due now (use --now to send every subscription at once)", 0
        lines = [o.line() for o in outcomes]
        if req.get("dry_run"):
            for o in outcomes:
                if o.message is not None:
                    body = o.message.get_body(("plain",))
                    lines += ["", f"--- to {o.message['To']}: {o.subject}", body.get_content() if body else ""]
        failed = sum(o.status == "failed" for o in outcomes)
        return "\n".join(lines), 1 if failed else 0
    if action == "subscribe":
        sub = store.subscribe(cur, req["name"], req["email"], req.get("frequency", "daily"), req.get("by"))
        audit.write_now(cur, "user_change", username=req.get("by"), target=f"digest:{req['name']}",
                        detail={"action": "subscribe", "frequency": sub["frequency"]})
        return f"{sub['username']}: {sub['frequency']} digest to {sub['email']}", 0
    if action == "unsubscribe":
        found = store.unsubscribe(cur, req["name"])
        audit.write_now(cur, "user_change", username=req.get("by"), target=f"digest:{req['name']}",
                        detail={"action": "unsubscribe"})
        return (f"{req['name']}: unsubscribed" if found else f"{req['name']} had no subscription"), 0
    if action == "list":
        rows = store.list_all(cur)
        if req.get("json"):
            return json.dumps([{k: v for k, v in r.items() if k != "sent_keys"} for r in rows], default=str,
                              ensure_ascii=False, indent=1), 0
        if not rows:
            return "no subscriptions yet: `python -m dashboard digests subscribe NAME --email ADDRESS`", 0
        head = f"{'username':<20} {'frequency':<9} {'email':<32} {'scope':<16} last sent"
        return "\n".join([head, "-" * len(head)] + [
            f"{r['username']:<20} {r['frequency']:<9} {r['email']:<32} {(r['unit_id'] or '(all)'):<16} "
            f"{formats.moment(r['last_sent_at']) if r['last_sent_at'] else 'never'}" for r in rows]), 0
    if action == "log":
        rows = store.deliveries(cur, limit=max(1, min(int(req.get("limit") or 30), 1000)))
        return "\n".join(f"{formats.moment(r['at'])}  {r['username']:<20} {r['status']:<8} {r['items'] or 0:>4} new  "
                         f"{r['attempts'] or 0} tries  {r['reason'] or r['subject'] or ''}" for r in rows) or "no deliveries yet", 0
    raise DashboardError(f"unknown digests action {action!r}")
