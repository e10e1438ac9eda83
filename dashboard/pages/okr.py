"""OKR `/okr`: the objectives of a unit and the units under it as trees, each key result with
its progress from start to target (live from the KPI it names, or from its latest check-in),
its confidence, and a history chart. URL: /okr?unit=ID&period=YYYY-MM"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, callback, dcc, html

from dashboard import db, formats, live, scope, text
from dashboard.callbacks import Ctx, cached, panel, unit_ctx
from dashboard.components import charts, common
from dashboard.i18n import current_lang, t
from dashboard.metrics import lookups, trends
from dashboard.metrics.definitions import period_range
from dashboard.metrics.kpis import unit_kpis

dash.register_page(__name__, path="/okr", name="nav_okr", order=3, title="Thước đo · OKR",
                   nav=True, roles=("admin", "leader", "analyst"))

RATE_METRICS = {"on_time_rate", "completion_rate", "satisfaction_rate"}


def layout(unit=None, period=None, **_):
    lang = current_lang()
    cur = db.cursor()
    p = scope.period(cur, period)
    chosen = scope.unit(cur, unit or scope.home_unit(cur))
    if p is None or chosen is None:
        return common.not_found(lang)
    picker = html.Div([
        html.Label(t("unit", lang), htmlFor="okr-unit", className="me-2 mb-0 fw-semibold"),
        dcc.Dropdown(id="okr-unit", value=chosen["unit_id"], options=common.unit_options(cur), clearable=False,
                     style={"minWidth": "22rem"}),
    ], className="d-flex align-items-center mb-3")
    return html.Div([
        common.header(t("okr_title", lang), lang, subtitle=chosen["name"], periods=lookups.periods(cur), period=p),
        dcc.Store(id="page-args", data={"unit": chosen["unit_id"], "period": p, **live.page_args(chosen["unit_id"])}),
        picker,
        dbc.Row([
            dbc.Col(common.panel(t("okr_title", lang), "okr-tree", lang, min_height=240), xxl=8, lg=12),
            dbc.Col(common.panel(t("kr_history", lang), "okr-history", lang, min_height=240), xxl=4, lg=12),
        ]),
    ])


def metric_value(metric: str, value, lang: str) -> str:
    if metric in RATE_METRICS:
        return formats.rate(value, lang)
    if metric in ("task_score", "satisfaction_mean") or (isinstance(value, float) and not float(value).is_integer()):
        return formats.number(value, lang, 2 if metric == "satisfaction_mean" else 1)
    return formats.number(value, lang)


def _kr_row(kr: dict, lang: str):
    metric = kr["metric"]
    progress = kr["progress"]
    pct = None if progress is None else round(progress * 100)
    arrow = "↓" if kr["direction"] == "down" else "↑"
    return html.Div([
        html.Div([html.Button(text.plain(kr["title"], text.LINE), id={"type": "okr-kr", "kr": kr["kr_id"]}, n_clicks=0,
                              className="btn btn-link p-0 text-start kr-title"),
                  html.Div(f"{t('metric', lang)}: {t('manual', lang) if metric == 'manual' else t(metric, lang)}",
                           className="small text-muted")]),
        html.Div([
            dbc.Progress(value=pct or 0, label=f"{pct} %" if pct is not None else "–", className="kr-progress",
                         color="primary" if (pct or 0) >= 70 else ("warning" if (pct or 0) >= 40 else "danger")),
            html.Div(f"{metric_value(metric, kr['start_value'], lang)} → "
                     f"{metric_value(metric, kr['value'], lang)} → {arrow} {metric_value(metric, kr['target_value'], lang)}",
                     className="small text-muted kr-values"),
        ]),
        html.Div([html.Div(t("confidence", lang), className="small text-muted"),
                  html.Div(formats.rate(kr["confidence"], lang, 0))]),
        html.Div([html.Div(t("current_value", lang), className="small text-muted"),
                  html.Div(metric_value(metric, kr["value"], lang), className="fw-semibold")]),
    ], className="okr-kr", id=f"kr-{kr['kr_id']}")


def _objective(node: dict, lang: str, period: str):
    """The chosen unit's objectives in full; those of units below as one line each (a city
    has hundreds), linking to that unit's OKR page."""
    if node["depth"] > 0:
        progress = [kr["progress"] for kr in node["key_results"] if kr["progress"] is not None]
        mean = round(100 * sum(progress) / len(progress)) if progress else None
        return html.Div([
            dcc.Link(text.label(node["unit_name"]), href=f"/okr?unit={node['unit_id']}&period={period}", className="fw-semibold"),
            html.Span(f" · {text.plain(node['title'], text.LINE)} · {node['period']}", className="small"),
            dbc.Progress(value=mean or 0, label=f"{mean} %" if mean is not None else "–", className="kr-progress mt-1"),
        ], className="okr-child")
    return html.Div([
        html.Div([html.Span(text.plain(node["title"], text.LINE), className="fw-semibold"),
                  html.Span(f" · {text.label(node['unit_name'])} · {node['period']}", className="small text-muted")]),
        *[_kr_row(kr, lang) for kr in node["key_results"]],
        html.Div([_objective(child, lang, period) for child in node["children"]], className="okr-children mt-2")
        if node["children"] else None,
    ], className="okr-objective")


def _tree(ctx: Ctx):
    roots = lookups.okr_tree(ctx.cur, ctx.unit["unit_id"], ctx.period, max_depth=1)
    if not roots:
        return common.empty(t("no_objectives", ctx.lang))
    return html.Div([html.P(f"{t('period', ctx.lang)} {formats.period(ctx.period)} · "
                            f"{t('pick_kr', ctx.lang)}", className="small text-muted"),
                     *[_objective(node, ctx.lang, ctx.period) for node in roots]])


@callback(Output("okr-tree", "children"), Input("page-args", "data"), Input("data-version", "data"))
def fill_tree(args, _version):
    return panel(unit_ctx(args, home_by_default=True), "okr-tree", _tree)


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
