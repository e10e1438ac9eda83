"""Dữ liệu `/data` (admins): freshness per source, the ingest ledger, and quarantined rows with reasons."""
import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html
from flask_login import current_user

from dashboard import db, formats, scope
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


@callback(Output("data-freshness", "children"), Output("data-quarantine", "children"), Output("data-ledger", "children"),
          Output("data-examples", "children"), Input("data-version", "data"))
def fill(_version):
    lang = current_lang()
    if not current_user.is_admin:
        scope.denied("page", "/data")
        return (common.empty(t("not_found_body", lang)),) * 4
    cur = db.cursor()
    return cached(cur, lang, "data-page", (), lambda: _build(cur, lang), json_ready=True)
