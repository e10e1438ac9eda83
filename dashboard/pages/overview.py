"""Tổng quan `/`: the signed-in user's whole scope (an official sees their own page)."""
import dash
from flask_login import current_user

from dashboard import db, scope
from dashboard.components import common, official_view, unit_view
from dashboard.i18n import current_lang

# Officials open "/" too (it shows their own page) but their menu links that page by name instead.
dash.register_page(__name__, path="/", name="nav_overview", order=0, title="Thước đo",
                   nav=("admin", "leader", "analyst"), roles=("admin", "leader", "analyst", "official"))


def layout(period=None, **_):
    lang = current_lang()
    cur = db.cursor()
    if current_user.role == "official":
        official = scope.official(cur, current_user.official_id)
        p = scope.period(cur, period)
        return official_view.layout(cur, official, p, lang) if official and p else common.not_found(lang)
    unit = scope.unit(cur, scope.home_unit(cur))
    p = scope.period(cur, period)
    if unit is None or p is None:
        return common.not_found(lang)
    return unit_view.layout(cur, unit, p, lang, detailed=False, crumbs_top=scope.scope_root())
