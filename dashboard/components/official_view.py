"""The official view (Cán bộ page, and an official's own overview): the month's tiles, task score
against the final rating, the tasks due (late first), satisfaction with the month's citizen
feedback (a paged list filterable by level and counter, with comments), and the evaluation
timeline (self → review → final, cancellations, re-evaluations)."""
from __future__ import annotations

from dataclasses import dataclass

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html
from flask_login import current_user

from dashboard import formats, live, scope, text
from dashboard.callbacks import Ctx, cached, fill, official_ctx, panel_callbacks
from dashboard.components import charts, common, elsewhere, tables
from dashboard.components.tiles import OFFICIAL_TILES, tiles
from dashboard.i18n import current_lang, t
from dashboard.metrics import feedback, lookups, trends
from dashboard.metrics.kpis import official_kpis_with_previous
from dashboard.metrics.periods import is_running

STAGE_ICON = {"self": "✎", "review": "☰", "final": "✔", "cancel": "✖"}


def layout(cur, official: dict, period: str, lang: str) -> html.Div:
    """The whole page, its panels and the feedback's first page included (see unit_view)."""
    ctx = Ctx(cur, lang, period, official=official)
    following = live.page_args(official["unit_id"])  # before the panels (see unit_view)
    built = {**fill(ctx, SHARED_PANELS), **fill(_ViewerCtx(cur, lang, period, official=official), VIEWER_PANELS)}
    if current_user.role == "official":  # officials cannot open unit pages: plain text, no links
        trail = html.Nav(html.Ol([html.Li(text.label(official["unit_name"]), className="breadcrumb-item")], className="breadcrumb mb-1"),
                         id="breadcrumbs", **{"aria-label": "breadcrumb"})
    else:
        crumbs = lookups.breadcrumbs(cur, official["unit_id"], top=scope.scope_root())
        trail = common.crumbs(crumbs + [{"unit_id": "", "name": official["full_name"]}], period)
    badges = [text.plain(official["position"], text.LINE)]
    if official["is_head"]:
        badges.append(" · ★ " + t("head", lang))
    if not official["active"]:
        badges.append(f" · ({t('inactive', lang)})")
    return html.Div([
        common.header(official["full_name"], lang, subtitle=[f"{text.plain(official['unit_name'], text.LINE)} · ", *badges],
                      breadcrumbs=trail, periods=lookups.periods(cur), period=period),
        dcc.Store(id="page-args", data={"official": official["official_id"], "period": period, **following}),
        common.loading(html.Div(built.get("ov-tiles"), id="ov-tiles", className="mb-3", style={"minHeight": "110px"})),
        dbc.Row([
            dbc.Col(common.panel(t("score_vs_rating", lang), "ov-scores", lang, min_height=300,
                                 content=built.get("ov-scores")), lg=6),
            dbc.Col(common.panel(t("satisfaction_trend", lang), "ov-satisfaction", lang, min_height=300,
                                 content=built.get("ov-satisfaction")), lg=6),
        ]),
        dbc.Row([
            dbc.Col(common.panel(t("tasks_this_period", lang), "ov-tasks", lang, min_height=160,
                                 content=built.get("ov-tasks")), xxl=6, lg=12),
            dbc.Col(_feedback_panel(period, lang, feedback_page(ctx, None, None, 0)), xxl=6, lg=12),
        ]),
        common.panel(t("eval_history", lang), "ov-history", lang, min_height=120, content=built.get("ov-history")),
    ], className="official-view")


# --- builders ------------------------------------------------------------------------------

def _tiles(ctx: Ctx):
    now, before = official_kpis_with_previous(ctx.cur, ctx.official["official_id"], ctx.period)
    return tiles(now, before, ctx.lang, spec=OFFICIAL_TILES, partial=is_running(ctx.cur, ctx.period))


def _charts(ctx: Ctx):
    df = trends.official_trend(ctx.cur, ctx.official["official_id"], ctx.period)
    satisfaction = charts.satisfaction(df, ctx.lang)
    return (charts.graph("ov-scores-graph", charts.official_scores(df, ctx.lang)),
            charts.graph("ov-satisfaction-graph", satisfaction) if satisfaction
            else common.empty(t("no_ratings", ctx.lang)))


def _tasks(ctx: Ctx):
    if (elsewhere_note := elsewhere.detail_elsewhere(ctx.cur, ctx.lang)) is not None:  # rollups-only server
        return elsewhere_note
    rows = lookups.official_tasks(ctx.cur, ctx.official["official_id"], ctx.period)
    if not rows:
        return common.empty(t("no_tasks", ctx.lang))
    lang = ctx.lang
    body = []
    for r in rows:
        late = bool(r["late"])
        status = t("status_" + r["status"], lang)
        body.append([
            html.Span(t("late", lang), className="badge late-badge") if late else "",
            text.plain(r["title"], text.LINE), formats.day(r["due_at"]), formats.day(r["completed_at"]), status,
            formats.number(r["quality_failures"], lang),
        ])
    return tables.simple_table(["", t("task", lang), t("due_at", lang), t("completed_at", lang),
                                t("status", lang), t("quality_failures", lang)], body,
                               table_id="tasks-table", className="tasks-table")



def _viewer() -> tuple:
    """What decides which actors a viewer may see by name (the cache key of the history)."""
    u = current_user
    return ("official", u.official_id) if u.role == "official" else ("scope", scope.scope_root(u))


@dataclass(frozen=True)
class _ViewerCtx(Ctx):
    """A Ctx whose panels differ by viewer, not only by target: cached per viewer scope."""

    @property
    def key(self) -> tuple:
        return (*super().key, *_viewer())


def _viewer_ctx(args) -> _ViewerCtx | None:
    ctx = official_ctx(args)
    return ctx and _ViewerCtx(ctx.cur, ctx.lang, ctx.period, official=ctx.official)


def _actors(cur, official: dict, actor_ids, names: dict, lang: str) -> dict[str, str]:
    """{actor_id: what this viewer sees}: the name of an actor they may open (inside their
    scope; an official sees only themselves), else a role title, never a name or an id
    (dashboard/README.md, Access). Admins and city-wide analysts see every name."""
    kind, who = _viewer()  # who: the official viewing, or the leader's scope root (None: all)
    units = lookups.official_units(cur, actor_ids)
    # The place in the tree an actor is "above" of: the leader's scope, or the official's unit.
    reference = official["unit_id"] if kind == "official" else who
    out = {}
    for actor in actor_ids:
        unit = units.get(actor)
        if kind == "official":
            visible = actor == who
        else:
            visible = who is None or (unit is not None and lookups.is_in_scope(cur, who, unit))
        if visible:
            out[actor] = text.label(names.get(actor) or actor)
        else:
            above = unit is not None and lookups.is_in_scope(cur, unit, reference)
            out[actor] = t("actor_above" if above else "actor_other", lang)
    return out


def _history(ctx: Ctx):
    if (elsewhere_note := elsewhere.detail_elsewhere(ctx.cur, ctx.lang)) is not None:  # rollups-only server
        return elsewhere_note
    rows = lookups.evaluation_history(ctx.cur, ctx.official["official_id"])
    if not rows:
        return common.empty(t("no_evaluations", ctx.lang))
    lang = ctx.lang
    actors = _actors(ctx.cur, ctx.official, {r["actor_id"] for r in rows if r["actor_id"]},
                     {r["actor_id"]: r["actor_name"] for r in rows if r["actor_id"]}, lang)
    periods: dict[str, list] = {}
    for r in rows:
        periods.setdefault(r["period"], []).append(r)
    blocks = []
    for period, events in periods.items():
        steps = []
        for e in events:
            label = [html.Span(STAGE_ICON.get(e["stage"], "•"), className="stage-icon", **{"aria-hidden": "true"}),
                     html.Span(t("stage_" + e["stage"], lang), className="fw-semibold")]
            if e["rating"]:
                label.append(f" · {e['rating']}")
            if e["score"] is not None:
                label.append(f" ({formats.score(e['score'], lang)})")
            if e["is_current"]:
                label.append(html.Span(f" {t('current_result', lang)}", className="badge text-bg-primary ms-1"))
            who = actors.get(e["actor_id"], "")
            steps.append(html.Li([
                html.Div(label),
                html.Div(f"{formats.moment(e['acted_at'])}{' · ' + who if who else ''}", className="small text-muted"),
                html.Div(text.plain(e["note"], text.FREE, lines=True), className="small fst-italic free-text")
                if e["note"] else None,
            ], className=f"timeline-step stage-{e['stage']}"))
        blocks.append(html.Div([html.H3(formats.period(period), className="timeline-period"),
                                html.Ol(steps, className="timeline list-unstyled")], className="timeline-block"))
    return html.Div(blocks, className="timeline-wrap")


# --- callbacks -----------------------------------------------------------------------------

# name (cache key) -> (output id(s), builder): one callback each, and what a layout may prefill.
SHARED_PANELS = {"official-tiles": ("ov-tiles", _tiles), "official-charts": (("ov-scores", "ov-satisfaction"), _charts),
                 "official-tasks": ("ov-tasks", _tasks)}
# The history names actors, and who may see which name depends on the viewer (_actors).
VIEWER_PANELS = {"official-history": ("ov-history", _history)}
PANELS = {**SHARED_PANELS, **VIEWER_PANELS}
panel_callbacks(SHARED_PANELS, official_ctx)
panel_callbacks(VIEWER_PANELS, _viewer_ctx)


# --- citizen feedback: the period's ratings, paged, filterable by level and counter ----------

FEEDBACK_PAGE = 10
NO_COUNTER = "-"  # the counter filter's value for ratings that name no counter
LEVELS = ("4", "3", "2", "1")  # dropdown values are text (payloads.py checks a value's type)


def _dots(level: int) -> str:
    return f"{'●' * level}{'○' * (4 - level)}"


def _labelled(control, label: str):
    """A filter with its label for screen readers (the placeholder says what it holds)."""
    return html.Div([html.Label(label, htmlFor=control.id, className="visually-hidden"), control],
                    className="feedback-filter")


def _feedback_panel(period: str, lang: str, first: tuple):
    """The card: filters, the count, and a DataTable the callback below fills a page at a time
    (`first`: feedback_page's answer for the first page, unfiltered)."""
    rows, pages, count, counters = first
    filters = html.Div([
        _labelled(dcc.Dropdown(id="ov-feedback-level", placeholder=t("feedback_all_levels", lang), clearable=True,
                               options=[{"label": f"{_dots(int(v))} {t('level_' + v, lang)}", "value": v}
                                        for v in LEVELS]), t("feedback_level_filter", lang)),
        _labelled(dcc.Dropdown(id="ov-feedback-counter", placeholder=t("feedback_all_counters", lang), clearable=True,
                               options=counters), t("feedback_counter_filter", lang)),
        html.Span(count, id="ov-feedback-count", className="small text-muted feedback-count", role="status"),
    ], className="feedback-filters")
    columns = [{"id": "rated_at", "name": t("rated_at", lang)}, {"id": "level", "name": t("level", lang)},
               {"id": "counter", "name": t("counter", lang)}, {"id": "reason", "name": t("reason", lang)},
               {"id": "comment", "name": t("comment", lang)}]
    table = dash.dash_table.DataTable(
        id="ov-feedback-table", columns=columns, data=rows, page_action="custom", page_current=0,
        page_size=FEEDBACK_PAGE, page_count=pages, style_as_list_view=True, style_table={"overflowX": "auto"},
        style_cell={"fontFamily": tables.FONT, "padding": "6px 8px", "textAlign": "left", "whiteSpace": "normal",
                    "height": "auto", "verticalAlign": "top"},
        style_cell_conditional=[{"if": {"column_id": "rated_at"}, "width": "9.5rem", "whiteSpace": "nowrap"},
                                {"if": {"column_id": "level"}, "width": "10rem", "whiteSpace": "nowrap"},
                                {"if": {"column_id": "counter"}, "width": "4.5rem"},
                                {"if": {"column_id": "comment"}, "minWidth": "14rem"}],
        # Levels 1 and 2 (dissatisfied, neutral) read in the "worse" colour, beside their dots and words.
        style_data_conditional=[{"if": {"filter_query": '{level} contains "○○"', "column_id": "level"},
                                 "color": "#a33a00"}, {"if": {"column_id": "comment"}, "fontStyle": "italic"}],
        style_header={"fontWeight": "600", "backgroundColor": "#eef2f7"})
    return dbc.Card([
        dbc.CardHeader(html.H2(f"{t('feedback_title', lang)} {formats.period(period)}", className="panel-title")),
        dbc.CardBody([filters, common.loading(table)]),
    ], className="panel mb-3 feedback-panel")


def _feedback_rows(df, lang: str) -> list[dict]:
    """A page of ratings as table rows: every text from the data plain (dashboard/text.py)."""
    rows = []
    for r in df.itertuples(index=False):
        level = int(r.level)
        rows.append({
            "rated_at": formats.moment(r.rated_at),
            "level": f"{_dots(level)} {t(f'level_{level}', lang)}",
            "counter": text.plain(r.counter_id, text.LABEL) if isinstance(r.counter_id, str) else formats.DASH,
            "reason": t("reason_" + r.reason, lang) if isinstance(r.reason, str) and r.reason else "",
            "comment": text.plain(r.comment, text.FREE) if isinstance(r.comment, str) else "",
        })
    return rows


@callback(Output("ov-feedback-table", "data"), Output("ov-feedback-table", "page_count"),
          Output("ov-feedback-count", "children"), Output("ov-feedback-counter", "options"),
          Input("page-args", "data"), Input("data-version", "data"), Input("ov-feedback-level", "value"),
          Input("ov-feedback-counter", "value"), Input("ov-feedback-table", "page_current"), prevent_initial_call=True)
def fill_feedback(args, _version, level, counter, page):
    """A filter, a page or a new data version (the layout holds the first page, unfiltered)."""
    ctx = official_ctx(args)
    if ctx is None:
        return [], 1, t("not_found_body", current_lang()), []
    return feedback_page(ctx, level, counter, page)


def feedback_page(ctx: Ctx, level, counter, page) -> tuple[list[dict], int, str, list[dict]]:
    """The period's ratings of the official the page shows (checked against the user, as every
    panel), read once per data version of the official's unit, then filtered and paged here.
    A level or counter that is not among the choices counts as no filter. Returns the table's
    rows and page count, the count line and the counter filter's options."""
    lang, official_id = ctx.lang, ctx.official["official_id"]
    month = cached(ctx.cur, lang, "official-feedback", ctx.key,
                   lambda: feedback.official_ratings(ctx.cur, official_id, ctx.period), unit_id=ctx.scope_unit)
    counters = sorted({c for c in month["counter_id"] if isinstance(c, str)})
    options = [{"label": text.label(c), "value": c} for c in counters]
    if month["counter_id"].isna().any():
        options.append({"label": t("feedback_no_counter", lang), "value": NO_COUNTER})
    level = int(level) if level in LEVELS else None
    counter = counter if counter in counters or counter == NO_COUNTER else None
    shown = feedback.filtered(month, level, counter, NO_COUNTER)
    pages = max(1, -(-len(shown) // FEEDBACK_PAGE))
    page = min(max(page if isinstance(page, int) else 0, 0), pages - 1)
    rows = _feedback_rows(shown.iloc[page * FEEDBACK_PAGE:(page + 1) * FEEDBACK_PAGE], lang)
    period = formats.period(ctx.period)
    if month.empty:
        count = elsewhere.detail_elsewhere(ctx.cur, lang) or t("feedback_none", lang, period=period)
    else:
        n = formats.number(len(shown), lang)
        if len(shown) != len(month):
            n = f"{n}/{formats.number(len(month), lang)}"
        count = t("feedback_count", lang, n=n, period=period)
    return rows, pages, count, options
