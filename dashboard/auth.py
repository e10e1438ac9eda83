"""Sign-in, sessions and the deny-by-default gate in front of every route, asset and callback.

- Sessions live in the database (users.sessions): the signed cookie holds only a random
  token, so logout and `users disable` end a session at once, whatever cookie remains.
- Every request needs a live session except the login page and the language switch.
- POSTs need a CSRF token: the login form carries it as a field; Dash callbacks send it as
  the X-CSRFToken header, read from the `_csrf_token` cookie (Dash's built-in support).
- Failed sign-ins are throttled per username and per client address, and answered with
  the same page whether the user exists or not.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections import defaultdict, deque
from urllib.parse import urlsplit

from flask import (Blueprint, Flask, current_app, jsonify, make_response, redirect,
                   render_template_string, request, session, url_for)
from flask_login import LoginManager, current_user, login_user, logout_user

from dashboard import db, settings, users
from dashboard.i18n import COOKIE as LANG_COOKIE
from dashboard.i18n import LANGS, current_lang, t

log = logging.getLogger("thuocdo.auth")
bp = Blueprint("auth", __name__)
CSRF_COOKIE = "_csrf_token"  # Dash's renderer reads this cookie and echoes it as X-CSRFToken
CSRF_HEADER = "X-CSRFToken"
PUBLIC_ENDPOINTS = {"auth.login", "auth.set_language"}
# Endpoints that check a device or display token themselves (dashboard/tokens.py) instead
# of a login; each decorates its view with its own check, so nothing passes unchecked.
TOKEN_ENDPOINTS: set[str] = set()


def token_endpoint(blueprint_name: str, view_name: str) -> None:
    """Declare `blueprint.view` as checking its own token (registered by the view's module)."""
    TOKEN_ENDPOINTS.add(f"{blueprint_name}.{view_name}")


class Throttle:
    """Sliding-window counter of failures per key (username, client address)."""

    def __init__(self, limit: int, window: float, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._fails: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque:
        q = self._fails[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, key: str, limit: int | None = None) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        limit = limit or self.limit
        with self._lock:
            now = self.clock()
            q = self._trim(key, now)
            return max(0.0, q[0] + self.window - now) if len(q) >= limit else 0.0

    def fail(self, key: str) -> None:
        with self._lock:
            now = self.clock()
            self._trim(key, now).append(now)

    def clear(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _csrf_ok(sent: str | None) -> bool:
    expected = session.get("csrf")
    return bool(sent and expected and hmac.compare_digest(sent, expected))


def _safe_next(target: str | None) -> str:
    """Only paths on this site, never another host (open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


_LOGIN_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t('login_title') }} · {{ t('app_name') }}</title>
<style>
 body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;background:#f3f5f8;color:#1d2430}
 main{max-width:380px;margin:12vh auto;background:#fff;padding:2rem 2.2rem;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
 h1{font-size:1.6rem;margin:0 0 .2rem;color:#0b4f8a} p.tag{margin:0 0 1.5rem;color:#555;font-size:.9rem}
 label{display:block;font-weight:600;margin:.9rem 0 .3rem}
 input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #9aa5b1;border-radius:6px;font-size:1rem}
 button{margin-top:1.3rem;width:100%;padding:.7rem;background:#0b4f8a;color:#fff;border:0;border-radius:6px;font-size:1rem;cursor:pointer}
 button:focus,input:focus{outline:3px solid #e69f00;outline-offset:1px}
 .msg{background:#fff4e0;border-left:4px solid #d55e00;padding:.6rem .8rem;margin:1rem 0 0}
 .lang{float:right;font-size:.85rem}
</style></head><body><main>
<a class="lang" href="{{ url_for('auth.set_language', code=other_lang, next=request.full_path) }}">{{ t('switch_language') }}</a>
<h1>{{ t('app_name') }}</h1><p class="tag">{{ t('tagline') }}</p>
<form method="post" action="{{ url_for('auth.login') }}">
 <input type="hidden" name="csrf_token" value="{{ csrf }}">
 <input type="hidden" name="next" value="{{ next }}">
 <label for="username">{{ t('username') }}</label>
 <input id="username" name="username" type="text" autocomplete="username" required autofocus value="">
 <label for="password">{{ t('password') }}</label>
 <input id="password" name="password" type="password" autocomplete="current-password" required>
 {% if message %}<p class="msg" role="alert" id="login-message">{{ message }}</p>{% endif %}
 <button type="submit" id="login-button">{{ t('login_button') }}</button>
</form></main></body></html>"""


def _login_page(message: str | None = None, status: int = 200, next_url: str = "/"):
    lang = current_lang()
    html = render_template_string(
        _LOGIN_PAGE, lang=lang, other_lang="en" if lang == "vi" else "vi", t=t,
        csrf=_csrf_token(), next=_safe_next(next_url), message=message)
    resp = make_response(html, status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_safe_next(request.args.get("next")))
        return _login_page(next_url=request.args.get("next", "/"))
    if not _csrf_ok(request.form.get("csrf_token")):  # a stale or forged form: sign in again from a fresh one
        return _login_page(t("login_form_expired"), 400, request.form.get("next", "/"))
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    next_url = request.form.get("next", "/")
    throttle: Throttle = current_app.extensions["thuocdo_throttle"]
    user_key, addr_key = "u:" + username.lower(), "a:" + (request.remote_addr or "?")
    wait = max(throttle.retry_after(user_key), throttle.retry_after(addr_key, throttle.limit * 4))
    if wait:
        log.warning("sign-in throttled: username=%r client=%s", username, request.remote_addr)
        return _login_page(t("login_throttled", minutes=max(1, round(wait / 60))), 429, next_url)
    cur = db.cursor()
    user = users.authenticate(cur, username, password)
    if user is None:
        throttle.fail(user_key)
        throttle.fail(addr_key)
        log.warning("sign-in failed: username=%r client=%s", username, request.remote_addr)
        return _login_page(t("login_failed"), 401, next_url)
    throttle.clear(user_key)
    user = users.start_session(cur, user, settings.current()["SESSION_HOURS"], request.remote_addr)
    session.clear()  # no fixation: a fresh session and CSRF token after sign-in
    session.permanent = True
    login_user(user)
    _csrf_token()
    log.info("signed in: username=%r role=%s client=%s", user.username, user.role, request.remote_addr)
    return redirect(_safe_next(next_url))


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        users.end_session(db.cursor(), current_user.get_id())
        log.info("signed out: username=%r", current_user.username)
    logout_user()
    session.clear()
    resp = redirect(url_for("auth.login"))
    resp.delete_cookie(CSRF_COOKIE)
    return resp


@bp.route("/lang/<code>")
def set_language(code: str):
    back = request.args.get("next")
    if not back and request.referrer:
        ref = urlsplit(request.referrer)
        if ref.netloc == request.host:
            back = ref.path + (f"?{ref.query}" if ref.query else "")
    resp = redirect(_safe_next(back))
    if code in LANGS:
        resp.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="Lax",
                        secure=settings.current()["COOKIE_SECURE"], httponly=True)
    return resp


def _gate():
    """Deny by default: only the login page and language switch are open without a session."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint in TOKEN_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        if request.method == "GET" and not request.path.startswith(("/_", "/api/")):
            return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
        return jsonify(error="sign in first", login=url_for("auth.login")), 401
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token")
        if not _csrf_ok(sent):
            log.warning("CSRF check failed: user=%r path=%s", current_user.username, request.path)
            return jsonify(error="missing or wrong CSRF token; reload the page"), 403
    return None


def _after(resp):
    """Hand the CSRF token to Dash's renderer and keep pages out of shared caches."""
    if current_user.is_authenticated:
        token = _csrf_token()
        if request.cookies.get(CSRF_COOKIE) != token:
            resp.set_cookie(CSRF_COOKIE, token, samesite="Strict", secure=settings.current()["COOKIE_SECURE"],
                            httponly=False)  # the renderer must read it; the session cookie stays HttpOnly
    if request.path.startswith("/_dash-update") or request.path == "/" or resp.mimetype == "text/html":
        resp.headers["Cache-Control"] = "no-store"
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    return resp


def init_app(server: Flask) -> None:
    checked = server.config["THUOCDO"]
    server.config.update(
        SECRET_KEY=checked["SECRET_KEY"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=checked["COOKIE_SECURE"],
        SESSION_COOKIE_NAME="thuocdo_session",
        PERMANENT_SESSION_LIFETIME=checked["SESSION_HOURS"] * 3600,
    )
    manager = LoginManager()
    # The server-side session row is the protection; binding to the client's address
    # would log out people whose address changes without adding much.
    manager.session_protection = None
    manager.user_loader(lambda token: users.session_user(db.cursor(), token))
    manager.init_app(server)
    server.extensions["thuocdo_throttle"] = Throttle(checked["LOGIN_MAX_FAILURES"], checked["LOGIN_WINDOW_SECONDS"])
    server.register_blueprint(bp)
    # Runs before Dash's own hooks would see the request: nothing is served without a session.
    server.before_request_funcs.setdefault(None, []).insert(0, _gate)
    server.after_request(_after)
