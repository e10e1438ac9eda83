"""Device and display tokens: machines that talk to the server without a person's login.

A counter device (a rating kiosk, `counter_id` set) may post ratings of its own counter and
read who is on duty there; a system token (`counter_id` NULL: the task software, the queue
system) may post tasks, ratings and evaluations and set any counter's duty; a display token
gives a wall screen a read-only, rotating view of one unit. None of them opens a dashboard
page or the read API. Tokens are random, printed once by `add`, and stored as sha256 only.
Pure functions over a DuckDB cursor, like dashboard/users.py.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from dashboard.errors import DashboardError

PANELS = ("tiles", "children", "ratings", "attention", "okr")
MIN_ROTATE_SECONDS = 5
QUIET_SECONDS = 120          # a device or screen without a heartbeat for longer is flagged quiet
MAX_TOKEN_LENGTH = 256       # ours are 43 characters; anything far longer is not worth hashing
MAX_HEARTBEAT_CHARS = 4096   # a heartbeat is stored for people to read, not as a data channel
_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # fullmatch: `$` lets a final newline through


# --- tokens --------------------------------------------------------------------------

def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _lookup_hash(token) -> str | None:
    """The hash to look a presented token up by, or None when it cannot be one of ours."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return hash_token(token)


def revoked_holder(cur, kind: str, token) -> str | None:
    """The name of the revoked device (`kind` "device") or display that held `token`, or None:
    for the audit log, on the refusal path only."""
    token_hash = _lookup_hash(token)
    if token_hash is None:
        return None
    table = {"device": "devices", "display": "displays"}[kind]
    row = cur.execute(f"SELECT name FROM {table} WHERE token_hash = ? AND revoked_at IS NOT NULL",
                      [token_hash]).fetchone()
    return row[0] if row else None


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _check_id(value, what: str, flag: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise DashboardError(f"invalid {what} {value!r}: use 1-64 letters, digits, '.', '_' or '-' ({flag})")
    return value


def _quiet(last_seen: datetime | None, now: datetime) -> bool:
    return last_seen is None or now - last_seen > timedelta(seconds=QUIET_SECONDS)


def _heartbeat_json(info) -> str:
    text = json.dumps(info if isinstance(info, dict) else {"value": info}, ensure_ascii=False, default=str)
    if len(text) > MAX_HEARTBEAT_CHARS:
        text = json.dumps({"error": "heartbeat too large, not stored", "chars": len(text)})
    return text


def _parse_json(text: str | None):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


# --- devices -------------------------------------------------------------------------

@dataclass(frozen=True)
class Device:
    """A device token's holder as the server sees it; its rights come from `counter_id`."""

    name: str
    counter_id: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None

    @property
    def is_system(self) -> bool:
        """A system integration (task software, queue system), not a counter's device."""
        return self.counter_id is None


_DEVICE_COLUMNS = "name, counter_id, created_at, revoked_at, last_seen_at"


def _get_device(cur, name: str) -> Device | None:
    row = cur.execute(f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE name = ?", [name]).fetchone()
    return Device(*row) if row else None


def _require_device(cur, name: str) -> Device:
    device = _get_device(cur, name)
    if device is None:
        raise DashboardError(f"no device {name!r}; `python -m dashboard devices list` shows which exist")
    return device


def add_device(cur, name: str, counter_id: str | None = None) -> str:
    """Register a device (a counter's, or a system token when `counter_id` is None); returns its
    token, which is not stored and cannot be shown again."""
    _check_id(name, "device name", "the NAME of `devices add`")
    if counter_id is not None:
        _check_id(counter_id, "counter id", "--counter")
    if _get_device(cur, name):
        raise DashboardError(f"a device named {name!r} already exists (revoked devices keep their name); "
                             "choose another name")
    token = new_token()
    cur.execute("INSERT INTO devices (name, token_hash, counter_id, created_at) VALUES (?, ?, ?, ?)",
                [name, hash_token(token), counter_id, _now()])
    return token


def list_devices(cur) -> list[dict]:
    """Every device with its counter's current duty official and whether it has gone quiet
    (an active counter device without a heartbeat for QUIET_SECONDS; system tokens send none)."""
    rows = cur.execute(
        """WITH current AS (
               SELECT counter_id, official_id, since FROM counter_duty
               QUALIFY row_number() OVER (PARTITION BY counter_id ORDER BY since DESC, rowid DESC) = 1)
           SELECT d.name, d.counter_id, d.created_at, d.revoked_at, d.last_seen_at, d.ignored_repeats,
                  d.heartbeat, c.official_id, o.full_name, c.since
           FROM devices d
           LEFT JOIN current c ON c.counter_id = d.counter_id
           LEFT JOIN officials o ON o.official_id = c.official_id
           ORDER BY d.name""").fetchall()
    now = _now()
    out = []
    for (name, counter, created, revoked, seen, repeats, heartbeat, official, full_name, since) in rows:
        out.append({
            "name": name, "kind": "system" if counter is None else "counter", "counter_id": counter,
            "created_at": created, "revoked_at": revoked, "last_seen_at": seen,
            "quiet": counter is not None and revoked is None and _quiet(seen, now),
            "ignored_repeats": repeats, "heartbeat": _parse_json(heartbeat),
            "duty_official_id": official, "duty_full_name": full_name, "duty_since": since,
        })
    return out


def revoke_device(cur, name: str) -> bool:
    """The device's token stops working at once; False when it was revoked already."""
    device = _require_device(cur, name)
    if device.revoked_at is not None:
        return False
    cur.execute("UPDATE devices SET revoked_at = ? WHERE name = ?", [_now(), name])
    return True


def device_for_token(cur, token) -> Device | None:
    """The live device holding `token`, or None (unknown, revoked, not a string, absurdly long).
    Found through the stored hash only: no comparison of secrets happens here."""
    token_hash = _lookup_hash(token)
    if token_hash is None:
        return None
    row = cur.execute(f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE token_hash = ? AND revoked_at IS NULL",
                      [token_hash]).fetchone()
    return Device(*row) if row else None


def _require_active_official(cur, official_id: str) -> None:
    row = cur.execute("SELECT active, full_name FROM officials WHERE official_id = ? LIMIT 1",
                      [official_id]).fetchone()
    if row is None:
        raise DashboardError(f"no official {official_id!r} in the database; check the id, or load the "
                             "officials file that has them first")
    if not row[0]:
        raise DashboardError(f"official {official_id!r} ({row[1]}) is not active; choose an active official")


def assign_duty(cur, counter_id: str, official_id: str, set_by: str | None) -> dict:
    """Put an active official on duty at a counter from now on; returns the counter's duty.
    Setting the official already on duty changes nothing (queue systems resend it)."""
    _check_id(counter_id, "counter id", "the counter")
    if not isinstance(official_id, str) or not official_id:
        raise DashboardError("give the official's id (official_id of the officials file)")
    _require_active_official(cur, official_id)
    current = duty(cur, counter_id)
    if current is None or current["official_id"] != official_id:
        # Microseconds kept: two assignments in one second must still have an order.
        cur.execute("INSERT INTO counter_duty VALUES (?, ?, ?, ?)",
                    [counter_id, official_id, datetime.now(), set_by])
        current = duty(cur, counter_id)
    return current


def assign_device(cur, device_name: str, official_id: str, set_by: str | None) -> dict:
    """Put an official on duty at the counter of a (live, counter) device."""
    device = _require_device(cur, device_name)
    if device.revoked_at is not None:
        raise DashboardError(f"device {device_name!r} is revoked; add a new device for this counter")
    if device.is_system:
        raise DashboardError(f"device {device_name!r} is a system token, not a counter's device; "
                             "give the counter's device instead")
    return assign_duty(cur, device.counter_id, official_id, set_by)


def duty(cur, counter_id: str) -> dict | None:
    """Who is on duty at a counter now: {counter_id, official_id, full_name, position, unit_id,
    since}, or None when nobody has been assigned there yet."""
    row = cur.execute(
        """WITH d AS (SELECT counter_id, official_id, since FROM counter_duty WHERE counter_id = ?
                      ORDER BY since DESC, rowid DESC LIMIT 1)
           SELECT d.counter_id, d.official_id, o.full_name, o.position, o.unit_id, d.since
           FROM d LEFT JOIN officials o ON o.official_id = d.official_id LIMIT 1""", [counter_id]).fetchone()
    if row is None:
        return None
    return dict(zip(("counter_id", "official_id", "full_name", "position", "unit_id", "since"), row))


def duty_officials(cur, counter_id: str) -> set[str]:
    """Every official ever on duty at the counter: a device's offline-buffered ratings may name
    an official who has since handed over."""
    rows = cur.execute("SELECT DISTINCT official_id FROM counter_duty WHERE counter_id = ?", [counter_id]).fetchall()
    return {r[0] for r in rows}


def record_device_heartbeat(cur, device_name: str, info: dict, ignored_repeats: int = 0) -> None:
    """Note that the device is alive: last_seen_at, its heartbeat as JSON, and the repeats of
    already-stored posts it reports having dropped (added to the running total). Never raises
    for a concurrent write of the same row."""
    try:
        repeats = max(0, int(ignored_repeats or 0))
    except (TypeError, ValueError):
        repeats = 0
    try:
        cur.execute("UPDATE devices SET last_seen_at = ?, heartbeat = ?, ignored_repeats = ignored_repeats + ? "
                    "WHERE name = ?", [_now(), _heartbeat_json(info), repeats, device_name])
    except duckdb.TransactionException:
        # Two requests of one device updated its row at once; DuckDB refuses the second write.
        # The other one recorded that the device is alive, which is all this is for.
        pass


# --- displays ------------------------------------------------------------------------

@dataclass(frozen=True)
class Display:
    """A wall screen's token holder: which unit it shows, which panels, how fast it rotates."""

    name: str
    unit_id: str
    panels: tuple[str, ...]
    rotate_seconds: int
    created_at: datetime
    revoked_at: datetime | None
    last_seen_at: datetime | None


_DISPLAY_COLUMNS = "name, unit_id, panels, rotate_seconds, created_at, revoked_at, last_seen_at"


def _row_to_display(row) -> Display:
    return Display(row[0], row[1], tuple(p for p in row[2].split(",") if p), row[3], row[4], row[5], row[6])


def _get_display(cur, name: str) -> Display | None:
    row = cur.execute(f"SELECT {_DISPLAY_COLUMNS} FROM displays WHERE name = ?", [name]).fetchone()
    return _row_to_display(row) if row else None


def parse_panels(panels) -> tuple[str, ...]:
    """`tiles,okr` or a sequence of names -> the panel names in order, checked; None = all."""
    if panels is None:
        return PANELS
    names = panels.split(",") if isinstance(panels, str) else list(panels)
    out: list[str] = []
    for name in (str(n).strip() for n in names):
        if not name:
            continue
        if name not in PANELS:
            raise DashboardError(f"unknown panel {name!r}: use a comma-separated list of {','.join(PANELS)}")
        if name not in out:
            out.append(name)
    if not out:
        raise DashboardError(f"give at least one panel: {','.join(PANELS)}")
    return tuple(out)


def add_display(cur, name: str, unit_id: str, panels=None, rotate_seconds: int = 15) -> str:
    """Register a wall screen showing `unit_id`; returns its token (opened as /display/<token>),
    which is not stored and cannot be shown again."""
    _check_id(name, "display name", "the NAME of `displays add`")
    if not unit_id or not cur.execute("SELECT 1 FROM units WHERE unit_id = ?", [unit_id]).fetchone():
        raise DashboardError(f"no unit {unit_id!r} in the database; check the id (--unit), or load the units first")
    chosen = parse_panels(panels)
    if isinstance(rotate_seconds, bool) or not isinstance(rotate_seconds, int) or rotate_seconds < MIN_ROTATE_SECONDS:
        raise DashboardError(f"--rotate-seconds must be a whole number of at least {MIN_ROTATE_SECONDS}, "
                             f"not {rotate_seconds!r}: a screen that changes faster cannot be read")
    if _get_display(cur, name):
        raise DashboardError(f"a display named {name!r} already exists (revoked displays keep their name); "
                             "choose another name")
    token = new_token()
    cur.execute("INSERT INTO displays (name, token_hash, unit_id, panels, rotate_seconds, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", [name, hash_token(token), unit_id, ",".join(chosen), rotate_seconds, _now()])
    return token


def list_displays(cur) -> list[dict]:
    """Every display; `quiet` when a live one has sent no heartbeat for QUIET_SECONDS (or never)."""
    rows = cur.execute(
        "SELECT d.name, d.unit_id, u.name, d.panels, d.rotate_seconds, d.created_at, d.revoked_at, "
        "d.last_seen_at, d.heartbeat, d.heartbeat_at FROM displays d "
        "LEFT JOIN (SELECT unit_id, any_value(name) AS name FROM units GROUP BY unit_id) u ON u.unit_id = d.unit_id "
        "ORDER BY d.name").fetchall()
    now = _now()
    keys = ("name", "unit_id", "unit_name", "panels", "rotate_seconds", "created_at", "revoked_at",
            "last_seen_at", "heartbeat", "heartbeat_at")
    out = []
    for row in rows:
        d = dict(zip(keys, row))
        d["panels"] = [p for p in d["panels"].split(",") if p]
        d["heartbeat"] = _parse_json(d["heartbeat"])
        d["quiet"] = d["revoked_at"] is None and _quiet(d["heartbeat_at"], now)
        out.append(d)
    return out


def revoke_display(cur, name: str) -> bool:
    """The screen's token stops working at once; False when it was revoked already."""
    display = _get_display(cur, name)
    if display is None:
        raise DashboardError(f"no display {name!r}; `python -m dashboard displays list` shows which exist")
    if display.revoked_at is not None:
        return False
    cur.execute("UPDATE displays SET revoked_at = ? WHERE name = ?", [_now(), name])
    return True


def display_for_token(cur, token) -> Display | None:
    """The live display holding `token`, or None (unknown, revoked, not a string, absurdly long)."""
    token_hash = _lookup_hash(token)
    if token_hash is None:
        return None
    row = cur.execute(f"SELECT {_DISPLAY_COLUMNS} FROM displays WHERE token_hash = ? AND revoked_at IS NULL",
                      [token_hash]).fetchone()
    return _row_to_display(row) if row else None


def _short(value, limit: int = 200):
    """A heartbeat value kept as sent when it is small (a number, `1920x1080`, {"w": …, "h": …})."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (dict, list)) and len(json.dumps(value, default=str)) <= limit:
        return value
    return str(value)[:limit]


def record_display_heartbeat(cur, name: str, info: dict) -> None:
    """Note that the screen is alive: its build, screen size and last data version (other keys
    are dropped), heartbeat_at and last_seen_at. Never raises for a concurrent write of the row."""
    info = info if isinstance(info, dict) else {}
    kept = {key: _short(info.get(key)) for key in ("build", "screen", "data_version")}
    now = _now()
    try:
        cur.execute("UPDATE displays SET heartbeat = ?, heartbeat_at = ?, last_seen_at = ? WHERE name = ?",
                    [json.dumps(kept, ensure_ascii=False), now, now, name])
    except duckdb.TransactionException:
        # Two tabs of one screen (or a reload) wrote its row at once; DuckDB refuses the second
        # write, and the first already recorded that the screen is alive.
        pass
