"""The search box in the navigation: units and officials by name or id, accent-insensitive,
inside the signed-in user's scope (an official finds only themselves). Results are links."""
from __future__ import annotations

import re

from dash import Input, Output, State, callback, clientside_callback, dcc, html
from flask_login import current_user

from dashboard import db, labels, scope, text
from dashboard.i18n import current_lang, t
from dashboard.metrics import search as index
from dashboard.metrics import unit_names

LIMIT = 12
MAX_QUERY = 100
_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def box(lang: str) -> html.Div:
    """The input and the list under it (shown while the box or a result has the focus)."""
    return html.Div([
        html.Label(t("search_label", lang), htmlFor="site-search", className="visually-hidden"),
        dcc.Input(id="site-search", type="search", placeholder=t("search_placeholder", lang), debounce=0.25,
                  autoComplete="off", maxLength=MAX_QUERY, className="form-control form-control-sm"),
        html.Div(id="site-search-results", className="site-search-results", **{"aria-live": "polite"}),
    ], className="site-search", role="search")


def _period_suffix(search: str | None) -> str:
    """Keep the page's period when following a result (only a well-formed one)."""
    found = re.search(r"(?:^|[?&])period=([^&]*)", search or "")
    return f"?period={found.group(1)}" if found and _PERIOD.fullmatch(found.group(1)) else ""


def _where() -> tuple[str | None, str | None] | None:
    """(scope unit, official) to search in for the signed-in user; None: nothing to search."""
    if current_user.role == "official":
        return (None, current_user.official_id) if current_user.official_id else None
    return scope.scope_root(), None


def results(cur, query: str, lang: str, suffix: str = "") -> html.Div | None:
    if not isinstance(query, str) or not query.strip():
        return None
    where = _where()
    found = index.find(cur, query[:MAX_QUERY], scope_unit=where[0], official_id=where[1],
                       limit=LIMIT + 1) if where else []
    if not found and len(index.fold(query)) < index.MIN_CHARS:
        return None
    if not found:
        return html.P(t("search_none", lang), className="search-empty small text-muted mb-0")
    shown = unit_names.shown(cur, [r["unit_id"] for r in found[:LIMIT]])
    items = []
    for r in found[:LIMIT]:
        if r["kind"] == "unit":
            name = shown.get(r["id"], r["name"])  # "Văn phòng · Sở Nội vụ" when the name is shared
            detail = f"{labels.unit_kind(r['detail'], lang)} · {r['id']}"
            href = f"/unit/{r['id']}{suffix}"
        else:
            name = r["name"] + ("" if r["active"] else f" ({t('inactive', lang)})")
            detail = " · ".join(x for x in (r["id"], text.label(r["detail"]) if r["detail"] else "",
                                            shown.get(r["unit_id"], r["parent_name"] or "")) if x)
            href = f"/official/{r['id']}{suffix}"
        items.append(html.Li(dcc.Link([
            html.Span("▦ " if r["kind"] == "unit" else "● ", className="search-kind", **{"aria-hidden": "true"}),
            html.Span(text.label(name), className="search-name"),
            html.Span(text.plain(detail, text.LINE), className="search-detail"),
        ], href=href, className="search-hit", title=t("search_units" if r["kind"] == "unit" else "search_officials", lang)),
            className=f"search-item search-{r['kind']}"))
    more = html.P(t("search_more", lang, n=LIMIT), className="small text-muted mb-0 px-2") if len(found) > LIMIT else None
    return html.Div([html.Ul(items, className="list-unstyled mb-0", id="search-list"), more])


@callback(Output("site-search-results", "children"), Input("site-search", "value"), State("_pages_location", "search"),
          prevent_initial_call=True)
def search(query, page_search):
    """One bounded query per pause in typing (the input's debounce), in the user's scope."""
    return results(db.cursor(), query, current_lang(), _period_suffix(page_search if isinstance(page_search, str) else ""))


# A new page empties the box (its results list goes with it).
clientside_callback("function(_) { return ''; }", Output("site-search", "value"),
                    Input("_pages_location", "pathname"), prevent_initial_call=True)
