"""Dữ liệu `/data` (admins): freshness per source, the ingest ledger, quarantined rows with reasons,
screens and devices, and the audit log (filtered by kind, username and days, newest first)."""
import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from flask_login import current_user

from dashboard import audit, db, formats, labels, scope, settings, text, tokens
from dashboard.errors import DashboardError
from dashboard.callbacks import cached
from dashboard.components import common, tables
from dashboard.i18n import current_lang, t
from dashboard.metrics import lookups
from dashboard.digests import admin_panel as digests_panel

dash.register_page(__name__, path="/data", name="nav_data", order=6, title="Thước đo · Dữ liệu",
                   nav=True, roles=("admin",))


def layout(**_):
    lang = current_lang()
    if not scope.is_admin():
        return common.not_found(lang)
    return html.Div([
        common.header(t("data_title", lang), lang,
                      subtitle=f"{t('updated', lang)}: {formats.server_moment(lookups.data_changed_at(db.cursor()))}"),
        dbc.Row([
            dbc.Col(common.panel(t("freshness", lang), "data-freshness", lang, min_height=200), xxl=6, lg=12),
            dbc.Col(common.panel(t("quarantine", lang), "data-quarantine", lang, min_height=200), xxl=6, lg=12),
        ]),
        common.panel(t("screens", lang), "data-screens", lang, min_height=120),
        _duty_form(lang),
        dcc.Interval(id="data-screens-poll", interval=30_000),
        common.panel(t("ledger", lang), "data-ledger", lang, min_height=200),
        common.panel(t("examples", lang), "data-examples", lang, min_height=120),
        common.panel(t("audit", lang), "data-audit", lang, min_height=200, content=_audit_panel(lang)),
        digests_panel.panel(lang),  # subscriptions and deliveries (dashboard/digests/admin_panel.py)
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
    fresh = [{**r, "source": labels.source(r["source"], lang),
              "latest_record": formats.moment(r["latest_record"]) if r["latest_record"] else formats.DASH,
              "last_loaded": formats.server_moment(r["last_loaded"])}
             for r in lookups.freshness(cur)]
    ledger = [{**r, "started_at": formats.server_moment(r["started_at"]), "message": r["message"] or "",
               "kind": labels.source(r["kind"], lang), "status": labels.load_status(r["status"], lang)}
              for r in lookups.ingest_ledger(cur, limit=200)]
    summary = [{**r, "kind": labels.source(r["kind"], lang)} for r in lookups.quarantine_summary(cur)]
    examples = lookups.quarantine_examples(cur, limit=30)
    return (
        _table("freshness-table", fresh, ["source", "rows_total", "latest_record", "last_loaded", "files", "quarantined"],
               lang, count),
        _table("quarantine-table", summary, ["kind", "reason", "quarantined", "open_rows", "file"], lang, count)
        if summary else common.empty(t("no_quarantine", lang)),
        _table("ledger-table", ledger, ["file", "kind", "status", "rows_read", "loaded", "duplicates", "quarantined",
                                        "started_at", "message"], lang, count),
        _table("examples-table", examples, ["file", "line", "kind", "reason", "detail", "raw"], lang, {"line": "count"})
        if examples else common.empty(t("no_quarantine", lang)),
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
    seen = formats.server_moment
    displays = [[d["name"], d.get("unit_name") or d["unit_id"], seen(d["last_seen_at"]),
                 (d.get("heartbeat") or {}).get("screen") or formats.DASH, _state(d, lang)]
                for d in tokens.list_displays(cur)]
    devices = [[d["name"], d["counter_id"] or formats.DASH, d.get("duty_full_name") or formats.DASH,
                seen(d["last_seen_at"]), formats.number(d["ignored_repeats"], lang), _state(d, lang)]
               for d in tokens.list_devices(cur)]
    return html.Div([
        html.P(t("screens_help", lang), className="small text-muted"),
        tables.simple_table([t(c, lang) for c in ("display_col", "unit_col", "last_seen_col", "screen_col", "state_col")],
                            displays, "screens-table") if displays else common.empty(t("no_displays", lang)),
        tables.simple_table([t(c, lang) for c in ("device_col", "counter_col", "duty_col", "last_seen_col",
                                                 "repeats_col", "state_col")], devices, "devices-table")
        if devices else common.empty(t("no_devices", lang)),
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
    if not isinstance(device, str) or not isinstance(official, str) or not official.strip():
        return t("duty_missing", current_lang())
    try:
        duty = tokens.assign_device(db.cursor(), device, official.strip(), f"user:{current_user.username}")
    except DashboardError as exc:
        return str(exc)
    audit.record("device_change", target=f"device:{device}", detail={"action": "assign", "official": duty["official_id"]})
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


# --- the audit log ------------------------------------------------------------------------------

AUDIT_PAGE = 50
AUDIT_COLUMNS = ("at", "kind", "username", "role", "client", "path", "target", "detail")
AUDIT_LEFT = ("at", "username", "role", "client", "path", "target")  # kind and detail are left-aligned already


def _audit_panel(lang):
    """Filters and an empty table; `fill_audit` serves it a page at a time, admins only."""
    kinds = [{"label": t(f"audit_{k}", lang), "value": k} for k in audit.KINDS]
    field = "form-control form-control-sm"
    filters = html.Div([
        html.Div([html.Label(t("audit_kind", lang), htmlFor="audit-kind", className="form-label small mb-0"),
                  dcc.Dropdown(id="audit-kind", options=kinds, placeholder=t("audit_all_kinds", lang),
                               style={"minWidth": "15rem"})]),
        html.Div([html.Label(t("audit_user", lang), htmlFor="audit-user", className="form-label small mb-0"),
                  dcc.Input(id="audit-user", type="text", maxLength=64, debounce=True, className=field,
                            placeholder=t("audit_user_hint", lang), style={"width": "13rem"})]),
        html.Div([html.Label(t("audit_from", lang), htmlFor="audit-from", className="form-label small mb-0"),
                  dcc.Input(id="audit-from", type="text", maxLength=10, debounce=True, className=field,
                            placeholder="dd/mm/yyyy", style={"width": "8.5rem"})]),
        html.Div([html.Label(t("audit_to", lang), htmlFor="audit-to", className="form-label small mb-0"),
                  dcc.Input(id="audit-to", type="text", maxLength=10, debounce=True, className=field,
                            placeholder="dd/mm/yyyy", style={"width": "8.5rem"})]),
        html.Button(t("audit_refresh", lang), id="audit-refresh", className="btn btn-outline-primary btn-sm"),
        html.Span(id="audit-count", className="small text-muted", role="status"),
    ], className="d-flex flex-wrap gap-2 align-items-end mb-2", id="audit-filters")
    columns = [{"id": c, "name": t(f"audit_{c}_col", lang)} for c in AUDIT_COLUMNS]
    # Plain text only (markdown=False): every cell is shown as typed, whatever it holds.
    table = tables.datatable("audit-table", columns, [], page_size=AUDIT_PAGE, markdown=False,
                             page_action="custom", page_current=0, page_count=1, sort_action="none")
    table.style_cell_conditional = list(table.style_cell_conditional) + [
        {"if": {"column_id": c}, "textAlign": "left"} for c in AUDIT_LEFT] + [
        {"if": {"column_id": "at"}, "minWidth": "150px"}, {"if": {"column_id": "kind"}, "minWidth": "130px"},
        {"if": {"column_id": "detail"}, "minWidth": "240px"}]
    help_text = t("audit_help", lang, days=settings.current()["AUDIT_RETENTION_DAYS"])
    return html.Div([html.P(help_text, className="small text-muted"), filters, table])


def _audit_rows(rows: list[dict], lang: str) -> list[dict]:
    out = []
    for r in rows:
        out.append({
            "at": formats.server_moment(r["at"], seconds=True),
            "kind": t(f"audit_{r['kind']}", lang) if r["kind"] in audit.KINDS else r["kind"],
            "username": r["username"] or formats.DASH, "role": r["role"] or "", "client": r["client"] or "",
            "path": r["path"] or "", "target": r["target"] or "", "detail": audit.detail_line(r["detail"]),
        })
    return [tables.shown(r, text.LINE) for r in out]  # stored plain already; shown plain again whatever the file holds


@callback(Output("audit-table", "data"), Output("audit-table", "page_count"), Output("audit-count", "children"),
          Input("audit-kind", "value"), Input("audit-user", "value"), Input("audit-from", "value"),
          Input("audit-to", "value"), Input("audit-table", "page_current"), Input("audit-refresh", "n_clicks"))
def fill_audit(kind, username, start, end, page, _refresh):
    """The audit log for admins only: checked here, server-side, whatever the request says."""
    lang = current_lang()
    if not current_user.is_admin:
        scope.denied("page", "/data#audit")
        return [], 1, t("not_found_body", lang)
    rows, total, pages = audit.entries(db.cursor(), kind=kind, username=username, start=start, end=end,
                                       page=page, size=AUDIT_PAGE)
    return _audit_rows(rows, lang), pages, t("audit_count", lang, n=formats.number(total, lang))
