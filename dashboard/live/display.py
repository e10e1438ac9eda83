"""The office wall display: `/display/<token>` once, then `/display` for ever.

An unattended full-screen (a TV, a signage player) shows one unit's live dashboard, read from
across the room. The token comes from `python -m dashboard displays add NAME --unit ID`.

- `GET /display/<token>` provisions the screen: a live display token is moved into an HttpOnly
  cookie (`thuocdo_display`, Path=/display, ten years: a screen is never signed out by
  inactivity) and the browser goes on to `/display` with a 303, so the token leaves the address
  bar and the history. An unknown or revoked token gets a 403 page.
- `GET /display` is the page: static HTML, no inline script or style (served with a strict
  Content-Security-Policy), loading `display.js` and `display.css` from `/display/static/`.
- `GET /display/api/state` is everything the page shows, for the cookie's display only (no
  parameter can name another unit): the panels' data are built once per (scope version, unit,
  panels, language, day) and shared by every screen of the unit (dashboard/cache.py).
- `POST /display/api/heartbeat` records the screen's build, size and data version; it needs the
  header `X-Thuocdo-Display: 1` (a cross-site form cannot send it) and a JSON body.
- A revoked display stops at its next request: the API answers 401 and the page shows so.

The cookie opens nothing else: auth's gate lets these endpoints through (`auth.token_endpoint`)
and every view checks the display token itself; every other route still needs a login.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, jsonify, make_response, redirect, render_template_string, request, url_for

from dashboard import audit, auth, db, settings, tokens
from dashboard.i18n import current_lang
from dashboard.live import build_id, display_panels, hub, scope_version, subscription_url
from dashboard.live.display_states import display_states
from dashboard.live.display_states import init_app as display_states_init
from dashboard.metrics.definitions import today_local

log = logging.getLogger("thuocdo.display")
COOKIE = "thuocdo_display"
COOKIE_PATH = "/display"
COOKIE_MAX_AGE = 10 * 365 * 86400  # a wall screen must never be signed out by inactivity
HEADER = "X-Thuocdo-Display"
MAX_BODY = 4096

bp = Blueprint("display", __name__, static_folder="static", static_url_path="/display/static")

_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ unit_name }} · Thước đo</title>
<link rel="stylesheet" href="{{ url_for('display.static', filename='display.css', v=build) }}">
<script src="{{ url_for('display.static', filename='display.js', v=build) }}" defer></script>
</head>
<body class="display" data-build="{{ build }}" data-lang="{{ lang }}"
  data-state-url="{{ url_for('display.state') }}" data-heartbeat-url="{{ url_for('display.heartbeat') }}"
  data-t-lost="{{ t.lost_since }}" data-t-stale="{{ t.maybe_stale }}">
<div class="screen" id="screen" data-mode="loading">
<header class="topbar">
  <div class="brand">
    <h1 class="unit-name" id="unit-name">{{ unit_name }}</h1>
    <p class="period" id="period-label"></p>
  </div>
  <div class="status">
    <p class="badge" id="badge" role="status" aria-live="polite" hidden></p>
    <p class="clock" id="clock" aria-hidden="true"></p>
    <p class="updated"><span class="live-dot" id="live-dot" aria-hidden="true"></span><span
      class="updated-label">{{ t.updated_at }}</span> <span class="as-of" id="as-of">–</span></p>
  </div>
</header>
<main class="board" id="board" hidden>
  <section class="tiles" id="tiles" aria-label="{{ t.tiles_label }}" hidden></section>
  <section class="rotator" id="rotator" hidden>
    <header class="rotator-head">
      <h2 class="panel-title" id="panel-title"></h2><p class="panel-hint" id="panel-hint"></p>
    </header>
    <div class="panels" id="panels">
      <div class="panel panel-children" id="panel-children" data-panel="children">
        <ol class="rows" id="children-rows"></ol><p class="more" id="children-more"></p><p class="empty" hidden></p>
      </div>
      <div class="panel panel-ratings" id="panel-ratings" data-panel="ratings">
        <ol class="rows" id="ratings-rows"></ol><p class="empty" hidden></p>
      </div>
      <div class="panel panel-attention" id="panel-attention" data-panel="attention">
        <ol class="rows" id="attention-rows"></ol><p class="empty" hidden></p>
      </div>
      <div class="panel panel-okr" id="panel-okr" data-panel="okr">
        <div class="objectives" id="okr-objectives"></div><p class="empty" hidden></p>
      </div>
    </div>
    <footer class="rotator-foot"><ol class="tabs" id="tabs" aria-hidden="true"></ol></footer>
    <div class="progress" aria-hidden="true"><div class="progress-bar" id="progress"></div></div>
  </section>
</main>
<section class="revoked" id="revoked" role="alert" hidden>
  <h1 class="revoked-title">{{ t.revoked_title }}</h1>
  <p class="revoked-text">{{ t.revoked_text }}</p>
</section>
<p class="loading" id="loading">{{ t.connecting }}</p>
</div>
</body></html>"""

_DENIED = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ t.denied_title }} · Thước đo</title>
<link rel="stylesheet" href="{{ url_for('display.static', filename='display.css', v=build) }}">
</head><body class="display">
<div class="screen" data-mode="denied"><section class="revoked denied" id="denied" role="alert">
<h1 class="revoked-title">{{ t.denied_title }}</h1>
<p class="revoked-text">{{ t.denied_text }}</p>
</section></div>
</body></html>"""


# --- who is asking -----------------------------------------------------------------------

def _display_for(token) -> tokens.Display | None:
    if not isinstance(token, str) or not token:
        return None
    display = tokens.display_for_token(db.cursor(), token) if len(token) <= tokens.MAX_TOKEN_LENGTH else None
    if display is None:
        audit.token_refused("display", token, lambda: tokens.revoked_holder(db.cursor(), "display", token))
    else:
        audit.token_used("display", display.name)
    return display


def _cookie_display() -> tokens.Display | None:
    """The live display of the request's cookie, or None (checked on every request: a revoked
    token stops working at its next one)."""
    return _display_for(request.cookies.get(COOKIE))


def _lang() -> str:
    return current_lang()


# --- responses ---------------------------------------------------------------------------

def _frame_ancestors() -> str:
    origins = [o for o in settings.current()["DISPLAY_FRAME_ANCESTORS"].split() if o]
    return " ".join(origins) if origins else "'none'"


def _csp(connect: tuple[str, ...] = ()) -> str:
    sources = " ".join(("'self'",) + tuple(dict.fromkeys(connect)))
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {sources}; font-src 'self'; base-uri 'none'; form-action 'none'; "
            f"frame-ancestors {_frame_ancestors()}")


def _html(body: str, status: int = 200, connect: tuple[str, ...] = ()):
    resp = make_response(body, status)
    resp.mimetype = "text/html"
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Content-Security-Policy"] = _csp(connect)
    return resp


def _denied():
    lang = _lang()
    return _html(render_template_string(_DENIED, lang=lang, t=display_panels.texts(lang), build=build_id()), 403)


def _unauthorized():
    resp = jsonify(error="this display is unknown or was revoked", revoked=True)
    resp.status_code = 401
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _live(display: tokens.Display) -> dict | None:
    """{"url": <EventSource URL>} of the push for this display's unit, or None when the push is
    off (the page then polls)."""
    url = subscription_url(display.unit_id, subject=f"display:{display.name}")
    return {"url": url} if url else None


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


# --- views -------------------------------------------------------------------------------

@bp.route("/display/<token>")
def provision(token: str):
    display = _display_for(token)
    if display is None:
        log.warning("display: unknown or revoked display token from %r", request.remote_addr)
        return _denied()
    log.info("display: %r (unit %s) provisioned from %s", display.name, display.unit_id, request.remote_addr)
    resp = redirect(url_for("display.page"), 303)
    resp.headers["Cache-Control"] = "no-store"
    secure = settings.current()["COOKIE_SECURE"]
    # SameSite=None (HTTPS only) lets a configured signage player frame the page.
    resp.set_cookie(COOKIE, token, max_age=COOKIE_MAX_AGE, path=COOKIE_PATH, httponly=True,
                    secure=secure, samesite="None" if secure else "Lax")
    return resp


@bp.route("/display")
def page():
    display = _cookie_display()
    if display is None:
        return _denied()
    lang = _lang()
    live = _live(display)
    origin = _origin(live and live.get("url"))
    unit_name = _state_data(display, lang, _change(display))[1]["unit"]["name"]
    html = render_template_string(_PAGE, lang=lang, t=display_panels.texts(lang), build=build_id(),
                                  unit_name=unit_name)
    return _html(html, connect=(origin,) if origin else ())


def _change(display: tokens.Display):
    """The last change of the display's unit subtree (after catching up with the file)."""
    scope_version(display.unit_id)
    return hub().of(display.unit_id)


def _state_data(display: tokens.Display, lang: str, change) -> tuple[int, dict]:
    """(version, the panels' data) for the display's scope at `change`, or the newest built so
    far while that one waits for its turn (display_states.py). Built once per (scope version,
    unit, panels, language, day) for every screen showing the same; each panel again only when
    the kinds of data it reads moved in the scope."""
    today = today_local()
    states = display_states(current_app)
    unit_id, panels, version = display.unit_id, display.panels, change.version
    as_of = change.local_time.strftime("%H:%M:%S %d/%m/%Y")

    def build():  # in this request or in the builder's thread: opens its own cursor
        cur = db.cursor()

        def memo(name, args, fn):  # the same days of last month: fixed for the day
            return states.panels.get_or_build((0, name, args + (today.isoformat(),)), fn)

        def panel_memo(panel, period, fn):  # a panel moves only with the kinds of data it reads
            kinds = display_panels.PANEL_KINDS[panel]
            moved = version if kinds is None else hub().of(unit_id, kinds).version
            return states.panels.get_or_build((moved, panel, unit_id, period, lang, today.isoformat()), fn)

        data = display_panels.build(cur, unit_id, panels, lang, today=today, latest_ratings=hub().latest_ratings,
                                    memo=memo, panel_memo=panel_memo)
        return {**data, "as_of": as_of}
    return states.get((unit_id, panels, lang, today.isoformat()), version, build)


@bp.route("/display/api/state")
def state():
    display = _cookie_display()
    if display is None:
        return _unauthorized()
    lang = _lang()
    version, data = _state_data(display, lang, _change(display))
    data = dict(data)
    unit, as_of = data.pop("unit"), data.pop("as_of")
    resp = jsonify(unit=unit, version=version, as_of=as_of,
                   build=build_id(), rotate_seconds=display.rotate_seconds, panels=list(display.panels),
                   live=_live(display), lang=lang, data=data)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/display/api/heartbeat", methods=["POST"])
def heartbeat():
    display = _cookie_display()
    if display is None:
        return _unauthorized()
    if request.headers.get(HEADER) != "1":
        return jsonify(error=f"send the header {HEADER}: 1"), 403
    if (request.content_length or 0) > MAX_BODY:
        return jsonify(error="heartbeat too large"), 413
    info = request.get_json(silent=True)
    if not isinstance(info, dict):
        return jsonify(error="send a JSON object: {build, screen, data_version}"), 400
    tokens.record_display_heartbeat(db.cursor(), display.name, info)
    resp = make_response("", 204)
    resp.headers["Cache-Control"] = "no-store"
    return resp


# --- headers -----------------------------------------------------------------------------

@bp.after_request
def _headers(resp):
    resp.headers["Referrer-Policy"] = "no-referrer"  # never leak /display/<token>
    resp.headers.setdefault("Content-Security-Policy", _csp())
    return resp


def _allow_framing(resp):
    """Runs after auth's hook (which sets X-Frame-Options: DENY everywhere): on the display's
    responses, when frame-ancestors origins are configured, their CSP decides instead."""
    if request.blueprint == bp.name and settings.current()["DISPLAY_FRAME_ANCESTORS"].strip():
        resp.headers.pop("X-Frame-Options", None)
    return resp


def init_app(server: Flask) -> None:
    states = display_states_init(server)
    cur = server.extensions["thuocdo_db"].cursor()
    try:  # room in the screens' panel cache for every screen known at start
        states.size_for(cur.execute("SELECT count(*) FROM displays WHERE revoked_at IS NULL").fetchone()[0])
    finally:
        cur.close()
    server.register_blueprint(bp)
    for view in ("provision", "page", "state", "heartbeat", "static"):
        auth.token_endpoint(bp.name, view)
    # after_request hooks run last-registered first: at index 0 this one runs after auth's.
    server.after_request_funcs.setdefault(None, []).insert(0, _allow_framing)
