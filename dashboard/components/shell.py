"""The frame around every page: navigation built from the page registry, language switch,
sign-out, the period picker's navigation and the data-version poll."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html
from flask import session
from flask_login import current_user

from dashboard import db, formats, live, settings
from dashboard.components import search
from dashboard.i18n import current_lang, t
from dashboard.metrics import lookups

ROLE_LABEL = {"admin": ("Quản trị", "Admin"), "leader": ("Lãnh đạo", "Leader"),
              "analyst": ("Phân tích", "Analyst"), "official": ("Cán bộ", "Official")}


def in_menu(page: dict, role: str) -> bool:
    """`nav`: True (everyone who may open the page), a tuple of roles, or False."""
    nav = page.get("nav")
    return role in (page.get("roles", ()) if nav is True else (nav or ()))


def _nav_links(lang: str) -> list:
    links = []
    for page in dash.page_registry.values():
        if in_menu(page, current_user.role):
            links.append(dbc.NavItem(dbc.NavLink(
                t(page["name"], lang), href=page["relative_path"], active="exact",
                id={"type": "navlink", "index": page["relative_path"]})))
    if current_user.role == "official" and current_user.official_id:
        path = f"/official/{current_user.official_id}"
        links.append(dbc.NavItem(dbc.NavLink(t("nav_official", lang), href=path, active="exact",
                                             id={"type": "navlink", "index": path})))
    return links


def _as_of(lang: str) -> html.Span:
    """"Số liệu đến hh:mm dd/mm": the last load of any data; a page of one unit shows its unit's
    instead, and the push moves it when new data arrives (assets/20_live.js)."""
    at = formats.stamp(live.hub().of(None).local_time)
    return html.Span(t("data_as_of", lang) + at, id="data-as-of", className="navbar-text small data-as-of",
                     role="status", **{"data-prefix": t("data_as_of", lang)})


def _user_menu(lang: str) -> html.Div:
    role = ROLE_LABEL[current_user.role][0 if lang == "vi" else 1]
    return html.Div([
        html.Span([html.Span(current_user.username, className="fw-semibold"), " · ", role],
                  className="navbar-text text-light small", id="whoami"),
        dcc.Link(t("nav_settings", lang), href="/settings", className="btn btn-sm btn-outline-light", id="settings-link"),  # digests (pages/settings.py)
        html.A(t("switch_language", lang), href=f"/lang/{'en' if lang == 'vi' else 'vi'}",
               className="btn btn-sm btn-outline-light", id="lang-switch", lang="en" if lang == "vi" else "vi"),
        html.Form([
            dcc.Input(type="hidden", name="csrf_token", value=session.get("csrf", "")),
            html.Button(t("logout", lang), type="submit", className="btn btn-sm btn-light", id="logout-button"),
        ], method="POST", action="/logout", className="d-inline"),
    ], className="user-menu d-flex flex-wrap align-items-center gap-2")


def layout():
    """Built per request: the signed-in user decides the navigation."""
    if not current_user.is_authenticated:  # Dash's start-up check, before anyone signs in
        return html.Div(dash.page_container)
    lang = current_lang()
    poll_ms = settings.current()["POLL_SECONDS"] * 1000
    # Below the xl breakpoint (phones, tablets) the links, search and user menu fold into a menu
    # behind the toggler; the brand and the data's time stay in sight.
    navbar = dbc.Navbar(dbc.Container([
        dbc.NavbarBrand([html.Span("▮", className="brand-mark", **{"aria-hidden": "true"}), t("app_name", lang)],
                        href="/", className="fw-bold"),
        _as_of(lang),
        # Bootstrap's toggler as a plain button: dbc's takes no aria-label
        html.Button(html.Span(className="navbar-toggler-icon"), id="nav-toggler", n_clicks=0, type="button",
                    className="navbar-toggler ms-auto", title=t("menu", lang),
                    **{"aria-label": t("menu", lang), "aria-controls": "nav-collapse"}),
        dbc.Collapse([
            dbc.Nav(_nav_links(lang), navbar=True, className="me-auto"),
            search.box(lang),
            _user_menu(lang),
        ], id="nav-collapse", navbar=True, is_open=False, className="nav-collapse"),
    ], fluid=True, className="shell-bar"), color="primary", dark=True, className="mb-3 shell-nav", expand="xl")
    return html.Div([
        html.A(t("skip_to_content", lang), href="#_pages_content", className="visually-hidden-focusable"),
        navbar,
        html.Main(dbc.Container(dash.page_container, fluid=True, className="page-body"), lang=lang),
        dcc.Location(id="nav", refresh="callback-nav"),
        dcc.Store(id="data-version", data=lookups.data_version(db.cursor())),
        dcc.Store(id="live-follow"),
        dcc.Interval(id="poll", interval=poll_ms),
    ], lang=lang)


# A new period is a new URL (shareable; the pages router re-renders every panel). In the
# browser (assets/25_links.js): the picker sets its value as it mounts, and a server round trip
# for "no change" came after every page's panels.
clientside_callback(ClientsideFunction("nav", "period"), Output("nav", "href"), Input("period-picker", "value"),
                    State("_pages_location", "pathname"), State("page-args", "data"), prevent_initial_call=True)


# The push: a page with a scope follows it (assets/20_live.js).
clientside_callback(ClientsideFunction("live", "follow"), Output("live-follow", "data"), Input("page-args", "data"))

# The poll: ask for the data version of the page's scope while the push is not connected (or
# for the session's sake every tenth time); a 401 means the session ended -> the login page.
clientside_callback(
    """
    async function(n, current) {
        const live = window.__thuocdoLive;
        if (live && live.connected && n % 10 !== 0) { return window.dash_clientside.no_update; }
        const unit = live && live.page === location.pathname + location.search ? live.unit : null;
        const scope = unit ? '?unit=' + encodeURIComponent(unit) : '';
        const r = await fetch('/api/data-version' + scope, {credentials: 'same-origin', headers: {'Accept': 'application/json'}});
        if (r.status === 401 || r.redirected) {
            window.location.href = '/login?next=' + encodeURIComponent(window.location.pathname + window.location.search);
            return window.dash_clientside.no_update;
        }
        if (!r.ok) { return window.dash_clientside.no_update; }
        const body = await r.json();
        const stamp = document.getElementById('data-as-of');
        if (stamp && body.at) { stamp.textContent = (stamp.dataset.prefix || '') + body.at; }
        if (live) {
            if (body.version <= live.known) { return window.dash_clientside.no_update; }
            live.known = body.version;
        }
        return body.version === current ? window.dash_clientside.no_update : body.version;
    }
    """,
    Output("data-version", "data"), Input("poll", "n_intervals"), State("data-version", "data"),
    prevent_initial_call=True,
)

# Navigation keeps the chosen period when moving between pages.
clientside_callback(
    """
    function(search, ids) {
        const period = new URLSearchParams(search || '').get('period');
        return ids.map(id => period ? id.index + '?period=' + encodeURIComponent(period) : id.index);
    }
    """,
    Output({"type": "navlink", "index": ALL}, "href"), Input("_pages_location", "search"),
    State({"type": "navlink", "index": ALL}, "id"),
)

# The phone menu: the toggler opens and closes it, and moving to another page closes it.
clientside_callback(
    """
    function(clicks, pathname, open) {
        const how = (window.dash_clientside.callback_context.triggered[0] || {}).prop_id || '';
        return how.startsWith('nav-toggler') ? !open : false;
    }
    """,
    Output("nav-collapse", "is_open"), Input("nav-toggler", "n_clicks"), Input("_pages_location", "pathname"),
    State("nav-collapse", "is_open"), prevent_initial_call=True,
)
