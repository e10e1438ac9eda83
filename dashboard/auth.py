"""Sign-in, sessions and the deny-by-default gate in front of every route, asset and callback.

- Sessions live in the database (users.sessions): the signed cookie holds only a random
  token, so logout and `users disable` end a session at once, whatever cookie remains.
- Every request needs a live session except the login page and the language switch.
- POSTs need a CSRF token: the login form carries it as a field; Dash callbacks send it as
  the X-CSRFToken header, read from the `_csrf_token` cookie (Dash's built-in support).
- Every state-changing request (POST, PUT, PATCH, DELETE) must also come from a page of this
  dashboard: its `Origin` (or, without one, its `Referer`) must be this server's own origin,
  scheme://host:port (https when COOKIE_SECURE; or one of PUBLIC_ORIGINS behind a proxy that
  rewrites Host), else 403. Cookies are not isolated by port, so a page on another port of the
  same host can read `_csrf_token`; it cannot make the browser lie about its origin. Browsers
  send `Origin` on every cross-origin POST ("null" when hidden), so a request with neither
  header is not a browser riding someone's cookies (a device, a script): it still needs its
  own session and token, or a device token.
- Failed sign-ins are throttled so that an attacker is slowed without locking the owner out,
  and answered with the same page whether the user exists or not:
  - a browser that has signed in as a user before carries a signed "known browser" cookie for
    that user (`thuocdo_known`, on /login only); its failures count against that cookie alone,
    so no one else's guesses (from anywhere, behind the same proxy or not) ever throttle it;
  - any other attempt counts against the (username, client address) pair (LOGIN_MAX_FAILURES
    per window), the client address (4x, many names from one place) and the username across
    all addresses (4x, a guess spread over many addresses). So a third party's guesses throttle
    their own address first; only a wide attack holds back the owner, and then only on a
    browser they have never signed in with.
  - Memory is bounded: keys are hashed to 16 bytes, at most THROTTLE_KEYS are kept (the least
    recently failing is forgotten first), keys with no failure in the window are dropped, a
    refused attempt adds nothing, and a username longer than any user's (64) is refused before
    it is looked at. The login body itself is capped at 16 KiB (dashboard/limits.py).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer

from flask import (Blueprint, Flask, current_app, jsonify, make_response, redirect,
                   render_template_string, request, session, url_for)
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user, login_user, logout_user

from dashboard import audit, db, settings, users
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
# Dash's scripts and our assets: the same bytes for everyone (cached by browsers, see _after).
CODE_PATHS = ("/_dash-component-suites/", "/assets/")


def token_endpoint(blueprint_name: str, view_name: str) -> None:
    """Declare `blueprint.view` as checking its own token (registered by the view's module)."""
    TOKEN_ENDPOINTS.add(f"{blueprint_name}.{view_name}")


class Throttle:
    """Sliding-window counts of failures per key, in bounded memory (see the module docstring)."""

    def __init__(self, limit: int, window: float, clock=time.monotonic, max_keys: int = 10_000,
                 most: int | None = None):
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self.most = most or 4 * limit  # the largest limit asked about: older failures need not be kept
        self._fails: OrderedDict[bytes, deque] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(key: str) -> bytes:
        return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def _trim(self, k: bytes, now: float) -> deque | None:
        """The key's failures inside the window; a key with none is forgotten (never created)."""
        q = self._fails.get(k)
        if q is None:
            return None
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._fails[k]
            return None
        return q

    def retry_after(self, key: str, limit: int | None = None) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        limit = limit or self.limit
        with self._lock:
            now = self.clock()
            q = self._trim(self._key(key), now)
            return max(0.0, q[-limit] + self.window - now) if q and len(q) >= limit else 0.0

    def fail(self, key: str) -> None:
        with self._lock:
            now, k = self.clock(), self._key(key)
            q = self._trim(k, now)
            if q is None:
                q = self._fails[k] = deque(maxlen=self.most)
            q.append(now)
            self._fails.move_to_end(k)
            while len(self._fails) > self.max_keys:
                self._fails.popitem(last=False)

    def clear(self, key: str) -> None:
        with self._lock:
            self._fails.pop(self._key(key), None)

    def __len__(self) -> int:
        return len(self._fails)


# A browser that signed in as a user before is trusted not to be the attacker guessing that
# user's password: it carries this signed cookie (path /login only) and is throttled alone.
KNOWN_COOKIE = "thuocdo_known"
KNOWN_DAYS = 365
THROTTLE_KEYS = 10_000  # ~1 KB each at most: ~10 MB however many names and addresses are tried
MAX_USERNAME = 64  # users.py's name rule: a longer one is no one's, refused without a lookup


def _known_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="thuocdo-known-browser")


def _known_browser(username: str) -> str | None:
    """The known-browser cookie's id when it was given to this browser for `username`, else None."""
    raw = request.cookies.get(KNOWN_COOKIE)
    if not raw or len(raw) > 512:
        return None
    try:
        value = _known_signer().loads(raw)
    except BadSignature:
        return None
    if isinstance(value, dict) and value.get("u") == username.lower() and isinstance(value.get("n"), str):
        return value["n"]
    return None


def _throttle_keys(username: str, known: str | None) -> list[tuple[str, int]]:
    """(key, limit) pairs this attempt is counted against (see the module docstring); the
    client address's is second."""
    limit = current_app.extensions["thuocdo_throttle"].limit
    if known:
        return [("k:" + known, limit)]
    addr = request.remote_addr or "?"
    return [("p:" + username.lower() + "\0" + addr, limit), ("a:" + addr, 4 * limit),
            ("u:" + username.lower(), 4 * limit)]


# --- same-origin check -------------------------------------------------------------------

_DEFAULT_PORT = {"http": 80, "https": 443}


def _origin(url: str | None) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL, or None when it has none ("null", garbage)."""
    try:
        parts = urlsplit(url or "")
        if parts.scheme not in _DEFAULT_PORT or not parts.hostname:
            return None
        return parts.scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORT[parts.scheme]
    except ValueError:
        return None


def _own_origins() -> set:
    """The origins this dashboard's pages are served from, as browsers see them."""
    checked = settings.current()
    scheme = "https" if checked["COOKIE_SECURE"] else request.scheme  # secure cookies flow over https only
    found = {_origin(f"{scheme}://{request.host}")}
    found.update(_origin(o) for o in checked["PUBLIC_ORIGINS"].split())
    found.discard(None)
    return found


def _same_origin() -> bool:
    """A state-changing request comes from one of this dashboard's own pages (or not from a browser)."""
    sent = request.headers.get("Origin")
    if sent is None:
        sent = request.headers.get("Referer")
        if sent is None:
            return True  # not a browser: it needs its own session and CSRF token, or a device token
    return _origin(sent) in _own_origins()


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
    too_long = len(username) > MAX_USERNAME  # no one's name: refused without a lookup or a hash
    known = None if too_long else _known_browser(username)
    keys = _throttle_keys(username, known)
    if too_long:
        keys = keys[1:2]  # the client address's count only: a name that is no one's needs no entry
    wait = max(throttle.retry_after(key, limit) for key, limit in keys)
    if wait:  # refused: nothing is counted or stored for it
        log.warning("sign-in throttled: username=%s client=%r", audit.shown(username, MAX_USERNAME), request.remote_addr)
        audit.record("login_failed", username=username, role=None, target="login", detail={"reason": "throttled"})
        return _login_page(t("login_throttled", minutes=max(1, round(wait / 60))), 429, next_url)
    cur = db.cursor()
    user = None if too_long else users.authenticate(cur, username, password)
    if user is None:
        for key, _ in keys:
            throttle.fail(key)
        log.warning("sign-in failed: username=%s client=%r", audit.shown(username, MAX_USERNAME), request.remote_addr)
        audit.record("login_failed", username=username, role=None, target="login",
                     detail={"reason": "name_too_long" if too_long else "wrong_name_or_password"})
        return _login_page(t("login_failed"), 401, next_url)
    throttle.clear(keys[0][0])  # this browser's (or this pair's) own count; the wider ones stay
    user = users.start_session(cur, user, settings.current()["SESSION_HOURS"], request.remote_addr)
    session.clear()  # no fixation: a fresh session and CSRF token after sign-in
    session.permanent = True
    login_user(user)
    _csrf_token()
    log.info("signed in: username=%r role=%s client=%r", user.username, user.role, request.remote_addr)
    audit.record("login", username=user.username, role=user.role, target="login")
    resp = redirect(_safe_next(next_url))
    known_value = _known_signer().dumps({"u": username.lower(), "n": known or secrets.token_urlsafe(12)})
    resp.set_cookie(KNOWN_COOKIE, known_value, max_age=KNOWN_DAYS * 86400, path=url_for("auth.login"),
                    httponly=True, samesite="Strict", secure=settings.current()["COOKIE_SECURE"])
    return resp


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        users.end_session(db.cursor(), current_user.get_id())
        log.info("signed out: username=%r", current_user.username)
        audit.record("logout", target="logout")
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
    """Deny by default: only the login page and language switch are open without a session;
    nothing changes state from another origin."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin():
        log.warning("cross-origin %s refused: path=%s origin=%s referer=%s", request.method,
                    audit.shown(request.path), audit.shown(request.headers.get("Origin")),
                    audit.shown(request.headers.get("Referer")))
        audit.record("denied", target="origin", detail={"method": request.method, "origin": request.headers.get("Origin"),
                                                        "referer": request.headers.get("Referer")})
        return jsonify(error="this request did not come from a page of this dashboard"), 403
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint in TOKEN_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        if request.method == "GET" and not request.path.startswith(("/_", "/api/")):
            return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
        return jsonify(error="sign in first", login=url_for("auth.login")), 401
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token")
        if not _csrf_ok(sent):
            log.warning("CSRF check failed: user=%r path=%s", current_user.username, audit.shown(request.path))
            audit.record("denied", target="csrf", detail={"method": request.method})
            return jsonify(error="missing or wrong CSRF token; reload the page"), 403
    return None


def _after(resp):
    """Hand the CSRF token to Dash's renderer and keep pages out of shared caches."""
    if current_user.is_authenticated:
        token = _csrf_token()
        if request.cookies.get(CSRF_COOKIE) != token:
            resp.set_cookie(CSRF_COOKIE, token, samesite="Strict", secure=settings.current()["COOKIE_SECURE"],
                            httponly=False)  # the renderer must read it; the session cookie stays HttpOnly
    # Not on code: Dash's 304 for an unchanged script is typed text/html, and "no-store" on it
    # made Chromium drop its copy, so every other page load fetched plotly's 4.8 MB again.
    if not request.path.startswith(CODE_PATHS) and (
            request.path.startswith("/_dash-update") or request.path == "/" or resp.mimetype == "text/html"):
        resp.headers["Cache-Control"] = "no-store"
    resp.headers.setdefault("X-Frame-Options", "DENY")  # the rest of the security headers: dashboard/headers.py
    return resp


class _SessionInterface(SecureCookieSessionInterface):
    """Responses with code neither refresh the session cookie nor say `Vary: Cookie`: with a new
    cookie on every response, Chromium fetched plotly.min.js (4.8 MB) and Dash's scripts again on
    about half the unit pages (bench/pages.py) instead of revalidating them (304). The gate
    still asks for a session before it serves them."""

    def save_session(self, app, session, response):
        if request.path.startswith(CODE_PATHS):
            return None
        return super().save_session(app, session, response)


def init_app(server: Flask) -> None:
    checked = server.config["THUOCDO"]
    server.session_interface = _SessionInterface()
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
    server.extensions["thuocdo_throttle"] = Throttle(checked["LOGIN_MAX_FAILURES"], checked["LOGIN_WINDOW_SECONDS"],
                                                     max_keys=THROTTLE_KEYS)
    server.register_blueprint(bp)
    # Runs before Dash's own hooks would see the request: nothing is served without a session.
    server.before_request_funcs.setdefault(None, []).insert(0, _gate)
    server.after_request(_after)
