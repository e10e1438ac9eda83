"""Phân tích `/explore` (analysts, admins): one KPI by a grouping over a period range, as a chart
and a server-side paged, sortable table; CSV and Excel export of exactly that table.
URL: /explore?kpi=&group=&start=YYYY-MM&end=YYYY-MM&units=A,B"""
from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html
from flask_login import current_user

from dashboard import audit, db, export, formats, scope, settings
from dashboard.callbacks import cached
from dashboard.components import charts, common, tables
from dashboard.i18n import current_lang, t
from dashboard.metrics import lookups
from dashboard.metrics.definitions import previous_period

dash.register_page(__name__, path="/explore", name="nav_explore", order=5, title="Thước đo · Phân tích",
                   nav=True, roles=("admin", "analyst"))

log = logging.getLogger("thuocdo.export")
KPIS = ("on_time_rate", "completion_rate", "task_score", "tasks_due", "tasks_done", "tasks_on_time",
        "satisfaction_rate", "satisfaction_mean", "ratings_count", "dissatisfied_count")
GROUP_LABEL = {"units": "group_units", "level_1": "level_n", "level_2": "level_n", "level_3": "level_n",
               "position": "group_position", "counter": "group_counter", "month": "group_month"}
CONTROLS = ("explore-kpi", "explore-group", "explore-start", "explore-end", "explore-units")


def _group_label(group: str, lang: str) -> str:
    return t(GROUP_LABEL[group], lang, n=group[-1]) if group.startswith("level_") else t(GROUP_LABEL[group], lang)


def _control(label: str, control, width: int):
    return dbc.Col([html.Label(label, htmlFor=control.id, className="form-label fw-semibold mb-1"), control], md=width)


def layout(kpi=None, group=None, start=None, end=None, units=None, **_):
    lang = current_lang()
    if not scope.may_export():
        return common.not_found(lang)
    cur = db.cursor()
    periods = lookups.periods(cur)
    end = end if end in periods else scope.period(cur, None)
    start = start if start in periods else previous_period(end, 2)
    chosen = [u for u in (units.split(",") if isinstance(units, str) and units else [])
              if scope.unit(cur, u)]
    period_options = [{"label": formats.period(p), "value": p} for p in periods]
    controls = dbc.Row([
        _control(t("kpi", lang), dcc.Dropdown(id="explore-kpi", value=kpi if kpi in KPIS else "on_time_rate",
                                              options=[{"label": t(k, lang), "value": k} for k in KPIS],
                                              clearable=False), 3),
        _control(t("group_by", lang), dcc.Dropdown(id="explore-group", value=group if group in GROUP_LABEL else "units",
                                                   options=[{"label": _group_label(g, lang), "value": g}
                                                            for g in GROUP_LABEL], clearable=False), 2),
        _control(t("from", lang), dcc.Dropdown(id="explore-start", value=start, options=period_options,
                                               clearable=False), 1),
        _control(t("to", lang), dcc.Dropdown(id="explore-end", value=end, options=period_options,
                                             clearable=False), 1),
        _control(t("units_compare", lang), dcc.Dropdown(id="explore-units", value=chosen, multi=True,
                                                        options=common.unit_options(cur)), 5),
    ], className="g-3 mb-3 explore-controls")
    downloads = html.Div([
        dbc.Button(t("export_csv", lang), id="explore-csv", color="primary", outline=True, size="sm", className="me-2"),
        dbc.Button(t("export_xlsx", lang), id="explore-xlsx", color="primary", outline=True, size="sm"),
        dcc.Download(id="explore-download"),
    ])
    return html.Div([
        common.header(t("explore_title", lang), lang),
        dcc.Location(id="explore-url", refresh=False),
        controls,
        common.panel(t("explore_title", lang), "explore-chart", lang, min_height=340),
        dbc.Card([
            dbc.CardHeader([html.Span(id="explore-count", className="small text-muted"), downloads],
                           className="d-flex justify-content-between align-items-center"),
            dbc.CardBody(dcc.Loading(dash.dash_table.DataTable(
                id="explore-table", columns=[], data=[], page_action="custom", page_current=0,
                page_size=settings.current()["PAGE_SIZE"], sort_action="custom", sort_mode="single", sort_by=[],
                style_table={"overflowX": "auto"}, style_as_list_view=True,
                style_cell={"fontFamily": tables.FONT, "padding": "6px 8px", "textAlign": "right"},
                style_cell_conditional=[{"if": {"column_id": c}, "textAlign": "left", "minWidth": "200px"}
                                        for c in ("group", "period")],
                style_header={"fontWeight": "600", "backgroundColor": "#eef2f7"}), delay_show=150)),
        ], className="panel mb-3"),
        html.Div(id="explore-message", role="status"),
    ])


# --- the query, shared by the table, the chart and the exports -------------------------------

def _request(cur, kpi, group, start, end, units):
    """Checked arguments, or None (logged) when anything names what the user may not see."""
    if kpi not in KPIS or group not in GROUP_LABEL or not scope.may_export():
        return None
    start, end = scope.period(cur, start), scope.period(cur, end)
    chosen = scope.units(cur, units or [])
    if start is None or end is None or chosen is None:
        return None
    home = scope.home_unit(cur)
    if not chosen or group.startswith("level_"):
        base = chosen[:1] if (group.startswith("level_") and len(chosen) == 1) else [home]
        chosen = base if group.startswith("level_") else [
            u["unit_id"] for u in lookups.units_in_scope(cur, home, max_depth=1) if u["depth"] == 1] or [home]
    return kpi, group, min(start, end), max(start, end), tuple(chosen)


def _frame(cur, lang, req) -> pd.DataFrame:
    _kpi, group, start, end, units = req
    return cached(cur, lang, "explore", (group, start, end, units),
                  lambda: _distinct_labels(lookups.explore(cur, group, start, end, list(units))))


def _distinct_labels(df: pd.DataFrame) -> pd.DataFrame:
    """Units that share a name ("Văn phòng" of every department) get their parent's name added,
    so the chart, the table and the export tell them apart."""
    names = df.drop_duplicates("group_id")["group"]
    shared = set(names[names.duplicated()])
    clash = df["group"].isin(shared) & df["parent_name"].notna()
    return df.assign(group=df["group"].where(~clash, df["group"] + " – " + df["parent_name"].fillna("")))


def _columns(kpi: str, group: str, lang: str) -> list[tuple[str, str, str | None]]:
    """(id, label, kind) of the table and the export, in order."""
    cols = [("group", _group_label(group, lang), None)]
    if group == "month":
        cols.append(("period", t("month", lang), None))
    cols.append((kpi, t(kpi, lang), tables.COLUMN_KIND.get(kpi)))
    context = "ratings_count" if kpi in lookups.RATING_KEYS else "tasks_due"
    if context != kpi:
        cols.append((context, t(context, lang), "count"))
    return cols


def _sorted(df: pd.DataFrame, kpi: str, sort_by) -> pd.DataFrame:
    """The table's order: its sort column, else the KPI best first."""
    return tables.sort_frame(df, sort_by, (kpi, kpi != "dissatisfied_count"))


def _rows(df: pd.DataFrame, columns) -> list[dict]:
    """The table's cells, in column order; months read 10/2026."""
    out = tables.records(df[[c for c, _, _ in columns]])
    for row in out:
        if "period" in row:
            row["period"] = formats.period(row["period"])
    return out


def _chart(ordered: pd.DataFrame, kpi: str, group: str, lang: str):
    """Months as lines per unit; anything else as bars of the first 40 rows in the table's order."""
    percent = tables.COLUMN_KIND.get(kpi) == "rate"
    if group == "counter" and kpi not in lookups.RATING_KEYS:
        return common.empty(t("counter_needs_ratings", lang))
    if group == "month":
        months = ordered.assign(month=ordered["period"] + "-01").sort_values("period")
        return charts.graph("explore-graph", charts.series_chart(months, "month", kpi, lang, percent=percent,
                                                                 y_label=t(kpi, lang), color="group"))
    return charts.graph("explore-graph", charts.series_chart(ordered.head(40), "group", kpi, lang, percent=percent,
                                                             y_label=t(kpi, lang)))


@callback(Output("explore-table", "data"), Output("explore-table", "columns"), Output("explore-table", "page_count"),
          Output("explore-chart", "children"), Output("explore-count", "children"), Output("explore-url", "search"),
          *(Input(c, "value") for c in CONTROLS), Input("explore-table", "page_current"),
          Input("explore-table", "sort_by"), Input("data-version", "data"), State("explore-url", "search"))
def fill(kpi, group, start, end, units, page, sort_by, _version, search):
    cur, lang = db.cursor(), current_lang()
    req = _request(cur, kpi, group, start, end, units)
    if req is None:
        return [], [], 0, common.empty(t("not_found_body", lang)), "", dash.no_update
    kpi, group, start, end, chosen = req
    df = _frame(cur, lang, req)
    columns = _columns(kpi, group, lang)
    ordered = _sorted(df, kpi, sort_by)
    size = settings.current()["PAGE_SIZE"]
    rows, pages = tables.slice_page(ordered, page, size)
    rows = [tables.shown(r) for r in _rows(rows, columns)]  # the export keeps the whole names
    table_columns = [tables.column(c, lang, label) if kind else {"id": c, "name": label} for c, label, kind in columns]
    sort_key = tuple((str(c.get("column_id")), str(c.get("direction"))) for c in (sort_by or []) if isinstance(c, dict))
    chart = cached(cur, lang, "explore-chart", (*req, sort_key), lambda: _chart(ordered, kpi, group, lang), json_ready=True)
    count = f"{formats.number(len(df), lang)} {t('rows', lang)}"
    units_arg = ",".join(units or [])
    new_search = f"?kpi={kpi}&group={group}&start={start}&end={end}" + (f"&units={units_arg}" if units_arg else "")
    return (rows, table_columns, pages, chart, count,
            new_search if new_search != search else dash.no_update)


def _download(kind: str, kpi, group, start, end, units, sort_by):
    cur, lang = db.cursor(), current_lang()
    req = _request(cur, kpi, group, start, end, units)
    if req is None:
        return dash.no_update, common.empty(t("not_found_body", lang))
    kpi, group, start, end, _ = req
    df = _frame(cur, lang, req)
    limit = settings.current()["EXPORT_MAX_ROWS"]
    if len(df) > limit:
        return dash.no_update, dbc.Alert(t("export_too_big", lang, n=formats.number(len(df), lang)), color="warning")
    columns = _columns(kpi, group, lang)
    rows = _rows(_sorted(df, kpi, sort_by), columns)
    name = f"thuocdo_{kpi}_{group}_{start}_{end}"
    log.info("export %s: user=%r rows=%d %s", kind, current_user.username, len(rows), name)
    audit.record("export", target=kind, detail={"file": f"{name}.{kind}", "rows": len(rows), "kpi": kpi,
                                                "group": group, "start": start, "end": end,
                                                "units": ",".join(req[4])})
    if kind == "csv":
        return dcc.send_bytes(export.to_csv(rows, columns), f"{name}.csv"), None
    return dcc.send_bytes(export.to_xlsx(rows, columns), f"{name}.xlsx"), None


@callback(Output("explore-download", "data"), Output("explore-message", "children"),
          Input("explore-csv", "n_clicks"), Input("explore-xlsx", "n_clicks"),
          *(State(c, "value") for c in CONTROLS), State("explore-table", "sort_by"), prevent_initial_call=True)
def download(_csv, _xlsx, kpi, group, start, end, units, sort_by):
    kind = "csv" if dash.ctx.triggered_id == "explore-csv" else "xlsx"
    return _download(kind, kpi, group, start, end, units, sort_by)
