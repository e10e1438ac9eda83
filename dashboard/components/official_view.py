"""The official view (Cán bộ page, and an official's own overview): the month's tiles, task score
against the final rating, the tasks due (late first), satisfaction with the latest comments,
and the evaluation timeline (self → review → final, cancellations, re-evaluations)."""
from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_login import current_user

from dashboard import formats, live, scope, text
from dashboard.callbacks import Ctx, official_ctx, panel_callbacks, prefill
from dashboard.components import charts, common, tables
from dashboard.components.tiles import OFFICIAL_TILES, tiles
from dashboard.i18n import t
from dashboard.metrics import lookups, trends
from dashboard.metrics.kpis import official_kpis_with_previous

STAGE_ICON = {"self": "✎", "review": "☰", "final": "✔", "cancel": "✖"}


def layout(cur, official: dict, period: str, lang: str) -> html.Div:
    """The page skeleton, with the panels already built for this data version (see unit_view)."""
    built, names = prefill(Ctx(cur, lang, period, official=official), SHARED_PANELS)
    history, named = prefill(_ViewerCtx(cur, lang, period, official=official), VIEWER_PANELS)
    built, names = {**built, **history}, names + named
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
        dcc.Store(id="page-args", data={"official": official["official_id"], "period": period, "prefilled": names,
                                         **live.page_args(official["unit_id"])}),
        common.loading(html.Div(built.get("ov-tiles"), id="ov-tiles", className="mb-3", style={"minHeight": "110px"})),
        dbc.Row([
            dbc.Col(common.panel(t("score_vs_rating", lang), "ov-scores", lang, min_height=300,
                                 content=built.get("ov-scores")), lg=6),
            dbc.Col(common.panel(t("satisfaction_trend", lang), "ov-satisfaction", lang, min_height=300,
                                 content=built.get("ov-satisfaction")), lg=6),
        ]),
        dbc.Row([
            dbc.Col(common.panel(t("tasks_this_period", lang), "ov-tasks", lang, min_height=160,
                                 content=built.get("ov-tasks")), xxl=7, lg=12),
            dbc.Col(common.panel(t("latest_comments", lang), "ov-comments", lang, min_height=160,
                                 content=built.get("ov-comments")), xxl=5, lg=12),
        ]),
        common.panel(t("eval_history", lang), "ov-history", lang, min_height=120, content=built.get("ov-history")),
    ], className="official-view")


# --- builders ------------------------------------------------------------------------------

def _tiles(ctx: Ctx):
    now, before = official_kpis_with_previous(ctx.cur, ctx.official["official_id"], ctx.period)
    return tiles(now, before, ctx.lang, spec=OFFICIAL_TILES)


def _charts(ctx: Ctx):
    df = trends.official_trend(ctx.cur, ctx.official["official_id"], ctx.period)
    satisfaction = charts.satisfaction(df, ctx.lang)
    return (charts.graph("ov-scores-graph", charts.official_scores(df, ctx.lang)),
            charts.graph("ov-satisfaction-graph", satisfaction) if satisfaction
            else common.empty(t("no_ratings", ctx.lang)))


def _tasks(ctx: Ctx):
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


def _comments(ctx: Ctx):
    rows = lookups.latest_ratings(ctx.cur, ctx.official["official_id"], limit=8)
    if not rows:
        return common.empty(t("no_ratings", ctx.lang))
    lang = ctx.lang
    items = []
    for r in rows:
        level = int(r["level"])
        reason = t("reason_" + r["reason"], lang) if r["reason"] else None
        items.append(html.Li([
            html.Div([html.Span(f"{'●' * level}{'○' * (4 - level)}", className=f"level-dots level-{level}",
                                **{"aria-hidden": "true"}),
                      html.Span(f" {t(f'level_{level}', lang)}", className="fw-semibold"),
                      html.Span(f" · {formats.moment(r['rated_at'])}", className="text-muted small"),
                      html.Span(f" · {t('counter', lang)} {r['counter_id']}", className="text-muted small")
                      if r["counter_id"] else None]),
            html.Div(f"{t('reason', lang)}: {reason}", className="small") if reason else None,
            html.Div(f"“{text.plain(r['comment'], text.FREE, lines=True)}”", className="small fst-italic free-text") if r["comment"] else None,
        ], className="comment-item"))
    return html.Ul(items, className="list-unstyled comment-list mb-0")


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
                 "official-tasks": ("ov-tasks", _tasks), "official-comments": ("ov-comments", _comments)}
# The history names actors, and who may see which name depends on the viewer (_actors).
VIEWER_PANELS = {"official-history": ("ov-history", _history)}
PANELS = {**SHARED_PANELS, **VIEWER_PANELS}
panel_callbacks(SHARED_PANELS, official_ctx)
panel_callbacks(VIEWER_PANELS, _viewer_ctx)
