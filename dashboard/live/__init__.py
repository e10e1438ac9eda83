"""Live updates: per-scope data versions, the push to open pages and displays, and timing.

Data flows one way: the writer (etl/writer.py) commits a batch and tells the hub
(`versions.ScopeVersions`) which unit subtrees moved; the hub tells the push (`push.py`),
which sends "scope X is now version N" to the pages and displays subscribed to X; they then
fetch their panels, cached per scope version (dashboard/cache.py), over the normal routes.
`/api/data-version` stays as the polling fallback, answered from memory.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

from flask import Blueprint, Flask, current_app, g, jsonify, request

from dashboard import db
from dashboard.live.versions import FEED_KEPT, ScopeVersions
from dashboard.metrics import lookups, subtrees
from etl.loader import FEED_COLUMNS

bp = Blueprint("live", __name__)
_EXTENSION = "thuocdo_live"


def hub() -> ScopeVersions:
    """The running app's scope versions."""
    return current_app.extensions[_EXTENSION]


def build_id() -> str:
    """Changes whenever the server's code does: open displays reload themselves when it moves."""
    return current_app.config["THUOCDO_BUILD"]


def _compute_build_id() -> str:
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".js", ".css") and "__pycache__" not in path.parts:
            h.update(path.name.encode())
            h.update(str(path.stat().st_mtime_ns).encode())
    return h.hexdigest()[:12]


def scope_version(unit_id: str | None) -> int:
    """The version of a unit's subtree (None: the newest of all), checked against the file."""
    versions = hub()
    versions.sync(lookups.data_version(db.cursor()))
    return versions.of(unit_id).version


# --- the push's subscriptions -----------------------------------------------------------

def subscription_url(unit_id: str, subject: str) -> str | None:
    """The EventSource URL for a page or display of `unit_id` (already scope-checked by the
    caller), signed for `subject` ("session:<token hash>" or "display:<name>"); None when the
    push is off (the page then polls)."""
    push_server = current_app.extensions.get("thuocdo_push")
    if push_server is None:
        return None
    from dashboard.live.push import signer
    token = signer(current_app.config["SECRET_KEY"]).dumps({"u": unit_id, "who": subject})
    base = current_app.config["THUOCDO"]["LIVE_PUBLIC_URL"].rstrip("/")
    if not base:
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        base = f"{request.scheme}://{host}:{push_server.port}"
    return f"{base}/events?s={token}"


def page_args(unit_id: str) -> dict:
    """What a page of a unit's subtree (checked by the caller) needs to follow it live: the
    push URL, the scope's version and the time of its last change, for its `page-args` store."""
    change = hub().of(unit_id)
    return {"live": subscription_url(unit_id, session_subject()), "version": change.version,
            "as_of": change.local_time.strftime("%H:%M %d/%m")}  # "Số liệu đến hh:mm dd/mm"


def session_subject() -> str:
    """The signed-in user's session as a push subject (its token's hash, never the token)."""
    from flask_login import current_user

    from dashboard.users import token_hash
    return "session:" + token_hash(current_user.get_id())


def _alive(database):
    """subjects -> those still allowed to listen: live sessions of active users, unrevoked displays."""
    def alive(subjects: set[str]) -> set[str]:
        sessions = [s.split(":", 1)[1] for s in subjects if s.startswith("session:")]
        displays = [s.split(":", 1)[1] for s in subjects if s.startswith("display:")]
        cur = database.cursor()
        try:
            found = {"session:" + r[0] for r in cur.execute(
                "SELECT s.token_hash FROM sessions s JOIN users u USING (user_id) WHERE s.token_hash IN "
                "(SELECT unnest(?::VARCHAR[])) AND s.expires_at > now()::TIMESTAMP AND u.active", [sessions]).fetchall()}
            found |= {"display:" + r[0] for r in cur.execute(
                "SELECT name FROM displays WHERE name IN (SELECT unnest(?::VARCHAR[])) AND revoked_at IS NULL",
                [displays]).fetchall()}
            return found
        finally:
            cur.close()
    return alive


def start_push(server: Flask, host: str, main_port: int) -> None:
    """Start the push server beside waitress (LIVE_PORT: -1 = main_port + 1, 0 = off)."""
    checked = server.config["THUOCDO"]
    port = checked["LIVE_PORT"]
    if port == 0:
        return
    from dashboard.live.push import PushServer
    origins = tuple(o for o in checked["LIVE_ALLOWED_ORIGINS"].split() if o)
    push_server = PushServer(server.extensions[_EXTENSION], checked["SECRET_KEY"],
                             _alive(server.extensions["thuocdo_db"]), server.config["THUOCDO_BUILD"],
                             main_port, origins)
    server.extensions["thuocdo_push"] = push_server.start(host, main_port + 1 if port == -1 else port)


@bp.route("/api/data-version")
def data_version():
    """The polling fallback: the page's scope version (`?unit=`), or the newest of all."""
    unit_id = request.args.get("unit")
    if unit_id is not None:
        from dashboard import scope  # the scope check of every other read
        if scope.unit(db.cursor(), unit_id) is None:
            return jsonify(error="no such unit"), 404
    version = scope_version(unit_id)
    # `at`: the pages' "Số liệu đến hh:mm dd/mm", so polling pages move their stamp too
    return jsonify(version=version, at=hub().of(unit_id).local_time.strftime("%H:%M %d/%m"))


def _start_timer():
    g.started = time.perf_counter()


def _server_timing(resp):
    started = g.get("started")
    if started is not None:
        resp.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return resp


def init_app(server: Flask) -> None:
    """The hub, seeded with the database's version and its newest ratings (for display feeds)."""
    database = server.extensions["thuocdo_db"]
    cur = database.cursor()
    try:
        changed = lookups.data_changed_at(cur)  # naive, in this machine's time zone (DuckDB's default)
        versions = ScopeVersions(lookups.data_version(cur), at=changed.timestamp() if changed else None)
        versions.seed_feed(cur.execute(
            f"SELECT * FROM (SELECT {FEED_COLUMNS} FROM ratings r JOIN officials o USING (official_id) "
            f"ORDER BY r.rated_at DESC LIMIT ?) ORDER BY rated_at", [FEED_KEPT]).fetchall())
        name = cur.execute("SELECT current_database()").fetchone()[0]
    finally:
        cur.close()
    server.extensions[_EXTENSION] = versions
    server.config["THUOCDO_BUILD"] = _compute_build_id()
    subtrees.follow_changes(name, versions.changes_after)
    server.register_blueprint(bp)
    server.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    server.after_request(_server_timing)
