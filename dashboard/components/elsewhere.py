"""On a server of imported rollups (`python -m etl rollups import`, docs/scale-out.md) the raw
facts stay on the provinces' servers: a detail list says so, and links there when the
PROVINCE_URL setting names it, instead of showing an empty list."""
from __future__ import annotations

from dash import html
from flask import current_app

from dashboard.i18n import t
from etl.rollup_import import is_rollups_only


def detail_elsewhere(cur, lang: str) -> html.P | None:
    """The notice for a list of raw facts, or None on a server that holds its facts."""
    if not is_rollups_only(cur):
        return None
    url = current_app.config["THUOCDO"]["PROVINCE_URL"]
    link = []
    if url.startswith(("https://", "http://")):  # a setting the admin wrote, never page input
        link = [" ", html.A(t("detail_elsewhere_link", lang), href=url, target="_blank", rel="noopener noreferrer",
                            className="detail-elsewhere-link")]
    return html.P([t("detail_elsewhere", lang), *link], className="text-muted my-2 detail-elsewhere")
