"""The Dữ liệu page's digests panel (admins): every subscription, a form to subscribe or
unsubscribe anyone, and the delivery log (sent / skipped / failed with the reason), newest first.
Each callback checks the server-side user is an admin, whatever the request says."""
from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html
from flask_login import current_user

from dashboard import audit, db, formats, scope, settings, text
from dashboard.components import common, tables
from dashboard.digests import store
from dashboard.errors import DashboardError
from dashboard.i18n import current_lang, t

LOG_ROWS = 50


def panel(lang: str):
    """The card; its body is filled by `fill` (and again after each change)."""
    field = "form-control form-control-sm"
    options = [{"label": t("digest_daily", lang), "value": "daily"}, {"label": t("digest_weekly", lang), "value": "weekly"},
               {"label": t("digest_off", lang), "value": "off"}]
    form = html.Div([
        html.Div([html.Label(t("digest_admin_user", lang), htmlFor="digests-admin-user", className="form-label small mb-0"),
                  dcc.Input(id="digests-admin-user", type="text", maxLength=64, className=field, style={"width": "12rem"})]),
        html.Div([html.Label(t("digest_email", lang), htmlFor="digests-admin-email", className="form-label small mb-0"),
                  dcc.Input(id="digests-admin-email", type="email", maxLength=254, className=field, style={"width": "16rem"})]),
        html.Div([html.Label(t("digest_frequency", lang), htmlFor="digests-admin-frequency", className="form-label small mb-0"),
                  dcc.Dropdown(id="digests-admin-frequency", options=options, value="daily", clearable=False,
                               style={"minWidth": "11rem"})]),
        html.Button(t("digest_save", lang), id="digests-admin-save", className="btn btn-primary btn-sm"),
        html.Span(id="digests-admin-result", className="small", role="status"),
    ], className="d-flex flex-wrap gap-2 align-items-end mb-3")
    note = None if settings.current()["SMTP_HOST"] else html.P(t("digest_smtp_off", lang), className="alert alert-warning py-1 px-2 small")
    return common.panel(t("digest_admin_title", lang), "digests-admin", lang, min_height=120,
                        content=html.Div([note, form, html.Div(id="digests-admin-tables")]))


def _tables(cur, lang: str):
    subs = store.list_all(cur)
    sub_rows = [[text.label(s["username"]), text.label(s["email"]), t(f"digest_{s['frequency']}", lang),
                 text.label(s["unit_id"] or "") or formats.DASH,
                 formats.server_moment(s["last_sent_at"])] for s in subs]
    from dashboard.pages.settings import delivery_rows
    heads, log_rows = delivery_rows(store.deliveries(cur, limit=LOG_ROWS), lang, with_user=True)
    return html.Div([
        html.H3(t("digest_subscriptions", lang), className="h6"),
        # Scrolls inside the panel on a phone instead of widening the page.
        html.Div(tables.simple_table([t(h, lang) for h in ("digest_admin_user", "digest_email", "sub_frequency",
                                                           "unit_col", "sub_last_sent")], sub_rows,
                                     "digests-subscriptions-table"), className="table-responsive")
        if sub_rows else common.empty(t("none", lang)),
        html.H3(t("digest_history", lang), className="h6 mt-3"),
        html.Div(tables.simple_table(heads, log_rows, "digests-log-table"), className="table-responsive")
        if log_rows else common.empty(t("digest_never", lang)),
    ])


@callback(Output("digests-admin-tables", "children"), Input("data-version", "data"),
          Input("digests-admin-result", "children"))
def fill(_version, _changed):
    lang = current_lang()
    if not current_user.is_admin:
        scope.denied("page", "/data#digests")
        return common.empty(t("not_found_body", lang))
    return _tables(db.cursor(), lang)


@callback(Output("digests-admin-result", "children"), Input("digests-admin-save", "n_clicks"),
          State("digests-admin-user", "value"), State("digests-admin-email", "value"),
          State("digests-admin-frequency", "value"), prevent_initial_call=True)
def save(_clicks, username, email, frequency):
    lang = current_lang()
    if not current_user.is_admin:
        scope.denied("page", "/data#digests")
        return dash.no_update
    if not isinstance(username, str) or not username.strip():
        return t("digest_unknown_user", lang)
    username = username.strip()[:64]
    cur = db.cursor()
    try:
        if frequency == "off":
            store.unsubscribe(cur, username)
        elif frequency in store.FREQUENCIES:
            store.subscribe(cur, username, email or "", frequency, f"user:{current_user.username}")
        else:
            return dash.no_update
    except DashboardError as exc:
        return text.plain(str(exc), text.LINE)
    audit.record("user_change", target=f"digest:{username}",
                 detail={"action": "unsubscribe" if frequency == "off" else "subscribe", "frequency": frequency})
    return t("digest_saved", lang)
