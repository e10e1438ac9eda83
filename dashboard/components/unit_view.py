"""The unit view shared by Tổng quan (the user's scope) and Đơn vị (any unit in scope):
tiles, children side by side, the tree, 13-month trends and ratings; the unit page adds
its officials ranked and its rule items. Callbacks fill the panels from the shared cache.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from dashboard import formats, live, text
from dashboard.callbacks import Ctx, cached, panel_callbacks, prefill, unit_ctx
from dashboard.components import charts, common, tables
from dashboard.components.tiles import tiles
from dashboard.i18n import t
from dashboard.metrics import compare, lookups, rules, trends
from dashboard.metrics.kpis import unit_kpis_with_previous

RANKING_COLUMNS = ("full_name", "position", "unit_name", "tasks_due", "on_time_rate", "completion_rate",
                   "task_score", "ratings_count", "satisfaction_rate", "score", "rating")
TREE_MAX_BOXES = 80
RANKING_PAGE = 15
CHILD_COLUMNS = ("name", "band", "officials_total", "tasks_due", "on_time_rate", "completion_rate", "task_score",
                 "overdue_open", "satisfaction_rate", "pending_evaluations", "violations", "warnings")


def layout(cur, unit: dict, period: str, lang: str, *, detailed: bool, crumbs_top: str | None) -> html.Div:
    """The page skeleton; panels somebody already built for this data version come with it,
    the others are filled by the callbacks below."""
    crumbs = lookups.breadcrumbs(cur, unit["unit_id"], top=crumbs_top)
    built, names = prefill(Ctx(cur, lang, period, unit=unit),
                           PANELS if detailed else {k: v for k, v in PANELS.items() if k != "unit-rules"})
    title = text.plain(unit["name"], text.LINE)
    subtitle = f"{t('nav_unit', lang)} · {text.label(unit['kind'])} · {unit['unit_id']}"
    body = [
        common.header(title, lang, subtitle=subtitle, breadcrumbs=common.crumbs(crumbs, period),
                      periods=lookups.periods(cur), period=period),
        dcc.Store(id="page-args", data={"unit": unit["unit_id"], "period": period, "prefilled": names,
                                         **live.page_args(unit["unit_id"])}),
        common.loading(html.Div(built.get("uv-tiles"), id="uv-tiles", className="mb-3", style={"minHeight": "110px"})),
        dbc.Row([
            dbc.Col(common.panel(t("children", lang), "uv-children", lang, min_height=200,
                                 content=built.get("uv-children")), xxl=7, lg=12),
            dbc.Col(common.panel(t("tree", lang), "uv-tree", lang, min_height=360, content=built.get("uv-tree")),
                    xxl=5, lg=12),
        ]),
        dbc.Row([
            dbc.Col(common.panel(t("trends", lang), "uv-trend-rates", lang, min_height=300,
                                 content=built.get("uv-trend-rates")), xl=4, lg=6),
            dbc.Col(common.panel(t("task_score", lang), "uv-trend-score", lang, min_height=300,
                                 content=built.get("uv-trend-score")), xl=4, lg=6),
            dbc.Col(common.panel(t("rating_dist", lang), "uv-ratings", lang, min_height=300,
                                 content=built.get("uv-ratings")), xl=4, lg=12),
        ]),
    ]
    if detailed:
        body.append(dbc.Row([
            dbc.Col(dbc.Card([
                dbc.CardHeader([html.H2(t("officials_ranked", lang), className="panel-title"),
                                html.Span(id="ranking-count", className="small text-muted")],
                               className="d-flex justify-content-between align-items-center"),
                dbc.CardBody(common.loading(tables.server_table(
                    "ranking-table", ranking_columns(lang), RANKING_PAGE,
                    sort_by=[{"column_id": "task_score", "direction": "desc"}]))),
            ], className="panel mb-3"), xxl=8, lg=12),
            dbc.Col(common.panel(t("rule_items", lang), "uv-rules", lang, min_height=120, content=built.get("uv-rules")),
                    xxl=4, lg=12),
        ]))
    return html.Div(body, className="unit-view")


def unit_href(unit_id: str, period: str) -> str:
    return f"/unit/{unit_id}?period={period}"


def official_href(official_id: str, period: str) -> str:
    return f"/official/{official_id}?period={period}"


# --- builders (run once per data version and arguments) -----------------------------------

def _tiles(ctx: Ctx):
    now, before = unit_kpis_with_previous(ctx.cur, ctx.unit["unit_id"], ctx.period)
    return tiles(now, before, ctx.lang)


def _children(ctx: Ctx):
    df = compare.children(ctx.cur, ctx.unit["unit_id"], ctx.period)
    if df.empty:
        return common.empty(t("no_children", ctx.lang))
    rows = []
    for row in tables.records(df):
        row = {**tables.shown(row), "name": tables.link(row["name"], unit_href(row["unit_id"], ctx.period))}
        row["band"] = tables.band_column(row["on_time_rate"], ctx.lang)
        rows.append(row)
    columns = [tables.column(c, ctx.lang) for c in CHILD_COLUMNS]
    columns[0].update(presentation="markdown", name=t("unit", ctx.lang))
    columns[1].update(name=t("quick_read", ctx.lang))
    return html.Div([
        html.P(t("children_hint", ctx.lang), className="small text-muted mb-2"),
        tables.datatable("children-table", columns, rows, page_size=12,
                         sort_by=[{"column_id": "on_time_rate", "direction": "desc"}]),
    ])


def _tree(ctx: Ctx):
    sub = lookups.subtree(ctx.cur, ctx.unit["unit_id"], ctx.period, max_depth=2)
    if len(sub) > TREE_MAX_BOXES:  # a city's two levels are ~1,000 boxes: show one level, click to go down
        sub = sub[sub["depth"] <= 1]
    return html.Div([charts.graph("uv-treemap", charts.treemap(sub, ctx.lang)), charts.scale_legend(ctx.lang)])


def _trends(ctx: Ctx):
    df = trends.unit_trend(ctx.cur, ctx.unit["unit_id"], ctx.period)
    return (charts.graph("uv-rates-graph", charts.trend_rates(df, ctx.lang)),
            charts.graph("uv-score-graph", charts.trend_score(df, ctx.lang)),
            charts.graph("uv-ratings-graph", charts.rating_distribution(df, ctx.lang)))


def ranking_columns(lang: str) -> list[dict]:
    columns = [tables.column(c, lang) for c in RANKING_COLUMNS]
    columns[0].update(presentation="markdown", name=t("official", lang))
    columns[2].update(name=t("unit", lang))
    return columns


def _ranking_rows(df, period: str, lang: str) -> list[dict]:
    rows = []
    for row in tables.records(df):
        flags = (" ★" if row["is_head"] else "") + ("" if row["active"] else f" ({t('inactive', lang)})")
        name = tables.link(text.label(row["full_name"]) + flags, official_href(row["official_id"], period))
        rows.append({**tables.shown({k: row[k] for k in RANKING_COLUMNS}), "full_name": name})
    return rows


def rule_list(cur, items: list[dict], period: str, lang: str, *, limit: int = 50):
    """Rule items as a list with kind icons and links to the unit and official."""
    if not items:
        return common.empty(t("no_rule_items", lang, period=formats.period(period)))
    units = lookups.unit_names(cur, [i["unit_id"] for i in items])
    people = lookups.official_names(cur, [i["official_id"] for i in items])
    entries = []
    for item in items[:limit]:
        violation = item["kind"] == "violation"
        who = [dcc.Link(text.label(units.get(item["unit_id"], item["unit_id"])), href=unit_href(item["unit_id"], period))]
        if item["official_id"]:
            who += [" · ", dcc.Link(text.label(people.get(item["official_id"], item["official_id"])),
                                    href=official_href(item["official_id"], period))]
        entries.append(html.Li([
            html.Span("✖" if violation else "⚠", className="rule-icon", **{"aria-hidden": "true"}),
            html.Div([html.Div([html.Span(t("violation" if violation else "warning", lang) + ": ",
                                          className="fw-semibold"), t("rule_" + item["rule"], lang)]),
                      html.Div(who, className="small")]),
        ], className="rule-item " + ("rule-violation" if violation else "rule-warning")))
    more = len(items) - limit
    return html.Div([html.Ul(entries, className="rule-list list-unstyled mb-0"),
                     html.P(f"+ {formats.number(more, lang)} …", className="small text-muted") if more > 0 else None])


def _rules(ctx: Ctx):
    items = rules.rule_items(ctx.cur, ctx.period, unit_id=ctx.unit["unit_id"])
    return rule_list(ctx.cur, items, ctx.period, ctx.lang)


# --- callbacks -----------------------------------------------------------------------------

# name (cache key) -> (output id(s), builder): one callback each, and what a layout may prefill.
PANELS = {"unit-tiles": ("uv-tiles", _tiles), "unit-children": ("uv-children", _children),
          "unit-tree": ("uv-tree", _tree), "unit-trends": (("uv-trend-rates", "uv-trend-score", "uv-ratings"), _trends),
          "unit-rules": ("uv-rules", _rules)}
panel_callbacks(PANELS, unit_ctx)


@callback(Output("ranking-table", "data"), Output("ranking-table", "page_count"), Output("ranking-count", "children"),
          Input("page-args", "data"), Input("data-version", "data"), Input("ranking-table", "page_current"),
          Input("ranking-table", "sort_by"))
def fill_ranking(args, _version, page, sort_by):
    """The subtree's officials, one page at a time (a city has 150,000), sorted and paged in
    SQL: each page is one small query, built once per data version."""
    ctx = unit_ctx(args)
    if ctx is None:
        return [], 1, ""
    unit_id = ctx.unit["unit_id"]
    column, descending = "task_score", True
    if sort_by and isinstance(sort_by, list) and isinstance(sort_by[0], dict) \
            and sort_by[0].get("column_id") in compare.RANKING_SORTS:
        column, descending = sort_by[0]["column_id"], sort_by[0].get("direction") != "asc"
    total = cached(ctx.cur, ctx.lang, "unit-ranking-size", ctx.key,
                   lambda: compare.ranking_size(ctx.cur, unit_id, ctx.period))
    pages = max(1, -(-total // RANKING_PAGE))
    page = min(max(int(page or 0), 0), pages - 1)
    rows = cached(ctx.cur, ctx.lang, "unit-ranking", (*ctx.key, column, descending, page),
                  lambda: compare.officials_ranking(ctx.cur, unit_id, ctx.period, column, descending,
                                                    limit=RANKING_PAGE, offset=page * RANKING_PAGE))
    count = f"{formats.number(total, ctx.lang)} {t('officials_total', ctx.lang).lower()}"
    return _ranking_rows(rows, ctx.period, ctx.lang), pages, count


@callback(Output("nav", "href", allow_duplicate=True), Input("uv-treemap", "clickData"),
          State("page-args", "data"), prevent_initial_call=True)
def open_from_tree(click, args):
    """Clicking a box opens that unit's page (the unit page re-checks the scope)."""
    try:
        unit_id = click["points"][0]["id"]
    except (TypeError, KeyError, IndexError):
        return dash.no_update
    period = (args or {}).get("period") or ""
    return unit_href(unit_id, period)
