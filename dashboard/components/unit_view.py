"""The unit view shared by Tổng quan (the user's scope) and Đơn vị (any unit in scope):
tiles, children side by side, the tree, 13-month trends and ratings; the unit page adds
its officials ranked and its rule items. The layout carries every panel, from the shared
cache; the callbacks refill them when the data version moves.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html

from dashboard import formats, labels, live, settings, text
from dashboard.callbacks import Ctx, cached, fill, panel_callbacks, unit_ctx
from dashboard.components import attention as attention_view
from dashboard.components import charts, common, tables
from dashboard.components import export_buttons  # the tables' downloads (issue 13, items 21-23)
from dashboard.components.attention import alerts_href, official_href, officials_list_href, unit_href
from dashboard.components.tiles import tiles
from dashboard.i18n import current_lang, t
from dashboard.metrics import attention, compare, lookups, rules, targets, trends
from dashboard.metrics.kpis import unit_kpis_with_previous
from dashboard.metrics.periods import is_running

RANKING_COLUMNS = ("full_name", "position", "unit_name", "tasks_due", "on_time_rate", "completion_rate",
                   "task_score", "overdue_open", "ratings_count", "satisfaction_rate", "score", "rating")
TREE_MAX_BOXES = 80
RANKING_PAGE = 15
CHILD_COLUMNS = ("name", "band", "officials_total", "tasks_due", "on_time_rate", "completion_rate", "task_score",
                 "overdue_open", "satisfaction_rate", "pending_evaluations", "violations", "warnings")
# Worst first: the KPI the tables are read by, lowest first (no data last, whatever the order).
WORST_FIRST = ("on_time_rate", False)
HIGHER_IS_WORSE = ("overdue_open", "pending_evaluations", "violations", "warnings", "tasks_due")
TEXT_COLUMNS = ("name", "band", "full_name", "position", "unit_name", "rating")
ATTENTION_SHOWN = 8
# Rate and score tiles open the officials worst first on that KPI; counts open their own list.
TILE_SORTS = ("on_time_rate", "completion_rate", "task_score", "satisfaction_rate")
TARGET_SETTINGS = {"on_time_rate": "TARGET_ON_TIME_RATE", "completion_rate": "TARGET_COMPLETION_RATE",
                   "satisfaction_rate": "TARGET_SATISFACTION_RATE"}


def layout(cur, unit: dict, period: str, lang: str, *, detailed: bool, crumbs_top: str | None,
           sort: str | None = None, which: str | None = None) -> html.Div:
    """The whole page, its panels included (callbacks.fill): the callbacks below answer only
    later data versions and the ranking's own controls. `sort` (a ranking column, worst first)
    and `which` (one of metrics.attention.LISTS) come from the URL the tiles link to."""
    crumbs = lookups.breadcrumbs(cur, unit["unit_id"], top=crumbs_top)
    ctx = Ctx(cur, lang, period, unit=unit)
    following = live.page_args(unit["unit_id"])  # before the panels: a commit while they build moves the page again
    built = fill(ctx, PANELS if detailed else {k: v for k, v in PANELS.items() if k != "unit-rules"})
    title = text.plain(unit["name"], text.LINE)
    subtitle = f"{t('nav_unit', lang)} · {labels.unit_kind(unit['kind'], lang)} · {unit['unit_id']}"
    body = [
        common.header(title, lang, subtitle=subtitle, breadcrumbs=common.crumbs(crumbs, period),
                      periods=lookups.periods(cur), period=period),
        dcc.Store(id="page-args", data={"unit": unit["unit_id"], "period": period, **following}),
        html.Div(html.A(t("report_button", lang), href=f"/report/{unit['unit_id']}.pdf?period={period}", download=f"bao-cao-{unit['unit_id']}-{period}.pdf", id="report-pdf", className="btn btn-sm btn-outline-primary"), className="d-flex justify-content-end mb-2"),  # the monthly report (dashboard/reports)
        common.panel(t("attention_title", lang), "uv-attention", lang, min_height=60, content=built.get("uv-attention"),
                     extra=html.Span(t("attention_hint", lang), className="small text-muted d-none d-md-inline"),
                     className="attention-panel"),
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
        which = which if which in attention.LISTS else "all"
        first_sort = _initial_sort(sort, which)
        rows, pages, count, note = ranking(ctx, 0, [first_sort], which)
        body.append(dbc.Row([
            dbc.Col(dbc.Card([
                dbc.CardHeader([html.H2(t("officials_ranked", lang), className="panel-title"),
                                html.Span(count, id="ranking-count", className="small text-muted")],
                               className="d-flex justify-content-between align-items-center"),
                dbc.CardBody([
                    html.Div([
                        html.Span(t("list_label", lang) + ":", className="small fw-semibold me-2",
                                  id="ranking-list-label"),
                        dbc.RadioItems(id="ranking-list", value=which, inline=True,
                                       options=[{"label": t("list_" + w, lang), "value": w}
                                                for w in ("all", *attention.LISTS)],
                                       className="d-flex flex-wrap gap-1 ranking-lists",
                                       inputClassName="btn-check", labelClassName="btn btn-sm btn-outline-primary",
                                       labelCheckedClassName="active"),
                    ], className="d-flex flex-wrap align-items-center mb-2", role="group",
                        **{"aria-labelledby": "ranking-list-label"}),
                    html.P(note, id="ranking-sort-note", className="small text-muted mb-2 sort-note"),
                    common.loading(tables.server_table("ranking-table", ranking_columns(lang), RANKING_PAGE,
                                                       sort_by=[first_sort], data=rows, page_count=pages)),
                ]),
            ], className="panel mb-3", id="officials"), xxl=8, lg=12),
            dbc.Col(common.panel(t("rule_items", lang), "uv-rules", lang, min_height=120, content=built.get("uv-rules")),
                    xxl=4, lg=12),
        ]))
    body.append(export_buttons.unit_exports(lang, detailed))  # downloads of the tables above
    return html.Div(body, className="unit-view")


def _initial_sort(sort: str | None, which: str) -> dict:
    """The ranking's first sort: the column the URL names, worst first; else the list's own."""
    if sort in attention.LIST_SORTS:
        return {"column_id": sort, "direction": "desc" if sort in HIGHER_IS_WORSE else "asc"}
    if which == "overdue":
        return {"column_id": "overdue_open", "direction": "desc"}
    return {"column_id": WORST_FIRST[0], "direction": "desc" if WORST_FIRST[1] else "asc"}


def sort_note(sort_by, columns: list[dict], lang: str) -> str:
    """"Sắp xếp: Tỷ lệ đúng hạn, thấp nhất trước · bấm tiêu đề cột để đổi" for a table's sort_by."""
    names = {c["id"]: c["name"] for c in columns}
    first = sort_by[0] if sort_by and isinstance(sort_by, list) and isinstance(sort_by[0], dict) else None
    column = first.get("column_id") if first else None
    if not isinstance(column, str) or column not in names:
        return t("sort_change", lang).capitalize()
    ascending = first.get("direction") == "asc"
    order = (t("sort_az" if ascending else "sort_za", lang) if column in TEXT_COLUMNS
             else t("sort_asc" if ascending else "sort_desc", lang))
    return f"{t('sort_note', lang, column=names[column], order=order)} · {t('sort_change', lang)}"


def tile_links(unit_id: str, period: str, lang: str) -> dict[str, tuple[str, str]]:
    """{kpi: (href, tooltip)}: what each unit tile opens (the officials worst first on that KPI,
    the officials with overdue tasks or not yet evaluated, the unit's violations)."""
    links = {k: (unit_href(unit_id, period) + f"&sort={k}#officials",
                 t("tile_link_worst", lang, kpi=t(k, lang).lower())) for k in TILE_SORTS}
    links["overdue_open"] = (officials_list_href(unit_id, period, "overdue"), t("tile_link_overdue", lang))
    links["pending_evaluations"] = (officials_list_href(unit_id, period, "pending"), t("tile_link_pending", lang))
    links["violations"] = (alerts_href(unit_id, period), t("tile_link_alerts", lang))
    return links


def default_targets() -> dict[str, float]:
    """The settings' targets (percent) as rates; 0 means none."""
    conf = settings.current()
    return {kpi: conf[name] / 100 for kpi, name in TARGET_SETTINGS.items() if conf[name]}


# --- builders (run once per data version and arguments) -----------------------------------

def _tiles(ctx: Ctx):
    unit_id = ctx.unit["unit_id"]
    now, before = unit_kpis_with_previous(ctx.cur, unit_id, ctx.period)
    goals = targets.unit_targets(ctx.cur, unit_id, ctx.period, default_targets())
    return tiles(now, before, ctx.lang, links=tile_links(unit_id, ctx.period, ctx.lang), targets=goals,
                 partial=is_running(ctx.cur, ctx.period))


def _attention(ctx: Ctx):
    found = attention.attention(ctx.cur, ctx.unit["unit_id"], ctx.period, limit=ATTENTION_SHOWN)
    return attention_view.panel_body(ctx.cur, found, ctx.lang)


def worst_first(rows: list[dict], column: str = WORST_FIRST[0]) -> list[dict]:
    """Rows lowest first on `column`, those without a value last (as the table sorts them)."""
    return sorted(rows, key=lambda r: (r[column] is None, r[column] if r[column] is not None else 0))


def _children(ctx: Ctx):
    df = compare.children(ctx.cur, ctx.unit["unit_id"], ctx.period)
    if df.empty:
        return common.empty(t("no_children", ctx.lang))
    rows = []
    for row in tables.records(df):
        row = {**tables.shown(row), "name": tables.link(row["name"], unit_href(row["unit_id"], ctx.period))}
        row["band"] = tables.band_column(row["on_time_rate"], ctx.lang)
        rows.append(row)
    columns = child_columns(ctx.lang)
    first = [{"column_id": WORST_FIRST[0], "direction": "desc" if WORST_FIRST[1] else "asc"}]
    return html.Div([
        html.P(t("children_hint", ctx.lang), className="small text-muted mb-1"),
        html.P(sort_note(first, columns, ctx.lang), id="children-sort-note", className="small text-muted mb-2 sort-note"),
        tables.datatable("children-table", columns, worst_first(rows), page_size=12, sort_by=first),
    ])


def child_columns(lang: str) -> list[dict]:
    columns = [tables.column(c, lang) for c in CHILD_COLUMNS]
    columns[0].update(presentation="markdown", name=t("unit", lang))
    columns[1].update(name=t("quick_read", lang))
    return columns


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


def _ranking_rows(df, period: str, lang: str, cur=None) -> list[dict]:
    rows = []
    records = tables.records(df)
    # "Văn phòng" under several departments: the unit column says which (metrics/unit_names.py)
    units = lookups.unit_names(cur, [r["unit_id"] for r in records]) if cur is not None else {}
    for row in records:
        row = {**row, "unit_name": units.get(row["unit_id"], row["unit_name"])}
        flags = (" ★" if row["is_head"] else "") + ("" if row["active"] else f" ({t('inactive', lang)})")
        name = tables.link(text.label(row["full_name"]) + flags, official_href(row["official_id"], period))
        rows.append({**tables.shown({k: row[k] for k in RANKING_COLUMNS}), "full_name": name})
    return rows


def rule_list(cur, items: list[dict], period: str, lang: str, *, limit: int = 50):
    """Rule items as a list with kind icons and links to the unit and official."""
    if not items:
        return common.empty(t("no_rule_items", lang, period=formats.period(period)))
    items = sorted(items, key=lambda i: i["kind"] != "violation")  # violations first, else as given
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
PANELS = {"unit-attention": ("uv-attention", _attention),
          "unit-tiles": ("uv-tiles", _tiles), "unit-children": ("uv-children", _children),
          "unit-tree": ("uv-tree", _tree), "unit-trends": (("uv-trend-rates", "uv-trend-score", "uv-ratings"), _trends),
          "unit-rules": ("uv-rules", _rules)}
panel_callbacks(PANELS, unit_ctx)


@callback(Output("ranking-table", "data"), Output("ranking-table", "page_count"), Output("ranking-count", "children"),
          Output("ranking-sort-note", "children"),
          Input("page-args", "data"), Input("data-version", "data"), Input("ranking-table", "page_current"),
          Input("ranking-table", "sort_by"), Input("ranking-list", "value"), prevent_initial_call=True)
def fill_ranking(args, _version, page, sort_by, which):
    """A new page, sort or list of the ranking, or a new data version (the layout holds the first page)."""
    ctx = unit_ctx(args)
    if ctx is None:
        return [], 1, "", ""
    return ranking(ctx, page, sort_by, which)


def ranking(ctx: Ctx, page, sort_by, which) -> tuple[list[dict], int, str, str]:
    """The subtree's officials (or one list: overdue, not yet evaluated, KHT), one page at a
    time (a city has 150,000), sorted and paged in SQL: each page is one small query, built
    once per data version. Worst first unless the table says otherwise. Returns the table's
    rows and page count, the count line and the sort note."""
    unit_id = ctx.unit["unit_id"]
    which = which if which in attention.LISTS else "all"
    first = _initial_sort(None, which)
    column, descending = first["column_id"], first["direction"] == "desc"
    if sort_by and isinstance(sort_by, list) and isinstance(sort_by[0], dict) \
            and sort_by[0].get("column_id") in attention.LIST_SORTS:
        column, descending = sort_by[0]["column_id"], sort_by[0].get("direction") != "asc"
    shown_sort = [{"column_id": column, "direction": "desc" if descending else "asc"}]
    if which == "all":
        total = cached(ctx.cur, ctx.lang, "unit-ranking-size", ctx.key,
                       lambda: compare.ranking_size(ctx.cur, unit_id, ctx.period))
    else:
        total = cached(ctx.cur, ctx.lang, "unit-list-size", (*ctx.key, which),
                       lambda: attention.officials_list_size(ctx.cur, unit_id, ctx.period, which))
    pages = max(1, -(-total // RANKING_PAGE))
    page = min(max(page if isinstance(page, int) else 0, 0), pages - 1)
    rows = cached(ctx.cur, ctx.lang, "unit-ranking", (*ctx.key, which, column, descending, page),
                  lambda: _ranking_page(ctx, which, column, descending, page))
    count = f"{formats.number(total, ctx.lang)} {t('officials_total', ctx.lang).lower()}"
    return (_ranking_rows(rows, ctx.period, ctx.lang, ctx.cur), pages, count,
            sort_note(shown_sort, ranking_columns(ctx.lang), ctx.lang))


def _ranking_page(ctx: Ctx, which: str, column: str, descending: bool, page: int):
    """One page of the ranking: the plain ranking (one small query, the common case) with each
    row's overdue tasks looked up, or the list query when a list or the overdue column is asked."""
    unit_id, offset = ctx.unit["unit_id"], page * RANKING_PAGE
    if which == "all" and column in compare.RANKING_SORTS:
        rows = compare.officials_ranking(ctx.cur, unit_id, ctx.period, column, descending,
                                         limit=RANKING_PAGE, offset=offset)
        late = attention.overdue_of(ctx.cur, rows["official_id"].tolist())
        return rows.assign(overdue_open=[late.get(o, 0) for o in rows["official_id"]])
    return attention.officials_list(ctx.cur, unit_id, ctx.period, which, sort_by=column, descending=descending,
                                    limit=RANKING_PAGE, offset=offset)


@callback(Output("children-sort-note", "children"), Input("children-table", "sort_by"), prevent_initial_call=True)
def note_children_sort(sort_by):
    """The children table sorts in the browser; the note under its title follows."""
    lang = current_lang()
    return sort_note(sort_by, child_columns(lang), lang)


# Clicking a box opens that unit's page (the unit page re-checks the scope). In the browser
# (assets/25_links.js): plotly reports a click-less clickData as the chart mounts.
clientside_callback(ClientsideFunction("nav", "tree"), Output("nav", "href", allow_duplicate=True),
                    Input("uv-treemap", "clickData"), State("page-args", "data"), prevent_initial_call=True)
