"""Cài đặt `/settings`: the signed-in user's own e-mail digest (address and daily / weekly /
off) and their recent deliveries. Whose subscription it is comes from the server-side user
only; no request field names a user. Admins manage anyone's on the Dữ liệu page."""
import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from flask_login import current_user

from dashboard import audit, db, formats, settings, text
from dashboard.components import common, tables
from dashboard.digests import compose, store
from dashboard.errors import DashboardError
from dashboard.i18n import current_lang, t
from dashboard.metrics import lookups

dash.register_page(__name__, path="/settings", name="nav_settings", order=9, title="Thước đo · Cài đặt",
                   nav=False, roles=("admin", "leader", "analyst", "official"))

SUBSCRIBERS = ("admin", "leader", "analyst")
HISTORY = 10


def layout(**_):
    lang = current_lang()
    checked = settings.current()
    body = [common.header(t("settings_title", lang), lang, subtitle=f"{current_user.username}")]
    if current_user.role not in SUBSCRIBERS:
        body.append(common.empty(t("digest_not_for_role", lang)))
        return html.Div(body, className="settings-page")
    cur = db.cursor()
    sub = store.get(cur, current_user.username)
    unit_id = compose.scope_unit(cur, current_user.role, current_user.unit_id)
    unit = lookups.unit(cur, unit_id) if unit_id else None
    scope_name = text.label(unit["name"]) if unit else formats.DASH
    options = [{"label": t("digest_off", lang), "value": "off"}, {"label": t("digest_daily", lang), "value": "daily"},
               {"label": t("digest_weekly", lang), "value": "weekly"}]
    form = dbc.Card([
        dbc.CardHeader(html.H2(t("digest_title", lang), className="panel-title")),
        dbc.CardBody([
            html.P(t("digest_explain", lang, hour=f"{checked['DIGEST_HOUR']:02d}"), className="small"),
            html.P(t("digest_scope", lang, scope=scope_name), className="small text-muted", id="digest-scope"),
            html.P(t("digest_smtp_off", lang), className="alert alert-warning py-1 px-2 small") if not checked["SMTP_HOST"] else None,
            html.Label(t("digest_email", lang), htmlFor="digest-email", className="form-label fw-semibold"),
            dcc.Input(id="digest-email", type="email", value=sub["email"] if sub else "", maxLength=254,
                      className="form-control mb-3", style={"maxWidth": "26rem"}, autoComplete="email"),
            html.Div(t("digest_frequency", lang), className="form-label fw-semibold", id="digest-frequency-label"),
            dcc.RadioItems(id="digest-frequency", options=options, value=sub["frequency"] if sub else "off",
                           className="mb-3", inputClassName="me-2",
                           labelStyle={"display": "block", "marginBottom": ".35rem"}),
            html.Div([html.Button(t("digest_save", lang), id="digest-save", className="btn btn-primary btn-sm"),
                      html.Span(id="digest-result", className="small ms-2", role="status")]),
        ]),
    ], className="panel mb-3", style={"maxWidth": "48rem"})
    history = common.panel(t("digest_history", lang), "digest-history", lang, min_height=60,
                           content=history_table(cur, current_user.username, lang))
    return html.Div(body + [form, html.Div(history, style={"maxWidth": "48rem"})], className="settings-page")


def delivery_rows(rows: list[dict], lang: str, with_user: bool = False) -> tuple[list[str], list[list]]:
    """(headers, rows) of deliveries, every value plain."""
    heads = ["delivery_at", *(("delivery_username",) if with_user else ()), "delivery_status", "delivery_items",
             "delivery_attempts", "delivery_reason"]
    out = []
    for r in rows:
        status = t(f"delivery_{r['status']}", lang) if r["status"] in store.STATUSES else text.label(r["status"])
        out.append([formats.server_moment(r["at"]), *((text.label(r["username"]),) if with_user else ()), status,
                    formats.number(r["items"] or 0, lang), formats.number(r["attempts"] or 0, lang),
                    text.plain(r["reason"] or r["subject"] or "", text.LINE)])
    return [t(h, lang) for h in heads], out


def history_table(cur, username: str, lang: str):
    rows = store.deliveries(cur, username, HISTORY)
    if not rows:
        return common.empty(t("digest_never", lang))
    heads, body = delivery_rows(rows, lang)
    return html.Div(tables.simple_table(heads, body, "digest-history-table"), className="table-responsive")


@callback(Output("digest-result", "children"), Output("digest-history", "children"),
          Input("digest-save", "n_clicks"), State("digest-email", "value"), State("digest-frequency", "value"),
          prevent_initial_call=True)
def save(_clicks, email, frequency):
    """The signed-in user's own subscription: the user is the session's, never the request's."""
    lang = current_lang()
    cur = db.cursor()
    if current_user.role not in SUBSCRIBERS:
        return t("digest_not_for_role", lang), dash.no_update
    name = current_user.username
    if frequency == "off":
        store.unsubscribe(cur, name)
        audit.record("user_change", target=f"digest:{name}", detail={"action": "unsubscribe"})
    elif frequency in store.FREQUENCIES:
        if store.valid_email(email) is None:
            return t("digest_bad_email", lang), dash.no_update
        try:
            store.subscribe(cur, name, email, frequency, f"user:{name}")
        except DashboardError as exc:
            return str(exc), dash.no_update
        audit.record("user_change", target=f"digest:{name}", detail={"action": "subscribe", "frequency": frequency})
    else:
        return dash.no_update, dash.no_update
    return t("digest_saved", lang), history_table(cur, name, lang)
