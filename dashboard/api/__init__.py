"""The JSON API: `GET /api/kpis?unit=ID|official=ID&period=YYYY-MM[&as_of=YYYY-MM-DD]`.

It returns the same object as `python -m dashboard kpis` (metrics.md), for what the signed-in
user may see: scope is checked with the server-side user, and an id outside it gets the
same 404 as one that does not exist.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Flask, jsonify, request

from dashboard import db, scope
from dashboard.metrics.kpis import official_kpis, unit_kpis

bp = Blueprint("api", __name__)


def _error(status: int, message: str):
    return jsonify(error=message), status


@bp.route("/api/kpis")
def kpis():
    cur = db.cursor()
    unit_id, official_id = request.args.get("unit"), request.args.get("official")
    if (unit_id is None) == (official_id is None):
        return _error(400, "give exactly one of unit=ID or official=ID")
    period = request.args.get("period", "")
    if not period or scope.period(cur, period) is None:
        return _error(400, "period must be a month, YYYY-MM")
    as_of = request.args.get("as_of")
    if as_of is not None:
        try:
            as_of = dt.date.fromisoformat(as_of)
        except ValueError:
            return _error(400, "as_of must be a date, YYYY-MM-DD")
    if unit_id is not None:
        if scope.unit(cur, unit_id) is None:
            return _error(404, "no such unit")
        return jsonify(unit_kpis(cur, unit_id, period, as_of))
    if scope.official(cur, official_id) is None:
        return _error(404, "no such official")
    return jsonify(official_kpis(cur, official_id, period, as_of))


def init_app(server: Flask) -> None:
    from dashboard.api import v1
    server.register_blueprint(bp)
    v1.init_app(server)
