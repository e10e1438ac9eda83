"""Cảnh báo `/alerts`: every violation and warning in scope, filterable by rule, kind and unit,
each linking to its unit and official. URL: /alerts?period=YYYY-MM&unit=ID&rule=NAME"""
import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html

from dashboard import db, formats, scope, settings
from dashboard.callbacks import Ctx, cached, unit_ctx
from dashboard.components import common, tables
from dashboard.components.unit_view import official_href, unit_href
from dashboard.i18n import current_lang, t
from dashboard.metrics import lookups, rules

dash.register_page(__name__, path="/alerts", name="nav_alerts", order=4, title="Thước đo · Cảnh báo",
                   nav=True, roles=("admin", "leader", "analyst"))

RULES = rules.VIOLATION_RULES + rules.WARNING_RULES
ROW_KEYS = ("order", "kind", "rule_id", "rule", "unit", "official", "period")


def layout(period=None, unit=None, rule=None, **_):
    lang = current_lang()
    cur = db.cursor()
    p = scope.period(cur, period)
    home = scope.home_unit(cur)
    chosen = scope.unit(cur, unit or home)
    if p is None or chosen is None:
        return common.not_found(lang)
    rule = rule if rule in RULES else None
    filters = dbc.Row([
        dbc.Col([html.Label(t("filter_rule", lang), htmlFor="alerts-rule", className="form-label fw-semibold"),
                 dcc.Dropdown(id="alerts-rule", value=rule, placeholder=t("all_rules", lang),
                              options=[{"label": f"{'✖' if r in rules.VIOLATION_RULES else '⚠'} {t('rule_' + r, lang)}",
                                        "value": r} for r in RULES])], md=5),
        dbc.Col([html.Label(t("filter_unit", lang), htmlFor="alerts-unit", className="form-label fw-semibold"),
                 dcc.Dropdown(id="alerts-unit", value=chosen["unit_id"], clearable=False,
                              options=common.unit_options(cur))], md=5),
    ], className="g-3 mb-3")
    return html.Div([
        common.header(t("alerts_title", lang), lang, periods=lookups.periods(cur), period=p),
        dcc.Store(id="page-args", data={"unit": chosen["unit_id"], "period": p}),
        dcc.Location(id="alerts-url", refresh=False),
        filters,
        dbc.Card([
            dbc.CardHeader([html.H2(t("rule_items", lang), className="panel-title"),
                            html.Span(id="alerts-count", className="small text-muted")],
                           className="d-flex justify-content-between align-items-center"),
            dbc.CardBody(dcc.Loading(tables.server_table("alerts-table", _columns(lang), settings.current()["PAGE_SIZE"]),
                                     delay_show=150)),
        ], className="panel mb-3"),
    ])


def _columns(lang: str) -> list[dict]:
    return [{"id": "kind", "name": t("kind", lang)}, {"id": "rule", "name": t("rule", lang)},
            {"id": "unit", "name": t("unit", lang), "presentation": "markdown"},
            {"id": "official", "name": t("official", lang), "presentation": "markdown"},
            {"id": "period", "name": t("period", lang)}]


def _items(ctx: Ctx) -> list[dict]:
    """The scope's items, with names, sorted violations first; shared by all filters and pages."""
    items = rules.rule_items(ctx.cur, ctx.period, unit_id=ctx.unit["unit_id"])
    units = lookups.unit_names(ctx.cur, [i["unit_id"] for i in items])
    people = lookups.official_names(ctx.cur, [i["official_id"] for i in items])
    rows = []
    ordered = sorted(items, key=lambda i: (i["kind"] != "violation", i["rule"], i["unit_id"], i["official_id"] or ""))
    for n, i in enumerate(ordered):
        rows.append({
            "order": n, "kind": ("✖ " if i["kind"] == "violation" else "⚠ ") + t(i["kind"], ctx.lang),
            "rule_id": i["rule"], "rule": t("rule_" + i["rule"], ctx.lang),
            "unit": tables.link(units.get(i["unit_id"], i["unit_id"]), unit_href(i["unit_id"], ctx.period)),
            "official": tables.link(people.get(i["official_id"], i["official_id"]),
                                    official_href(i["official_id"], ctx.period)) if i["official_id"] else "",
            "period": formats.period(i["period"]),
        })
    return rows


@callback(Output("alerts-table", "data"), Output("alerts-table", "page_count"), Output("alerts-count", "children"),
          Output("alerts-url", "search"),
          Input("page-args", "data"), Input("alerts-unit", "value"), Input("alerts-rule", "value"),
          Input("alerts-table", "page_current"), Input("alerts-table", "sort_by"), Input("data-version", "data"),
          State("alerts-url", "search"))
def fill(args, unit, rule, page, sort_by, _version, search):
    """One page of the scope's items (a city month has thousands), filtered and sorted on the server."""
    ctx = unit_ctx({**(args or {}), "unit": unit}, home_by_default=True)
    if ctx is None:
        return [], 1, t("not_found_body", current_lang()), dash.no_update
    items = cached(ctx.cur, ctx.lang, "alerts-items", ctx.key, lambda: pd.DataFrame(_items(ctx), columns=ROW_KEYS))
    if rule in RULES:
        items = items[items["rule_id"] == rule]
    rows, pages = tables.page_of(items, page, settings.current()["PAGE_SIZE"], sort_by, ("order", False))
    count = f"{formats.number(len(items), ctx.lang)} {t('items', ctx.lang)}" if len(items) else t("no_rule_items", ctx.lang, period=formats.period(ctx.period))
    new_search = f"?period={ctx.period}&unit={ctx.unit['unit_id']}" + (f"&rule={rule}" if rule in RULES else "")
    return (tables.records(rows.drop(columns=["order", "rule_id"])), pages, count,
            new_search if new_search != search else dash.no_update)
