"""OKR `/okr`: the objectives of a unit and of the units below it, worst status first, ten to a
page (a city has hundreds), each with its owner, progress against the time passed, and its key
results (live from the KPI they name, or from their latest check-in) with their status,
confidence and a history chart. URL: /okr?unit=ID&period=YYYY-MM&status=&sort=&page="""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, callback, dcc, html

from dashboard import db, formats, live, scope, text
from dashboard.callbacks import Ctx, cached, unit_ctx
from dashboard.components import charts, common, export_buttons
from dashboard.i18n import current_lang, t
from dashboard.metrics import lookups, okr_list, okr_status, trends
from dashboard.metrics.definitions import period_range
from dashboard.metrics.kpis import unit_kpis

dash.register_page(__name__, path="/okr", name="nav_okr", order=3, title="Thước đo · OKR",
                   nav=True, roles=("admin", "leader", "analyst"))

RATE_METRICS = {"on_time_rate", "completion_rate", "satisfaction_rate"}
PAGE_SIZE = 10
STATUS_SYMBOL = {okr_status.OFF_TRACK: "▼", okr_status.AT_RISK: "■", okr_status.ON_TRACK: "▲",
                 okr_status.NO_DATA: "–"}
SORT_LABEL = {"status": "okr_sort_status", "progress": "okr_sort_progress", "unit": "okr_sort_unit",
              "title": "okr_sort_title"}


def status_label(status: str, lang: str) -> str:
    return t(f"okr_{status}", lang)


def layout(unit=None, period=None, status=None, sort=None, page=None, **_):
    lang = current_lang()
    cur = db.cursor()
    p = scope.period(cur, period)
    chosen = scope.unit(cur, unit or scope.home_unit(cur))
    if p is None or chosen is None:
        return common.not_found(lang)
    status = status if status in okr_list.FILTERS else "all"
    sort = sort if sort in okr_list.SORTS else "status"
    page = int(page) if isinstance(page, str) and page.isdigit() and 0 < len(page) < 6 else 1
    # The page arrives with its list (as the unit page does, callbacks.fill): the callback below
    # answers the filter, the order, the pager and new data versions.
    ctx = Ctx(cur, lang, p, unit=chosen)
    following = live.page_args(chosen["unit_id"])  # before the list (see unit_view)
    body, number, pages, options, count = tree_state(ctx, status, sort, page)
    controls = html.Div([
        html.Div([html.Label(t("unit", lang), htmlFor="okr-unit", className="fw-semibold mb-1"),
                  dcc.Dropdown(id="okr-unit", value=chosen["unit_id"], options=common.unit_options(cur),
                               clearable=False)], className="okr-control okr-control-unit"),
        html.Div([html.Label(t("okr_sort", lang), htmlFor="okr-sort", className="fw-semibold mb-1"),
                  dcc.Dropdown(id="okr-sort", value=sort, clearable=False, searchable=False,
                               options=[{"label": t(SORT_LABEL[k], lang), "value": k} for k in okr_list.SORTS])],
                 className="okr-control okr-control-sort"),
    ], className="okr-controls mb-2")
    status_filter = html.Div([
        html.Span(t("okr_filter", lang), className="fw-semibold me-2", id="okr-status-label"),
        dbc.RadioItems(id="okr-status", value=status, inline=True, options=options,
                       class_name="okr-status-filter", input_class_name="btn-check",
                       label_class_name="btn btn-outline-secondary btn-sm",
                       label_checked_class_name="active"),
    ], className="d-flex flex-wrap align-items-center gap-1 mb-2", role="group",
        **{"aria-labelledby": "okr-status-label"})
    tree_panel = dbc.Card([
        dbc.CardHeader([html.H2(t("okr_title", lang), className="panel-title"),
                        export_buttons.buttons("okr", lang)],
                       className="d-flex flex-wrap justify-content-between align-items-center gap-2"),
        dbc.CardBody([
            html.Div(count, id="okr-count", className="small text-muted mb-2"),
            common.loading(html.Div(body, id="okr-tree", style={"minHeight": "240px"})),
            dbc.Pagination(id="okr-pager", max_value=pages, active_page=number, fully_expanded=False,
                           first_last=True, previous_next=True, size="sm", class_name="mt-2 mb-0 flex-wrap"),
        ]),
    ], className="panel mb-3")
    return html.Div([
        common.header(t("okr_title", lang), lang, subtitle=chosen["name"], periods=lookups.periods(cur), period=p),
        dcc.Store(id="page-args", data={"unit": chosen["unit_id"], "period": p, **following}),
        dcc.Location(id="okr-url", refresh=False),
        controls,
        status_filter,
        dbc.Row([
            dbc.Col(tree_panel, xxl=8, lg=12),
            dbc.Col(common.panel(t("kr_history", lang), "okr-history", lang, min_height=240,
                                 content=common.empty(t("pick_kr", lang))), xxl=4, lg=12),
        ]),
    ], className="okr-page")


def _status_options(counts: dict, lang: str) -> list[dict]:
    """The filter's choices, each with its count once known."""
    out = []
    for key in okr_list.FILTERS:
        name = t("okr_all", lang) if key == "all" else f"{STATUS_SYMBOL[key]} {status_label(key, lang)}"
        n = counts.get(key)
        out.append({"label": name if n is None else f"{name} ({formats.number(n, lang)})", "value": key})
    return out


def metric_value(metric: str, value, lang: str) -> str:
    if metric in RATE_METRICS:
        return formats.rate(value, lang)
    if metric in ("task_score", "satisfaction_mean") or (isinstance(value, float) and not float(value).is_integer()):
        return formats.number(value, lang, 2 if metric == "satisfaction_mean" else 1)
    return formats.number(value, lang)


def objective_period(p: str, lang: str) -> str:
    """'2026' -> Năm 2026, '2026-Q4' -> Quý 4/2026."""
    if len(p) == 7 and p[5] == "Q":
        return f"Quý {p[6]}/{p[:4]}" if lang == "vi" else f"Q{p[6]} {p[:4]}"
    return f"Năm {p}" if lang == "vi" else f"Year {p}"


def badge(status: str, lang: str) -> html.Span:
    """The status as a symbol and words (the colour is only a second cue)."""
    return html.Span(f"{STATUS_SYMBOL[status]} {status_label(status, lang)}", className=f"okr-badge okr-{status}")


def progress_bar(progress, expected: float, status: str, lang: str) -> html.Div:
    """Progress with a tick where it should be by now; no value is a hatched bar that says so,
    never an empty 0 % bar."""
    expected_text = t("okr_expected", lang, pct=formats.rate(expected, lang, 0))
    tick = html.Div(className="okr-tick", style={"left": f"{100 * expected:.1f}%"}, title=expected_text)
    if progress is None:
        return html.Div([html.Div([html.Span(t("okr_no_data_bar", lang), className="okr-bar-note"), tick],
                                  className="okr-bar okr-bar-none", title=expected_text),
                         html.Span(formats.DASH, className="okr-pct")], className="okr-progress")
    pct = formats.rate(progress, lang, 0)
    return html.Div([
        html.Div([html.Div(className=f"okr-fill okr-fill-{status}", style={"width": f"{100 * progress:.1f}%"}), tick],
                 className="okr-bar", role="progressbar", title=f"{pct} · {expected_text}",
                 **{"aria-valuenow": round(100 * progress), "aria-valuemin": 0, "aria-valuemax": 100,
                    "aria-label": f"{t('progress', lang)} {pct}"}),
        html.Span(pct, className="okr-pct"),
    ], className="okr-progress")


def _kr_row(kr: dict, expected: float, lang: str) -> html.Div:
    metric = kr["metric"]
    arrow = "↓" if kr["direction"] == "down" else "↑"
    return html.Div([
        html.Div([badge(kr["status"], lang)], className="okr-kr-status"),
        html.Div([html.Button(text.plain(kr["title"], text.LINE), id={"type": "okr-kr", "kr": kr["kr_id"]},
                              n_clicks=0, className="btn btn-link p-0 text-start kr-title"),
                  html.Div(f"{t('metric', lang)}: {t('manual', lang) if metric == 'manual' else t(metric, lang)}",
                           className="small text-muted")], className="okr-kr-title"),
        html.Div([progress_bar(kr["progress"], expected, kr["status"], lang),
                  html.Div(f"{metric_value(metric, kr['start_value'], lang)} → "
                           f"{metric_value(metric, kr['value'], lang)} → {arrow} "
                           f"{metric_value(metric, kr['target_value'], lang)}", className="small text-muted")],
                 className="okr-kr-progress"),
        html.Div([html.Div(t("confidence", lang), className="small text-muted"),
                  html.Div(formats.rate(kr["confidence"], lang, 0))], className="okr-kr-confidence"),
    ], className="okr-kr-row", id=f"kr-{kr['kr_id']}")


def _owner(objective: dict, period: str, lang: str) -> list:
    """Who owns the objective: its unit, and the unit's head; both are in the viewer's scope
    (the list holds the checked unit's subtree only), so both are links."""
    parts = [html.Span(f"{t('okr_owner', lang)}: ", className="text-muted"),
             dcc.Link(text.label(objective["unit_name"]), href=f"/unit/{objective['unit_id']}?period={period}")]
    head = objective["head"]
    if head:
        parts += [html.Span(f" · {t('okr_in_charge', lang)}: ", className="text-muted"),
                  dcc.Link(text.label(head["full_name"]), href=f"/official/{head['official_id']}?period={period}")]
    return parts


def _objective(cur, objective: dict, period: str, lang: str, scope_root) -> html.Article:
    krs = objective["key_results"]
    known = sum(kr["progress"] is not None for kr in krs)
    meta = [*_owner(objective, period, lang),
            html.Span(f" · {objective_period(objective['period'], lang)}", className="text-muted")]
    parent = objective["parent"]
    if parent:
        title = text.label(parent["title"])
        in_scope = scope_root is None or lookups.is_in_scope(cur, scope_root, parent["unit_id"])
        meta += [html.Span(f" · {t('okr_contributes', lang)}: ", className="text-muted"),
                 dcc.Link(title, href=f"/okr?unit={parent['unit_id']}&period={period}") if in_scope else title]
    return html.Article([
        html.Div([
            html.Div([badge(objective["status"], lang),
                      html.H3(text.plain(objective["title"], text.LINE), className="okr-title")],
                     className="okr-head-title"),
            html.Div([progress_bar(objective["progress"], objective["expected"], objective["status"], lang),
                      html.Div(t("okr_krs_known", lang, n=known, m=len(krs)), className="small text-muted")],
                     className="okr-head-progress"),
        ], className="okr-head"),
        html.Div(meta, className="okr-meta small"),
        html.Div([_kr_row(kr, objective["expected"], lang) for kr in krs], className="okr-krs") if krs else None,
    ], className=f"okr-card okr-card-{objective['status']}", id=f"obj-{objective['objective_id']}")


def _page(ctx: Ctx, items: list[dict], scope_root) -> html.Div:
    if not items:
        return common.empty(t("okr_no_match", ctx.lang))
    return html.Div([_objective(ctx.cur, o, ctx.period, ctx.lang, scope_root) for o in items], className="okr-list")


def objectives(ctx: Ctx) -> list[dict]:
    """The scope's objectives with their statuses, once per data version (every page and
    filter of the list reads them; the export too)."""
    return cached(ctx.cur, ctx.lang, "okr-list", ctx.key,
                  lambda: okr_list.objective_list(ctx.cur, ctx.unit["unit_id"], ctx.period),
                  unit_id=ctx.scope_unit)


def build_page(ctx: Ctx, status_filter: str, sort: str, page) -> tuple:
    """(page content, its number, the number of pages, counts per status, objectives kept): only
    the visible page is built, cached per scope, filter, sort, page and data version."""
    everything = objectives(ctx)
    kept = okr_list.ordered(everything, status_filter, sort)
    items, number, pages = okr_list.page(kept, page, PAGE_SIZE)
    root = scope.scope_root()
    if not everything:
        body = common.empty(t("no_objectives", ctx.lang))
    else:
        body = ctx.cached("okr-page", (*ctx.key, status_filter, sort, number, root), lambda: _page(ctx, items, root))
    return body, number, pages, okr_list.counts(everything), len(kept)


@callback(Output("okr-tree", "children"), Output("okr-pager", "max_value"), Output("okr-pager", "active_page"),
          Output("okr-status", "options"), Output("okr-count", "children"), Output("okr-url", "search"),
          Input("page-args", "data"), Input("data-version", "data"), Input("okr-status", "value"),
          Input("okr-sort", "value"), Input("okr-pager", "active_page"), State("okr-url", "search"),
          prevent_initial_call=True)
def fill_tree(args, _version, status_filter, sort, page, search):
    """Another filter, order or page, or a new data version; the URL follows (shareable)."""
    ctx = unit_ctx(args, home_by_default=True)
    lang = current_lang()
    if ctx is None:
        return common.empty(t("not_found_body", lang)), 1, 1, _status_options({}, lang), "", dash.no_update
    status_filter = status_filter if status_filter in okr_list.FILTERS else "all"
    sort = sort if sort in okr_list.SORTS else "status"
    if dash.ctx.triggered_id in ("okr-status", "okr-sort"):
        page = 1  # another filter or order starts at its first page
    body, number, pages, options, count = tree_state(ctx, status_filter, sort, page)
    new_search = f"?unit={ctx.unit['unit_id']}&period={ctx.period}" + (
        f"&status={status_filter}" if status_filter != "all" else "") + (
        f"&sort={sort}" if sort != "status" else "") + (f"&page={number}" if number > 1 else "")
    return body, pages, number, options, count, new_search if new_search != search else dash.no_update


def tree_state(ctx: Ctx, status_filter: str, sort: str, page) -> tuple:
    """(the page's objectives, its number, the number of pages, the filter's options with their
    counts, the count line)."""
    body, number, pages, counts, kept = build_page(ctx, status_filter, sort, page)
    day = formats.day(okr_list.as_of(ctx.cur, ctx.period))
    count = [t("okr_count", ctx.lang, shown=formats.number(kept, ctx.lang), page=number, pages=pages), " · ",
             t("okr_rule_note", ctx.lang, day=day)]
    return body, number, pages, _status_options(counts, ctx.lang), count


@callback(Output("nav", "href", allow_duplicate=True), Input("okr-unit", "value"), State("page-args", "data"),
          prevent_initial_call=True)
def pick_unit(unit, args):
    """Another unit is another URL (shareable); the page re-checks the scope."""
    args = args or {}
    if not unit or unit == args.get("unit"):
        return dash.no_update
    return f"/okr?unit={unit}&period={args.get('period', '')}"


def _history(cur, lang: str, kr: dict, period: str):
    """The KPI's months (from the trends, or unit_kpis for counts the trends lack), or the check-ins."""
    metric = kr["metric"]
    if metric == "manual":
        df = lookups.checkins(cur, kr["kr_id"])
        if df.empty:
            return common.empty(t("no_data", lang))
        df = df.assign(when=df["checked_at"].dt.strftime("%d/%m/%Y"))
        x, y = "when", "value"
    else:
        trend = trends.unit_trend(cur, kr["unit_id"], period)
        if metric in trend:
            df = trend.assign(month=trend["period"] + "-01")
        elif metric == "pending_evaluations":
            months = period_range(period, 13)
            df = pd.DataFrame({"month": [m + "-01" for m in months],
                               metric: [unit_kpis(cur, kr["unit_id"], m)[metric] for m in months]})
        else:  # overdue_open is counted at today's date only: there is no monthly history
            return common.empty(f"{t(metric, lang)}: {t('as_of_today', lang)}")
        x, y = "month", metric
    fig = charts.series_chart(df, x, y, lang, percent=metric in RATE_METRICS, kind="line", y_label=t("value", lang))
    fig.add_hline(y=kr["target_value"], line_dash="dash", line_color="#D55E00",
                  annotation_text=f"{t('target_value', lang)} {metric_value(metric, kr['target_value'], lang)}")
    return html.Div([html.Div(text.plain(kr["title"], text.LINE), className="fw-semibold mb-1"), charts.graph("okr-history-graph", fig)])


@callback(Output("okr-history", "children"), Input({"type": "okr-kr", "kr": ALL}, "n_clicks"),
          Input("page-args", "data"), prevent_initial_call=True)
def fill_history(_clicks, args):
    cur, lang = db.cursor(), current_lang()
    picked = dash.ctx.triggered_id
    if not isinstance(picked, dict) or not any(_clicks or []):
        return common.empty(t("pick_kr", lang))
    kr = lookups.key_result(cur, picked.get("kr"))
    period = scope.period(cur, (args or {}).get("period"))
    if kr is None or period is None or scope.unit(cur, kr["unit_id"]) is None:
        return common.empty(t("not_found_body", lang))
    return cached(cur, lang, "okr-history", (kr["kr_id"], period), lambda: _history(cur, lang, kr, period),
                  json_ready=True)
