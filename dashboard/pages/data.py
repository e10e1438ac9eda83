"""Dữ liệu `/data` (admins): freshness per source, the ingest ledger, and quarantined rows with reasons."""
import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from flask_login import current_user

from dashboard import db, formats, scope, text, tokens
from dashboard.errors import DashboardError
from dashboard.callbacks import cached
from dashboard.components import common, tables
from dashboard.i18n import current_lang, t
from dashboard.metrics import lookups

dash.register_page(__name__, path="/data", name="nav_data", order=6, title="Thước đo · Dữ liệu",
                   nav=True, roles=("admin",))


def layout(**_):
    lang = current_lang()
    if not scope.is_admin():
        return common.not_found(lang)
    return html.Div([
        common.header(t("data_title", lang), lang,
                      subtitle=f"{t('updated', lang)}: {formats.moment(lookups.data_changed_at(db.cursor()))}"),
        dbc.Row([
            dbc.Col(common.panel(t("freshness", lang), "data-freshness", lang, min_height=200), xxl=6, lg=12),
            dbc.Col(common.panel(t("quarantine", lang), "data-quarantine", lang, min_height=200), xxl=6, lg=12),
        ]),
        common.panel(t("screens", lang), "data-screens", lang, min_height=120),
        _duty_form(lang),
        dcc.Interval(id="data-screens-poll", interval=30_000),
        common.panel(t("ledger", lang), "data-ledger", lang, min_height=200),
        common.panel(t("examples", lang), "data-examples", lang, min_height=120),
    ])


def _table(table_id, rows, columns, lang, kinds=None, page_size=15):
    kinds = kinds or {}
    cols = [tables.column(c, lang, t(c, lang)) if c in kinds or c in tables.COLUMN_KIND else {"id": c, "name": t(c, lang)}
            for c in columns]
    for col in cols:
        if col["id"] in kinds:
            col.update(type="numeric", format=tables.number_format(kinds[col["id"]], lang))
    # A quarantined row's raw text (and a file's name) is whatever arrived: shown plain, cut at a
    # line's length.
    rows = [tables.shown(r, text.LINE) for r in rows]
    return tables.datatable(table_id, cols, rows, page_size=page_size, markdown=False)


def _build(cur, lang):
    count = {"rows_total": "count", "files": "count", "quarantined": "count", "rows_read": "count",
             "loaded": "count", "duplicates": "count", "open_rows": "count"}
    fresh = [{**r, "latest_record": formats.moment(r["latest_record"]) if r["latest_record"] else formats.DASH,
              "last_loaded": formats.moment(r["last_loaded"]) if r["last_loaded"] else formats.DASH}
             for r in lookups.freshness(cur)]
    ledger = [{**r, "started_at": formats.moment(r["started_at"]), "message": r["message"] or ""}
              for r in lookups.ingest_ledger(cur, limit=200)]
    summary = lookups.quarantine_summary(cur)
    examples = lookups.quarantine_examples(cur, limit=30)
    return (
        _table("freshness-table", fresh, ["source", "rows_total", "latest_record", "last_loaded", "files", "quarantined"],
               lang, count),
        _table("quarantine-table", summary, ["kind", "reason", "quarantined", "open_rows", "file"], lang, count)
        if summary else common.empty(t("none", lang)),
        _table("ledger-table", ledger, ["file", "kind", "status", "rows_read", "loaded", "duplicates", "quarantined",
                                        "started_at", "message"], lang, count),
        _table("examples-table", examples, ["file", "line", "kind", "reason", "detail", "raw"], lang, {"line": "count"})
        if examples else common.empty(t("none", lang)),
    )


def _duty_form(lang):
    """Who is on duty at a device's counter (the queue system can set it too, over the API)."""
    devices = [d["name"] for d in tokens.list_devices(db.cursor()) if d["counter_id"] and not d["revoked_at"]]
    return html.Div([
        html.H2(t("assign_duty", lang), className="h6 mt-2"),
        html.Div([
            dcc.Dropdown(id="duty-device", options=devices, placeholder=t("device_col", lang), style={"minWidth": "14rem"}),
            dcc.Input(id="duty-official", type="text", placeholder=t("official_id_label", lang), maxLength=64,
                      className="form-control", style={"maxWidth": "14rem"}),
            html.Button(t("assign_button", lang), id="duty-assign", className="btn btn-primary btn-sm"),
            html.Span(id="duty-result", className="small", role="status"),
        ], className="d-flex flex-wrap gap-2 align-items-center"),
    ], className="mb-3")


def _state(row: dict, lang: str) -> str:
    if row.get("revoked_at"):
        return t("state_revoked", lang)
    if row.get("kind") == "system":
        return t("state_system", lang)
    return t("state_quiet" if row.get("quiet") else "state_ok", lang)


def _screens(cur, lang):
    seen = lambda v: formats.moment(v) if v else formats.DASH  # noqa: E731
    displays = [[d["name"], d.get("unit_name") or d["unit_id"], seen(d["last_seen_at"]),
                 (d.get("heartbeat") or {}).get("screen") or formats.DASH, _state(d, lang)]
                for d in tokens.list_displays(cur)]
    devices = [[d["name"], d["counter_id"] or formats.DASH, d.get("duty_full_name") or formats.DASH,
                seen(d["last_seen_at"]), formats.number(d["ignored_repeats"], lang), _state(d, lang)]
               for d in tokens.list_devices(cur)]
    return html.Div([
        html.P(t("screens_help", lang), className="small text-muted"),
        tables.simple_table([t(c, lang) for c in ("display_col", "unit_col", "last_seen_col", "screen_col", "state_col")],
                            displays, "screens-table") if displays else common.empty(t("none", lang)),
        tables.simple_table([t(c, lang) for c in ("device_col", "counter_col", "duty_col", "last_seen_col",
                                                 "repeats_col", "state_col")], devices, "devices-table")
        if devices else common.empty(t("none", lang)),
    ])


@callback(Output("data-screens", "children"), Input("data-screens-poll", "n_intervals"), Input("duty-result", "children"))
def fill_screens(_n, _assigned):
    """Heartbeats move without the data: this panel is read on its own timer, never cached."""
    lang = current_lang()
    if not current_user.is_admin:
        scope.denied("page", "/data")
        return common.empty(t("not_found_body", lang))
    return _screens(db.cursor(), lang)


@callback(Output("duty-result", "children"), Input("duty-assign", "n_clicks"), State("duty-device", "value"),
          State("duty-official", "value"), prevent_initial_call=True)
def assign_duty(_clicks, device, official):
    if not current_user.is_admin:
        scope.denied("page", "/data")
        return dash.no_update
    if not isinstance(device, str) or not isinstance(official, str):
        return t("none", current_lang())
    try:
        duty = tokens.assign_device(db.cursor(), device, official.strip(), f"user:{current_user.username}")
    except DashboardError as exc:
        return str(exc)
    return f"{duty['counter_id']}: {duty['full_name']}"


@callback(Output("data-freshness", "children"), Output("data-quarantine", "children"), Output("data-ledger", "children"),
          Output("data-examples", "children"), Input("data-version", "data"))
def fill(_version):
    lang = current_lang()
    if not current_user.is_admin:
        scope.denied("page", "/data")
        return (common.empty(t("not_found_body", lang)),) * 4
    cur = db.cursor()
    return cached(cur, lang, "data-page", (), lambda: _build(cur, lang), json_ready=True)
