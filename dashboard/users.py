"""The user store: logins, roles, scopes and server-side sessions, as functions over a cursor.

Roles: admin (everything, data page), leader (a unit's subtree), analyst (a scope, usually
the whole city, plus export), official (their own page only).
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from werkzeug.security import check_password_hash, generate_password_hash

from dashboard.errors import DashboardError

ROLES = ("admin", "leader", "analyst", "official")
PASSWORD_METHOD = "scrypt"
MIN_PASSWORD = 10
_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")  # fullmatch: `$` lets a final newline through
# Checked when the username is unknown, so that both failures cost the same time.
_DUMMY_HASH = generate_password_hash("not a password of anyone", method=PASSWORD_METHOD)

_USER_COLUMNS = "u.user_id, u.username, u.role, u.unit_id, u.official_id, u.active"


@dataclass(frozen=True)
class User:
    """A signed-in person as the server sees them; scope always comes from here."""

    user_id: int
    username: str
    role: str
    unit_id: str | None
    official_id: str | None
    active: bool
    session_token: str | None = None  # flask-login's id: the session, not the user

    # flask-login protocol
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def can_export(self) -> bool:
        return self.role in ("admin", "analyst")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def token_hash(token: str) -> str:
    """How a session token is stored (sessions.token_hash) and named to the push."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _check_name(username: str) -> str:
    if not _NAME.fullmatch(username or ""):
        raise DashboardError(f"invalid username {username!r}: use 1-64 letters, digits, '.', '_', '@' or '-'")
    return username


def check_password_strength(password: str) -> str:
    """Refuse passwords a guesser would find quickly; returns the password."""
    if len(password) < MIN_PASSWORD:
        raise DashboardError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(set(password)) < 4:
        raise DashboardError("the password repeats too few characters: use at least 4 different ones")
    return password


def _check_scope(cur, role: str, unit_id: str | None, official_id: str | None) -> None:
    if role not in ROLES:
        raise DashboardError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role == "leader" and not unit_id:
        raise DashboardError("a leader needs --unit UNIT_ID: the unit whose subtree they lead")
    if role == "official" and not official_id:
        raise DashboardError("an official's login needs --official OFFICIAL_ID")
    if role in ("admin", "official") and unit_id:
        raise DashboardError(f"role {role} takes no --unit (admins see everything, officials their own page)")
    if unit_id and not cur.execute("SELECT 1 FROM units WHERE unit_id = ?", [unit_id]).fetchone():
        raise DashboardError(f"no unit {unit_id!r} in the database; load the units first")
    if official_id and not cur.execute("SELECT 1 FROM officials WHERE official_id = ?", [official_id]).fetchone():
        raise DashboardError(f"no official {official_id!r} in the database; load the officials first")


def _row_to_user(row, token: str | None = None) -> User:
    return User(row[0], row[1], row[2], row[3], row[4], bool(row[5]), token)


def get(cur, username: str) -> User | None:
    row = cur.execute(f"SELECT {_USER_COLUMNS} FROM users u WHERE u.username = ?", [username]).fetchone()
    return _row_to_user(row) if row else None


def _require(cur, username: str) -> User:
    user = get(cur, username)
    if user is None:
        raise DashboardError(f"no user {username!r}; `python -m dashboard users list` shows who exists")
    return user


def add(cur, username: str, role: str, password: str, unit_id: str | None = None,
        official_id: str | None = None) -> User:
    """Create a login; the password is stored as a scrypt hash only."""
    _check_name(username)
    _check_scope(cur, role, unit_id, official_id)
    check_password_strength(password)
    if get(cur, username):
        raise DashboardError(f"user {username!r} already exists; use set-password or set-scope to change it")
    now = _now()
    cur.execute(
        "INSERT INTO users VALUES (nextval('users_seq'), ?, ?, ?, ?, ?, true, ?, ?)",
        [username, generate_password_hash(password, method=PASSWORD_METHOD), role, unit_id, official_id, now, now],
    )
    return _require(cur, username)


def list_users(cur) -> list[dict]:
    rows = cur.execute(
        "SELECT u.username, u.role, u.unit_id, u.official_id, u.active, u.created_at, "
        "(SELECT count(*) FROM sessions s WHERE s.user_id = u.user_id AND s.expires_at > ?) "
        "FROM users u ORDER BY u.username", [_now()]
    ).fetchall()
    keys = ("username", "role", "unit_id", "official_id", "active", "created_at", "sessions")
    return [dict(zip(keys, r)) for r in rows]


def end_sessions(cur, user_id: int) -> int:
    """Delete every session of a user: their open pages stop working on the next request."""
    n = cur.execute("SELECT count(*) FROM sessions WHERE user_id = ?", [user_id]).fetchone()[0]
    cur.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])
    return n


def set_active(cur, username: str, active: bool) -> int:
    """Enable or disable a login; disabling ends its sessions. Returns sessions ended."""
    user = _require(cur, username)
    cur.execute("UPDATE users SET active = ?, updated_at = ? WHERE user_id = ?", [active, _now(), user.user_id])
    return 0 if active else end_sessions(cur, user.user_id)


def set_password(cur, username: str, password: str) -> int:
    """New password; every existing session of the user ends. Returns sessions ended."""
    user = _require(cur, username)
    check_password_strength(password)
    cur.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE user_id = ?",
                [generate_password_hash(password, method=PASSWORD_METHOD), _now(), user.user_id])
    return end_sessions(cur, user.user_id)


def set_scope(cur, username: str, role: str | None = None, unit_id: str | None = None,
              official_id: str | None = None) -> User:
    """Change role and scope; takes effect on the user's next request (scope is read per request)."""
    user = _require(cur, username)
    role = role or user.role
    _check_scope(cur, role, unit_id, official_id)
    cur.execute("UPDATE users SET role = ?, unit_id = ?, official_id = ?, updated_at = ? WHERE user_id = ?",
                [role, unit_id, official_id, _now(), user.user_id])
    return _require(cur, username)


def authenticate(cur, username: str, password: str) -> User | None:
    """The active user with this password, or None; the same work is done for unknown names."""
    row = cur.execute(
        f"SELECT {_USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = ?", [username or ""]
    ).fetchone()
    if row is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(row[6], password or "") or not row[5]:
        return None
    return _row_to_user(row[:6])


def start_session(cur, user: User, hours: int, client: str | None = None) -> User:
    """A new random session token for the user; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = _now()
    cur.execute("DELETE FROM sessions WHERE expires_at <= ?", [now])
    cur.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                [token_hash(token), user.user_id, now, now + timedelta(hours=hours), client])
    return User(user.user_id, user.username, user.role, user.unit_id, user.official_id, user.active, token)


def session_user(cur, token: str) -> User | None:
    """The active user of a live session token, or None (logged out, expired, disabled)."""
    if not token:
        return None
    row = cur.execute(
        f"SELECT {_USER_COLUMNS} FROM sessions s JOIN users u ON u.user_id = s.user_id "
        "WHERE s.token_hash = ? AND s.expires_at > ? AND u.active", [token_hash(token), _now()]
    ).fetchone()
    return _row_to_user(row, token) if row else None


def end_session(cur, token: str) -> None:
    cur.execute("DELETE FROM sessions WHERE token_hash = ?", [token_hash(token)])
