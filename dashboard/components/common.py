"""The frame of a page: heading with breadcrumbs and period picker, titled panels, the not-found page."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import db, formats, scope, text
from dashboard.i18n import t
from dashboard.metrics import lookups, unit_names
from dashboard.metrics.periods import data_clock, is_running, running_month


def period_picker(periods: list[str], period: str, lang: str) -> html.Div:
    """Months with data, newest first; the running month says "đang cập nhật" (metrics/periods.py)."""
    running = running_month(db.cursor())
    options = [{"label": _period_option(p, p == running, lang), "value": p} for p in periods]
    if period not in periods:
        options.insert(0, {"label": formats.period(period), "value": period})
    return html.Div([
        html.Label(t("period", lang), htmlFor="period-picker", className="me-2 mb-0 fw-semibold"),
        dcc.Dropdown(id="period-picker", options=options, value=period, clearable=False, searchable=False,
                     className="period-picker"),
    ], className="d-flex align-items-center")


def _period_option(p: str, running: bool, lang: str) -> str:
    return f"{formats.period(p)} · {t('period_running', lang)}" if running else formats.period(p)


def running_note(period: str, lang: str) -> html.P | None:
    """Under the heading of a running month: it is partial, so it is not compared (the tiles
    show no ▲▼ for it either, see tiles.py)."""
    cur = db.cursor()
    if not is_running(cur, period):
        return None
    until = formats.moment(data_clock(cur))
    return html.P([t("period_running_note", lang, period=formats.period(period), until=until)],
                  className="period-note mb-0 mt-1", id="period-running-note")


def outside_data(cur, period: str, lang: str, pathname: str = "/") -> html.Div | None:
    """For a well-formed period typed into a URL that no data covers: a clear message and a
    link to the latest month, instead of a page of dashes. None when the period has data."""
    available = lookups.periods(cur)
    if period in available:
        return None
    body = (t("period_missing_body", lang, first=formats.period(available[-1]), last=formats.period(available[0]))
            if available else t("period_missing_empty", lang))
    latest = available[0] if available else None
    return html.Div([
        html.H1(t("period_missing_title", lang, period=formats.period(period)), className="page-title mb-2"),
        html.P(body, className="lead"),
        dcc.Link(t("period_latest_link", lang, period=formats.period(latest)), href=f"{pathname}?period={latest}",
                 className="btn btn-primary", id="period-latest-link") if latest else None,
    ], className="period-missing py-4 text-center", id="period-missing")


def unit_options(cur) -> list[dict]:
    """Units of the user's scope down to two levels, indented by depth, for filters and pickers."""
    units = lookups.units_in_scope(cur, scope.home_unit(cur), max_depth=2)
    # Offices repeat names ("Văn phòng") under every department: those carry their parent's.
    # Labels are plain and cut (a 10,000-character name hung the browser), the rest in a tooltip.
    names = unit_names.shown(cur, [u["unit_id"] for u in units])
    options = []
    for u in units:
        name = names.get(u["unit_id"], u["name"])
        options.append({"label": "\u2003" * u["depth"] + text.label(name), "value": u["unit_id"],
                        **({"title": tip} if (tip := text.tooltip(name)) else {})})
    return options


def crumbs(items: list[dict], period: str) -> html.Nav:
    """Breadcrumbs up the tree; every level but the last is a link."""
    parts = []
    for i, item in enumerate(items):
        last = i == len(items) - 1
        label = text.label(item["name"])
        parts.append(html.Li(
            label if last else dcc.Link(label, href=f"/unit/{item['unit_id']}?period={period}"),
            className="breadcrumb-item" + (" active" if last else ""),
            **({"aria-current": "page"} if last else {})))
    return html.Nav(html.Ol(parts, className="breadcrumb mb-1"), **{"aria-label": "breadcrumb"}, id="breadcrumbs")


def header(title, lang: str, *, subtitle=None, breadcrumbs=None, periods=None, period=None) -> html.Div:
    """The page's heading; a title or subtitle from the data is shown plain (text.plain)."""
    right = period_picker(periods, period, lang) if periods is not None else None
    title = text.plain(title, text.LINE) if isinstance(title, str) else title
    subtitle = text.plain(subtitle, text.LINE) if isinstance(subtitle, str) else subtitle
    return html.Div([
        html.Div([breadcrumbs, html.H1(title, className="page-title", id="page-title"),
                  html.Div(subtitle, className="text-muted") if subtitle else None,
                  running_note(period, lang) if periods is not None and period else None]),
        right,
    ], className="page-header d-flex flex-wrap justify-content-between align-items-end gap-3 mb-3",
        **({"data-period": period} if period else {}))


def panel(title: str, body_id: str, lang: str, *, extra=None, min_height: int = 120, className: str = "",
          content=None) -> dbc.Card:
    """A titled card whose body a callback fills (or `content`, when already built); shows a
    spinner while it loads."""
    return dbc.Card([
        dbc.CardHeader([html.H2(title, className="panel-title"), extra], className="d-flex justify-content-between align-items-center"),
        dbc.CardBody(loading(html.Div(content, id=body_id, style={"minHeight": f"{min_height}px"}))),
    ], className=f"panel mb-3 {className}")


def loading(child) -> dcc.Loading:
    """A spinner over content that takes a while; the content stays as it is meanwhile, and a
    live update (a few tens of milliseconds from the cache) never shows one: no flicker."""
    return dcc.Loading(child, type="default", delay_show=400, overlay_style={"visibility": "visible"})


def empty(text: str) -> html.P:
    return html.P(text, className="text-muted fst-italic my-2 empty-note")


def not_found(lang: str) -> html.Div:
    """One page for unknown ids and ids outside the user's scope, so scope is not revealed."""
    return html.Div([
        html.H1(t("not_found_title", lang), className="page-title"),
        html.P(t("not_found_body", lang), className="lead"),
        dcc.Link(t("back_home", lang), href="/", className="btn btn-primary"),
    ], className="not-found py-5 text-center", id="not-found")
