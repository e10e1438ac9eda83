"""Phân tích `/explore` (analysts, admins): one KPI by a grouping over a period range, as a chart
and a server-side paged, sortable table; CSV and Excel export of exactly that table.
URL: /explore?kpi=&group=&start=YYYY-MM&end=YYYY-MM&units=A,B"""
from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html

from dashboard import db, formats, scope, settings
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
        dbc.Button(t("export_xlsx", lang), id="explore-xlsx", color="primary", outline=True, size="sm", className="me-2"),
        dbc.Button(t("export_csv_machine", lang), id="explore-csv-machine", color="secondary", outline=True, size="sm",
                   title=t("export_csv_machine_help", lang)),  # the old CSV form, for scripts
        dcc.Download(id="explore-download"),
    ])
    return html.Div([
        common.header(t("explore_title", lang), lang),
        dcc.Location(id="explore-url", refresh=False),
        controls,
        common.panel(t("explore_title", lang), "explore-chart", lang, min_height=240),
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
    """Checked arguments, or None (logged and audited, as on every page) when anything names
    what the user may not see or the page cannot ask for: a forged callback gets nothing."""
    if not scope.may_export():  # the page itself is refused to other roles (scope.guard_pages)
        scope.denied("page", "/explore")
        return None
    if kpi not in KPIS or group not in GROUP_LABEL:
        scope.denied("kpi" if kpi not in KPIS else "group", kpi if kpi not in KPIS else group)
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
                  lambda: _distinct_labels(lookups.explore(cur, group, start, end, list(units)), group, lang))


def _shared(df: pd.DataFrame) -> pd.Series:
    """Rows whose label another group (another group_id) also has."""
    names = df.drop_duplicates("group_id")["group"]
    return df["group"].isin(set(names[names.duplicated()]))


def _distinct_labels(df: pd.DataFrame, group: str = "units", lang: str = "vi") -> pd.DataFrame:
    """One label per group, so the chart, the table and the export tell groups apart (and a
    chart never draws two of them as one bar): units that share a name ("Văn phòng" of every
    department) get their parent's name added; the id is the last resort."""
    if group == "counter":
        df = _counter_labels(df, lang)
    clash = _shared(df) & df["parent_name"].notna()
    df = df.assign(group=df["group"].where(~clash, df["group"] + " – " + df["parent_name"].fillna("")))
    clash = _shared(df)
    return df.assign(group=df["group"].where(~clash, df["group"] + " (" + df["group_id"] + ")"))


def _counter_labels(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A counter is one counter of one unit: "Quầy Q01 · Sở Nội vụ". The one-stop office of
    every commune and department has the same name, so its place is its parent's name; a
    unit with a name of its own keeps it. (Rows: group_id "unit_id/counter_id", group
    "counter_id · unit name", parent_name.)"""
    counters = df["group_id"].str.split("/", n=1).str[1].fillna("")
    units = df["group"].str.split(" · ", n=1).str[1]
    named = t("counter", lang) + " " + counters.where(counters != "", formats.DASH)
    by_unit = df.assign(group=named + " · " + units)
    unit_ids = df["group_id"].str.split("/", n=1).str[0]
    per_name = pd.DataFrame({"unit": unit_ids, "name": units}).drop_duplicates().groupby("name")["unit"].count()
    shared = units.map(per_name).fillna(0).gt(1) & df["parent_name"].notna()  # a name more units have
    by_place = df.assign(group=named + " · " + units.where(~shared, df["parent_name"]))
    # Two offices under one parent: the unit and its parent both.
    again = _shared(by_place) & shared
    return df.assign(group=by_place["group"].where(~again, by_unit["group"] + " – " + df["parent_name"].fillna("")),
                     parent_name=None)


def _columns(kpi: str, group: str, lang: str) -> list[tuple[str, str, str | None]]:
    """(id, label, kind) of the table and the export, in order."""
    # By month the rows are units × months: the first column holds the unit, the second the month.
    cols = [("group", t("unit", lang) if group == "month" else _group_label(group, lang), None)]
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


HEATMAP_ROWS = 40  # units in the month grid; more than this is a table's job (below it)
# Volumes (how many), where the biggest come first; for the other KPIs the worst come first.
VOLUMES = ("tasks_due", "tasks_done", "tasks_on_time", "ratings_count")


def _worst_first(df: pd.DataFrame, kpi: str) -> list[str]:
    """The units of a units × months frame, worst first by their mean over the months (an
    order only; no mean is shown), units without any value last."""
    means = df.groupby("group", sort=False)[kpi].mean()
    ascending = kpi not in VOLUMES and kpi != "dissatisfied_count"
    return means.sort_values(ascending=ascending, na_position="last", kind="stable").index.tolist()


def _chart(ordered: pd.DataFrame, kpi: str, group: str, lang: str):
    """Months: a units × months grid of the KPI (worst units on top); anything else: one bar
    per row (a counter within its unit) of the first 40 rows in the table's order."""
    percent = tables.COLUMN_KIND.get(kpi) == "rate"
    if group == "counter" and kpi not in lookups.RATING_KEYS:
        return common.empty(t("counter_needs_ratings", lang))
    if ordered.empty:
        return common.empty(t("no_data", lang))
    if group == "month":
        rows = _worst_first(ordered, kpi)
        note = None
        if len(rows) > HEATMAP_ROWS:
            note = html.P(t("explore_heatmap_cut", lang, n=HEATMAP_ROWS, total=formats.number(len(rows), lang)),
                          className="small text-muted mb-1")
            rows = rows[:HEATMAP_ROWS]
        figure = charts.month_heatmap(ordered, kpi, lang, rows=rows, percent=percent,
                                      z_label=charts.axis_title(kpi, lang), y_label=t("unit", lang))
        # A phone scrolls the grid sideways rather than squeezing a month into a few pixels.
        wide = {"minWidth": f"{charts.heatmap_width(ordered)}px", "height": f"{figure.layout.height}px"}
        return html.Div([note, html.Div(charts.graph("explore-graph", figure, style=wide), className="chart-scroll")])
    return charts.graph("explore-graph", charts.series_chart(
        ordered.head(40), "group", kpi, lang, percent=percent, y_label=charts.axis_title(kpi, lang),
        x_label=_group_label(group, lang)))


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


def _download(kind: str, kpi, group, start, end, units, sort_by, machine: bool = False):
    """The table as a file (CSV for Excel, CSV for software, or Excel), under its header lines."""
    from dashboard.components import export_buttons

    cur, lang = db.cursor(), current_lang()
    req = _request(cur, kpi, group, start, end, units)
    if req is None:
        return dash.no_update, common.empty(t("not_found_body", lang))
    kpi, group, start, end, chosen = req
    df = _frame(cur, lang, req)
    limit = settings.current()["EXPORT_MAX_ROWS"]
    if len(df) > limit:
        return dash.no_update, export_buttons.too_big(len(df), lang)
    columns = _columns(kpi, group, lang)
    rows = _rows(_sorted(df, kpi, sort_by), columns)
    name = f"thuocdo_{kpi}_{group}_{start}_{end}"
    home = lookups.unit(cur, scope.home_unit(cur))
    units_named = ", ".join(export_buttons.unit_scope(u) for u in (lookups.unit(cur, i) for i in chosen) if u)
    head = export_buttons.header(
        f"{t('explore_title', lang)}: {t(kpi, lang)} · {_group_label(group, lang)}",
        export_buttons.unit_scope(home) + (f" · {t('export_units_chosen', lang)}: {units_named}" if units else ""),
        formats.period(start) if start == end else f"{formats.period(start)} – {formats.period(end)}", lang)
    return export_buttons.deliver(kind, name, rows, columns, head,
                                  {"kpi": kpi, "group": group, "start": start, "end": end,
                                   "units": ",".join(chosen), **({"form": "machine"} if machine else {})},
                                  machine=machine), None


@callback(Output("explore-download", "data"), Output("explore-message", "children"),
          Input("explore-csv", "n_clicks"), Input("explore-xlsx", "n_clicks"),
          *(State(c, "value") for c in CONTROLS), State("explore-table", "sort_by"), prevent_initial_call=True)
def download(_csv, _xlsx, kpi, group, start, end, units, sort_by):
    kind = "csv" if dash.ctx.triggered_id == "explore-csv" else "xlsx"
    return _download(kind, kpi, group, start, end, units, sort_by)


@callback(Output("explore-download", "data", allow_duplicate=True),
          Output("explore-message", "children", allow_duplicate=True), Input("explore-csv-machine", "n_clicks"),
          *(State(c, "value") for c in CONTROLS), State("explore-table", "sort_by"), prevent_initial_call=True)
def download_for_software(_clicks, kpi, group, start, end, units, sort_by):
    """The CSV in the old, machine-friendly form (`,`, `.` decimals, rates 0..1, ISO dates)."""
    return _download("csv", kpi, group, start, end, units, sort_by, machine=True)
