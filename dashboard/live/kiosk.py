"""The citizens' counter device: `/kiosk/<device token>` once, then `/kiosk` for ever.

A touch screen at a one-stop-shop counter faces the citizen, who rates the official who served
them with one tap (levels 4–1 of docs/data-contract.md; a reason for levels 1–2).

- `GET /kiosk/<token>` is how an administrator provisions the screen (the token comes from
  `python -m dashboard devices add NAME --counter ID`). A live counter device's token is moved
  into an HttpOnly cookie (`thuocdo_device`, ten years, set again on every load of the page,
  which the page itself fetches daily, since Chromium caps a cookie at 400 days: a kiosk is
  never signed out by inactivity) and the browser is sent on to `/kiosk` with a 303, so the token leaves the
  address bar and the history. An unknown or revoked token gets a 403 page.
- `GET /kiosk` is the page: static HTML with nothing secret in it, no inline script or style
  (it is served with a strict Content-Security-Policy), which loads `kiosk.js` and
  `kiosk.css` from this blueprint's static folder. Everything live (the device, the official on
  duty, the ratings, the heartbeat) goes through `/api/v1/…` with the cookie; the page keeps
  every rating in localStorage until the API has answered it.
- `GET /kiosk/static/<file>`: the script and style sheet; public, they hold no secret.

These endpoints need no login: auth's gate lets them through (`auth.token_endpoint`), and each
view checks the device token itself.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from flask import Blueprint, Flask, make_response, redirect, render_template_string, request, url_for

from dashboard import audit, auth, db, settings, tokens

log = logging.getLogger("thuocdo.kiosk")
COOKIE = "thuocdo_device"
COOKIE_MAX_AGE = 10 * 365 * 86400  # a kiosk must never be signed out by inactivity
STATIC = Path(__file__).resolve().parent / "static"
# Everything the page needs comes from this server; nothing inline, no frames, no forms.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

bp = Blueprint("kiosk", __name__, static_folder="static", static_url_path="/kiosk/static")


def _build() -> str:
    """A short hash of the script and style sheet: their URLs change when they do (no stale cache)
    and the script reports it in its heartbeat as its build."""
    h = hashlib.sha256()
    for name in ("kiosk.js", "kiosk.css"):
        try:
            h.update((STATIC / name).read_bytes())
        except OSError:
            pass
    return h.hexdigest()[:12]


BUILD = _build()

_FACES = {  # mouth of each level's face: a big smile, a smile, a straight line, a frown
    4: "M28 56 Q50 90 72 56 Z",
    3: "M32 60 Q50 72 68 60",
    2: "M33 64 L67 64",
    1: "M32 70 Q50 56 68 70",
}
LEVELS = [(4, "Rất hài lòng"), (3, "Hài lòng"), (2, "Bình thường"), (1, "Không hài lòng")]
REASONS = [("cho_lau", "Chờ lâu"), ("nghiep_vu", "Nghiệp vụ chưa tốt"),
           ("thai_do", "Thái độ chưa tốt"), ("khac", "Khác")]

_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, maximum-scale=1, user-scalable=no">
<meta name="robots" content="noindex">
<title>Đánh giá cán bộ · Thước đo</title>
<link rel="stylesheet" href="{{ url_for('kiosk.static', filename='kiosk.css', v=build) }}">
<script src="{{ url_for('kiosk.static', filename='kiosk.js', v=build) }}" defer></script>
</head><body>
<main id="kiosk" class="kiosk" data-screen="loading">

<section id="screen-loading" class="screen screen-loading" aria-live="polite">
  <p class="loading-text">Đang kết nối…</p>
</section>

<section id="screen-idle" class="screen screen-idle" hidden>
  <header class="official" id="official">
    <div class="avatar" id="official-initials" aria-hidden="true"></div>
    <div class="official-text">
      <p class="official-label">Cán bộ tiếp nhận</p>
      <p class="official-name" id="official-name"></p>
      <p class="official-position" id="official-position"></p>
    </div>
  </header>
  <p class="no-duty" id="no-duty" hidden>Quầy chưa có cán bộ trực</p>
  <h1 class="question" id="question">Ông/Bà đánh giá thế nào về cán bộ vừa phục vụ?</h1>
  <div class="levels" role="group" aria-labelledby="question">
  {%- for level, label in levels %}
    <button type="button" class="level level-{{ level }}" id="level-{{ level }}" data-level="{{ level }}" disabled>
      <svg class="face" viewBox="0 0 100 100" aria-hidden="true" focusable="false">
        <circle cx="50" cy="50" r="46" class="face-bg"/>
        <circle cx="35" cy="40" r="6" class="face-eye"/>
        <circle cx="65" cy="40" r="6" class="face-eye"/>
        <path d="{{ faces[level] }}" class="face-mouth"/>
      </svg>
      <span class="level-label">{{ label }}</span>
    </button>
  {%- endfor %}
  </div>
</section>

<section id="screen-reason" class="screen screen-reason" hidden>
  <h1 class="question" id="reason-question">Ông/Bà chưa hài lòng về điều gì?</h1>
  <div class="reasons" role="group" aria-labelledby="reason-question">
  {%- for code, label in reasons %}
    <button type="button" class="reason" id="reason-{{ code }}" data-reason="{{ code }}">{{ label }}</button>
  {%- endfor %}
  </div>
  <button type="button" class="reason-skip" id="reason-skip">Gửi đánh giá, không nêu lý do</button>
</section>

<section id="screen-thanks" class="screen screen-thanks" hidden>
  <svg class="thanks-mark" viewBox="0 0 100 100" aria-hidden="true" focusable="false">
    <circle cx="50" cy="50" r="46"/><path d="M28 52 L44 68 L73 36"/>
  </svg>
  <h1 class="thanks">Cảm ơn Ông/Bà!</h1>
  <p class="thanks-sub">Ý kiến của Ông/Bà đã được ghi nhận.</p>
</section>

<section id="screen-revoked" class="screen screen-revoked" hidden role="alert">
  <h1 class="revoked-title">Thiết bị đã bị thu hồi quyền</h1>
  <p class="revoked-text">Thiết bị này không còn được phép gửi đánh giá. Vui lòng báo cán bộ quản trị.</p>
  <p class="revoked-queue" id="revoked-queue"></p>
</section>

<p class="status" id="status" aria-live="polite" hidden></p>
</main>
</body></html>"""

_DENIED = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Thiết bị chưa được cấp quyền · Thước đo</title>
<link rel="stylesheet" href="{{ url_for('kiosk.static', filename='kiosk.css', v=build) }}">
</head><body>
<main class="kiosk denied"><section class="screen screen-revoked">
<h1 class="revoked-title">Thiết bị chưa được cấp quyền hoặc đã bị thu hồi</h1>
<p class="revoked-text">Thiết bị này không thể dùng để đánh giá. Vui lòng báo cán bộ quản trị
để cấp đường dẫn mới cho thiết bị.</p>
</section></main>
</body></html>"""


def _html(body: str, status: int = 200):
    resp = make_response(body, status)
    resp.mimetype = "text/html"
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["Referrer-Policy"] = "no-referrer"  # never leak /kiosk/<token> to anything
    return resp


def _denied():
    return _html(render_template_string(_DENIED, build=BUILD), 403)


def _counter_device(token: str | None):
    """The live counter device of `token`, or None (missing, unknown, revoked, or not a counter's)."""
    if not token:
        return None
    device = tokens.device_for_token(db.cursor(), token) if len(token) <= 512 else None
    if device is None:
        audit.token_refused("device", token, lambda: tokens.revoked_holder(db.cursor(), "device", token))
        return None
    if device.counter_id is None:
        audit.token_refused("device", token, device.name, reason="not_a_counter_device")
        return None
    audit.token_used("device", device.name)
    return device


@bp.route("/kiosk/<token>")
def provision(token: str):
    device = _counter_device(token)
    if device is None:
        log.warning("kiosk: unknown or revoked device token from %r", request.remote_addr)
        return _denied()
    log.info("kiosk: device %r of counter %s provisioned from %s", device.name, device.counter_id,
             request.remote_addr)
    resp = redirect(url_for("kiosk.page"), 303)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    _set_cookie(resp, token)
    return resp


def _set_cookie(resp, token: str) -> None:
    resp.set_cookie(COOKIE, token, max_age=COOKIE_MAX_AGE, path="/", httponly=True, samesite="Strict",
                    secure=settings.current()["COOKIE_SECURE"])


@bp.route("/kiosk")
def page():
    token = request.cookies.get(COOKIE)
    if _counter_device(token) is None:
        return _denied()
    resp = _html(render_template_string(_PAGE, build=BUILD, levels=LEVELS, reasons=REASONS, faces=_FACES))
    # Browsers cap a cookie's life (Chromium: 400 days), so every load sets it again; the page
    # also fetches /kiosk once a day for this, so a kiosk that never reloads keeps its cookie.
    _set_cookie(resp, token)
    return resp


def init_app(server: Flask) -> None:
    server.register_blueprint(bp)
    for view in ("provision", "page", "static"):
        auth.token_endpoint("kiosk", view)
