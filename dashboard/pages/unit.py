"""Đơn vị `/unit/<id>`: any unit in the user's scope, with its officials and rule items."""
import dash

from dashboard import db, scope
from dashboard.components import common, unit_view
from dashboard.i18n import current_lang

dash.register_page(__name__, path_template="/unit/<unit>", name="nav_unit", order=1, title="Thước đo · Đơn vị",
                   nav=False, roles=("admin", "leader", "analyst"))


def layout(unit=None, period=None, sort=None, list=None, **_):  # noqa: A002 (the URL's own word)
    """`sort` (a ranking column) and `list` (overdue, pending, kht) are where a tile's link lands
    (the page guard passes only the arguments named here)."""
    lang = current_lang()
    cur = db.cursor()
    found = scope.unit(cur, unit)
    p = scope.period(cur, period)
    if found is None or p is None:
        return common.not_found(lang)
    return unit_view.layout(cur, found, p, lang, detailed=True, crumbs_top=scope.scope_root(),
                            sort=sort, which=list)
