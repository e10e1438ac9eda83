"""Subscriptions and the delivery log (tables of etl/migrations/010_subscriptions.sql).

Every value is bound; text is cut and made plain (audit.clean) before it is stored, so an SMTP
server's answer or a typed address cannot forge a line on the Dữ liệu page.
"""
from __future__ import annotations

import datetime as dt
import json
import re

from dashboard import audit
from dashboard.errors import DashboardError
from dashboard.metrics.definitions import LOCAL_TZ
from etl.db import transaction

FREQUENCIES = ("daily", "weekly")
STATUSES = ("sent", "skipped", "failed")
# One address, no display name, no spaces or angle brackets: enough to refuse typos and header tricks.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_COLUMNS = ("username", "email", "frequency", "created_at", "updated_at", "updated_by", "last_run_on",
            "last_sent_at", "sent_keys")
_LOG_COLUMNS = ("id", "at", "username", "email", "status", "reason", "items", "attempts", "subject", "attachment")


def now_local() -> dt.datetime:
    return dt.datetime.now(LOCAL_TZ).replace(tzinfo=None)


def valid_email(value) -> str | None:
    """The address trimmed when it is one plain address, else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if len(value) <= 254 and _EMAIL.fullmatch(value) else None


def get(cur, username: str) -> dict | None:
    row = cur.execute(f"SELECT {', '.join(_COLUMNS)} FROM digest_subscriptions WHERE username = ?",
                      [username]).fetchone()
    return dict(zip(_COLUMNS, row)) if row else None


def list_all(cur) -> list[dict]:
    """Every subscription with its login's role, scope and whether the login is active."""
    rows = cur.execute(f"""
        SELECT {', '.join('s.' + c for c in _COLUMNS)}, u.role, u.unit_id, u.active
        FROM digest_subscriptions s LEFT JOIN users u ON u.username = s.username ORDER BY s.username""").fetchall()
    return [dict(zip((*_COLUMNS, "role", "unit_id", "active"), r)) for r in rows]


def subscribe(cur, username: str, email: str, frequency: str, by: str | None) -> dict:
    """Create or change the login's subscription (what was already sent is kept)."""
    if frequency not in FREQUENCIES:
        raise DashboardError(f"frequency must be one of {', '.join(FREQUENCIES)}")
    address = valid_email(email)
    if address is None:
        raise DashboardError(f"{audit.shown(email)} is not an e-mail address")
    role = cur.execute("SELECT role FROM users WHERE username = ?", [username]).fetchone()
    if role is None:
        raise DashboardError(f"no user {audit.shown(username)}")
    if role[0] == "official":
        raise DashboardError("digests are for leaders, analysts and admins")
    old = get(cur, username)
    stamp = now_local()
    with transaction(cur):
        cur.execute("DELETE FROM digest_subscriptions WHERE username = ?", [username])
        cur.execute(f"INSERT INTO digest_subscriptions ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [username, address, frequency, old["created_at"] if old else stamp, stamp,
                     audit.clean(by, 64), old["last_run_on"] if old else None,
                     old["last_sent_at"] if old else None, old["sent_keys"] if old else None])
    return get(cur, username)


def unsubscribe(cur, username: str) -> bool:
    found = get(cur, username) is not None
    cur.execute("DELETE FROM digest_subscriptions WHERE username = ?", [username])
    return found


def sent_keys(sub: dict) -> set[str]:
    try:
        return set(json.loads(sub.get("sent_keys") or "[]"))
    except ValueError:
        return set()


def mark_run(cur, username: str, day: dt.date, keys: set[str] | None = None, sent_at: dt.datetime | None = None) -> None:
    """The day was considered; with `keys`, a digest went out and these are now known."""
    if keys is None:
        cur.execute("UPDATE digest_subscriptions SET last_run_on = ? WHERE username = ?", [day, username])
    else:
        cur.execute("UPDATE digest_subscriptions SET last_run_on = ?, last_sent_at = ?, sent_keys = ? "
                    "WHERE username = ?", [day, sent_at, json.dumps(sorted(keys)), username])


def log(cur, username: str, email: str | None, status: str, reason: str | None = None, items: int = 0,
        attempts: int = 0, subject: str | None = None, attachment: str | None = None) -> None:
    cur.execute('INSERT INTO digest_deliveries ("at", username, email, status, reason, items, attempts, subject, '
                'attachment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                [now_local(), audit.clean(username, 64), audit.clean(email, 254), status, audit.clean(reason, 300),
                 items, attempts, audit.clean(subject, 200), audit.clean(attachment, 120)])


def deliveries(cur, username: str | None = None, limit: int = 50) -> list[dict]:
    """The newest deliveries first (one login's, or everyone's)."""
    where, params = ("WHERE username = ?", [username]) if username else ("", [])
    rows = cur.execute(f'SELECT id, "at", username, email, status, reason, items, attempts, subject, attachment '
                       f"FROM digest_deliveries {where} ORDER BY id DESC LIMIT ?", [*params, limit]).fetchall()
    return [dict(zip(_LOG_COLUMNS, r)) for r in rows]
