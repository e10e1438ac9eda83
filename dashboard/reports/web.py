"""`GET /report/<unit_id>.pdf?period=YYYY-MM`: the unit page's "Báo cáo tháng" button.

Behind the login gate like every route; the unit and period are checked against the signed-in
user (dashboard/scope.py: outside the scope is the same 404 as unknown), and every download is
an `export` row in the audit log. One report is drawn at a time (about a second of CPU each),
and the last few are kept per data version, so a meeting's worth of clicks costs one render.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Blueprint, Flask, Response, abort, request

from dashboard import audit, db, scope
from dashboard.i18n import current_lang
from dashboard.metrics import lookups

bp = Blueprint("reports", __name__)
KEPT = 16
_kept: OrderedDict[tuple, bytes] = OrderedDict()
_render_lock = threading.Lock()


def href(unit_id: str, period: str) -> str:
    return f"/report/{unit_id}.pdf?period={period}"


def file_name(unit_id: str, period: str) -> str:
    return f"bao-cao-{unit_id}-{period}.pdf"


@bp.route("/report/<unit_id>.pdf")
def report_pdf(unit_id: str):
    from dashboard.reports.cli import render

    cur = db.cursor()
    unit = scope.unit(cur, unit_id)
    period = request.args.get("period", "")
    if unit is None:
        abort(404)
    period = scope.period(cur, period)
    if period is None:
        abort(404)
    lang = current_lang()
    key = (str(db.database().path), lookups.data_version(cur), unit_id, period, lang)
    with _render_lock:
        pdf = _kept.get(key)
        if pdf is None:
            pdf = render(cur, unit_id, period, lang=lang)
            _kept[key] = pdf
            while len(_kept) > KEPT:
                _kept.popitem(last=False)
    name = file_name(unit_id, period)
    audit.record("export", target="pdf", detail={"file": name, "unit": unit_id, "period": period,
                                                 "report": "monthly", "bytes": len(pdf)})
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def init_app(server: Flask) -> None:
    server.register_blueprint(bp)
