"""Downloads of the tables leaders, analysts and admins see: the unit page's units below and
officials ranked, and the OKR list; and the one place every export is logged and audited.

Every download re-checks the unit and period it names against the server-side user
(callbacks.unit_ctx, which logs and audits a refusal), as Phân tích does, so a forged request
for another unit gets the not-found note and no file. Officials have no exports.
"""
from __future__ import annotations

import logging
from datetime import datetime

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from flask_login import current_user

from dashboard import audit, export, formats, scope, settings
from dashboard.callbacks import Ctx, unit_ctx
from dashboard.components import common, tables
from dashboard.i18n import current_lang, t
from dashboard.metrics import compare, okr_list
from dashboard.metrics.definitions import LOCAL_TZ

log = logging.getLogger("thuocdo.export")
ROLES = ("admin", "leader", "analyst")
TITLES = {"children": "export_children", "ranking": "export_ranking", "okr": "export_okr"}
CHILD_COLUMNS = ("unit_id", "name", "officials_total", "tasks_due", "on_time_rate", "completion_rate", "task_score",
                 "overdue_open", "ratings_count", "satisfaction_rate", "pending_evaluations", "violations", "warnings")
RANKING_COLUMNS = ("official_id", "full_name", "position", "unit_id", "unit_name", "tasks_due", "on_time_rate",
                   "completion_rate", "task_score", "overdue_open", "ratings_count", "satisfaction_rate", "satisfaction_mean",
                   "score", "rating")
KINDS = {"on_time_rate": "rate", "completion_rate": "rate", "satisfaction_rate": "rate", "task_score": "score",
         "satisfaction_mean": "score2", "score": "score", "progress": "rate", "objective_progress": "rate",
         "confidence": "rate", "start_value": "number", "value": "number", "target_value": "number"}
LABELS = {"name": "unit", "full_name": "official", "unit_name": "unit", "objective_progress": "progress"}


# --- the buttons -----------------------------------------------------------------------------

def buttons(table: str, lang: str) -> html.Div:
    """CSV (for Excel with Vietnamese settings) and Excel buttons for one table, with their download."""
    return html.Div([
        dbc.Button(t("export_csv", lang), id=f"export-{table}-csv", color="primary", outline=True, size="sm",
                   title=t("export_csv_help", lang), className="me-2"),
        dbc.Button(t("export_xlsx", lang), id=f"export-{table}-xlsx", color="primary", outline=True, size="sm"),
        dcc.Download(id=f"export-{table}-download"),
        html.Div(id=f"export-{table}-message", role="status", className="export-message"),
    ], className="export-buttons d-flex flex-wrap align-items-center gap-1")


def unit_exports(lang: str, detailed: bool) -> dbc.Card:
    """The unit view's downloads: its units below, and (unit page) its officials ranked."""
    rows = [("export_children", "children")] + ([("export_ranking", "ranking")] if detailed else [])
    return dbc.Card([
        dbc.CardHeader(html.H2(t("export_title", lang), className="panel-title")),
        dbc.CardBody([html.Div([html.Span(t(label, lang), className="fw-semibold export-row-label"),
                                buttons(table, lang)], className="export-row d-flex flex-wrap align-items-center gap-2 mb-2")
                      for label, table in rows]),
    ], className="panel mb-3 unit-exports", id="unit-exports")


# --- files ---------------------------------------------------------------------------------

def header(title: str, scope: str, period: str, lang: str) -> export.Header:
    return export.Header(title=title, scope=scope, period=period,
                         exported_at=datetime.now(LOCAL_TZ).replace(tzinfo=None), lang=lang)


def unit_scope(unit: dict) -> str:
    return f"{unit['name']} ({unit['unit_id']})"


def deliver(kind: str, name: str, rows: list[dict], columns, head: export.Header, detail: dict, *,
            machine: bool = False):
    """The file for dcc.Download, logged and written to the audit log (file, rows, `detail`)."""
    log.info("export %s: user=%r rows=%d %s", kind, current_user.username, len(rows), name)
    audit.record("export", target=kind, detail={"file": f"{name}.{kind}", "rows": len(rows), **detail})
    if kind == "csv":
        return dcc.send_bytes(export.to_csv(rows, columns, head, machine=machine), f"{name}.csv")
    return dcc.send_bytes(export.to_xlsx(rows, columns, head), f"{name}.xlsx")


def too_big(n: int, lang: str):
    return dbc.Alert(t("export_too_big", lang, n=formats.number(n, lang)), color="warning", className="py-1 my-1")


def _columns(keys, lang: str) -> list[tuple[str, str, str | None]]:
    return [(k, t(LABELS.get(k, k), lang), KINDS.get(k) or tables.COLUMN_KIND.get(k)) for k in keys]


def _records(df) -> list[dict]:
    return tables.records(df)


def children_rows(ctx: Ctx) -> tuple[list[dict], list]:
    """The units below, worst on-time rate first (no tasks due last), as the table opens."""
    from dashboard.components.unit_view import worst_first

    rows = worst_first(_records(compare.children(ctx.cur, ctx.unit["unit_id"], ctx.period)))
    return rows, _columns(CHILD_COLUMNS, ctx.lang)


def ranking_rows(ctx: Ctx, which, sort_by, limit: int) -> tuple[list[dict] | None, list, int]:
    """The whole ranking (or list: overdue, pending, KHT) in the table's order, as the unit
    page resolves it (None when over `limit` rows), and its size."""
    from dashboard.components.unit_view import _initial_sort
    from dashboard.metrics import attention

    which = which if which in attention.LISTS else "all"
    first = _initial_sort(None, which)
    column, descending = first["column_id"], first["direction"] == "desc"
    if isinstance(sort_by, list) and sort_by and isinstance(sort_by[0], dict) \
            and sort_by[0].get("column_id") in attention.LIST_SORTS:
        column, descending = sort_by[0]["column_id"], sort_by[0].get("direction") != "asc"
    size = attention.officials_list_size(ctx.cur, ctx.unit["unit_id"], ctx.period, which)
    if size > limit:
        return None, [], size
    df = attention.officials_list(ctx.cur, ctx.unit["unit_id"], ctx.period, which, sort_by=column,
                                  descending=descending)
    return _records(df), _columns(RANKING_COLUMNS, ctx.lang), size


OKR_COLUMNS = ("unit_id", "unit_name", "objective_id", "objective", "objective_period", "objective_status",
               "objective_progress", "owner", "kr_id", "key_result", "metric", "unit_of_measure", "start_value",
               "value", "target_value", "progress", "kr_status", "confidence")
_OKR_LABELS = {"objective": "objective", "objective_period": "period", "owner": "okr_in_charge",
               "key_result": "key_result", "start_value": "start_value", "value": "current_value",
               "target_value": "target_value", "metric": "metric", "kr_status": "kr_status",
               "objective_status": "objective_status", "unit_of_measure": "unit_of_measure", "confidence": "confidence"}


def okr_rows(ctx: Ctx, objectives: list[dict], status_filter, sort) -> tuple[list[dict], list]:
    """One row per key result (an objective without any: one row), in the page's order and filter;
    values of rate KPIs in % (their unit says so)."""
    from dashboard.pages.okr import RATE_METRICS, objective_period, status_label

    lang, rows = ctx.lang, []
    for o in okr_list.ordered(objectives, status_filter, sort):
        base = {"unit_id": o["unit_id"], "unit_name": o["unit_name"], "objective_id": o["objective_id"],
                "objective": o["title"], "objective_period": objective_period(o["period"], lang),
                "objective_status": status_label(o["status"], lang), "objective_progress": o["progress"],
                "owner": (o["head"] or {}).get("full_name")}
        for kr in o["key_results"] or [None]:
            if kr is None:
                rows.append(base)
                continue
            scale = 100 if kr["metric"] in RATE_METRICS else 1
            values = {k: None if kr[k] is None else kr[k] * scale for k in ("start_value", "value", "target_value")}
            rows.append({**base, "kr_id": kr["kr_id"], "key_result": kr["title"],
                         "metric": t("manual", lang) if kr["metric"] == "manual" else t(kr["metric"], lang),
                         "unit_of_measure": "%" if scale == 100 else "", **values, "progress": kr["progress"],
                         "kr_status": status_label(kr["status"], lang), "confidence": kr["confidence"]})
    columns = [(k, t(_OKR_LABELS.get(k, LABELS.get(k, k)), lang), KINDS.get(k)) for k in OKR_COLUMNS]
    return rows, columns


# --- callbacks ---------------------------------------------------------------------------------

def _checked(args) -> Ctx | None:
    """The checked unit and period for an export, or None (refused, logged and audited)."""
    if getattr(current_user, "role", None) not in ROLES:
        scope.denied("export", (args or {}).get("unit") if isinstance(args, dict) else args)
        return None
    return unit_ctx(args, home_by_default=False)


def _refused(lang: str):
    return dash.no_update, common.empty(t("not_found_body", lang))


def _kind(table: str) -> str:
    return "csv" if dash.ctx.triggered_id == f"export-{table}-csv" else "xlsx"


@callback(Output("export-children-download", "data"), Output("export-children-message", "children"),
          Input("export-children-csv", "n_clicks"), Input("export-children-xlsx", "n_clicks"),
          State("page-args", "data"), prevent_initial_call=True)
def download_children(_csv, _xlsx, args):
    ctx = _checked(args)
    if ctx is None:
        return _refused(current_lang())
    rows, columns = children_rows(ctx)
    name = f"thuocdo_don_vi_truc_thuoc_{ctx.unit['unit_id']}_{ctx.period}"
    head = header(t("export_children", ctx.lang), unit_scope(ctx.unit), formats.period(ctx.period), ctx.lang)
    return deliver(_kind("children"), name, rows, columns, head,
                   {"table": "children", "unit": ctx.unit["unit_id"], "period": ctx.period}), None


@callback(Output("export-ranking-download", "data"), Output("export-ranking-message", "children"),
          Input("export-ranking-csv", "n_clicks"), Input("export-ranking-xlsx", "n_clicks"),
          State("page-args", "data"), State("ranking-list", "value"), State("ranking-table", "sort_by"),
          prevent_initial_call=True)
def download_ranking(_csv, _xlsx, args, which, sort_by):
    from dashboard.metrics.attention import LISTS

    which = which if isinstance(which, str) and which in LISTS else "all"
    ctx = _checked(args)
    if ctx is None:
        return _refused(current_lang())
    rows, columns, size = ranking_rows(ctx, which, sort_by, settings.current()["EXPORT_MAX_ROWS"])
    if rows is None:
        return dash.no_update, too_big(size, ctx.lang)
    name = f"thuocdo_xep_hang_can_bo_{ctx.unit['unit_id']}_{ctx.period}"
    head = header(t("export_ranking", ctx.lang), unit_scope(ctx.unit), formats.period(ctx.period), ctx.lang)
    return deliver(_kind("ranking"), name, rows, columns, head,
                   {"table": "ranking", "unit": ctx.unit["unit_id"], "period": ctx.period,
                    "list": which}), None


@callback(Output("export-okr-download", "data"), Output("export-okr-message", "children"),
          Input("export-okr-csv", "n_clicks"), Input("export-okr-xlsx", "n_clicks"),
          State("page-args", "data"), State("okr-status", "value"), State("okr-sort", "value"),
          prevent_initial_call=True)
def download_okr(_csv, _xlsx, args, status_filter, sort):
    from dashboard.pages.okr import objectives

    ctx = _checked(args)
    if ctx is None:
        return _refused(current_lang())
    status_filter = status_filter if status_filter in okr_list.FILTERS else "all"
    sort = sort if sort in okr_list.SORTS else "status"
    rows, columns = okr_rows(ctx, objectives(ctx), status_filter, sort)
    name = f"thuocdo_okr_{ctx.unit['unit_id']}_{ctx.period}"
    head = header(t("export_okr", ctx.lang), unit_scope(ctx.unit), formats.period(ctx.period), ctx.lang)
    return deliver(_kind("okr"), name, rows, columns, head,
                   {"table": "okr", "unit": ctx.unit["unit_id"], "period": ctx.period, "status": status_filter,
                    "sort": sort}), None
