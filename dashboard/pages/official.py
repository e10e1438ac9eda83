"""Cán bộ `/official/<id>`: one official's month, history and evaluations."""
import dash

from dashboard import db, scope
from dashboard.components import common, official_view
from dashboard.i18n import current_lang

dash.register_page(__name__, path_template="/official/<official>", name="nav_official", order=2,
                   title="Thước đo · Cán bộ", nav=False, roles=("admin", "leader", "analyst", "official"))


def layout(official=None, period=None, **_):
    lang = current_lang()
    cur = db.cursor()
    found = scope.official(cur, official)
    p = scope.period(cur, period)
    if found is None or p is None:
        return common.not_found(lang)
    return official_view.layout(cur, found, p, lang)
