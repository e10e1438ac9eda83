"""Live updates and timing: the cheap data-version endpoint pages poll, and a Server-Timing header.

Open pages poll `/api/data-version` (one tiny query) instead of re-running their callbacks;
only when the version moves do the panels refresh, and then from the shared panel cache.
A 401 from the endpoint tells the page its session has ended, and it goes to the login.
"""
from __future__ import annotations

import time

from flask import Blueprint, Flask, g, jsonify

from dashboard import db
from dashboard.metrics import lookups

bp = Blueprint("live", __name__)


@bp.route("/api/data-version")
def data_version():
    return jsonify(version=lookups.data_version(db.cursor()))


def _start_timer():
    g.started = time.perf_counter()


def _server_timing(resp):
    started = g.get("started")
    if started is not None:
        resp.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return resp


def init_app(server: Flask) -> None:
    server.register_blueprint(bp)
    server.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    server.after_request(_server_timing)
