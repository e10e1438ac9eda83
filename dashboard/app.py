"""create_app(config=None): the Flask server, the Dash pages and the login in front of them.

One Dash app per process: Dash keeps its page registry and `dash.callback`s globally.
"""
from __future__ import annotations

import dash
from flask import Flask

from dashboard import api, audit, auth, cache, compress, db, headers, ingest, limits, live, payloads, scope, settings
from dashboard.components import shell
from dashboard.live import display, kiosk
from dashboard.reports import web as reports_web


def create_app(config: dict | None = None) -> dash.Dash:
    """Check the settings, open the database, and build the app; raises DashboardError on bad settings."""
    checked = settings.load(config)
    server = Flask("dashboard", static_folder=None)
    server.config["THUOCDO"] = checked
    db.init_app(server, db.Database(checked["DB_PATH"], checked["MEMORY_LIMIT"]))
    audit.init_app(server)  # its thread writes the audit rows requests queue, in batches
    auth.init_app(server)
    live.init_app(server)  # after auth: its timer goes first, so Server-Timing covers the gate too
    ingest.init_app(server)  # after live: the writer tells the live hub what each commit moved
    cache.init_app(server, checked["CACHE_ENTRIES"])
    compress.init_app(server)  # Dash's scripts and /assets gzipped (code only: nothing secret to guess)
    api.init_app(server)
    reports_web.init_app(server)  # /report/<unit>.pdf: the unit page's monthly report
    kiosk.init_app(server)
    display.init_app(server)
    limits.init_app(server)  # last: its size check is the first hook to run, before the gate reads anything
    app = dash.Dash(
        "dashboard", server=server, use_pages=True, pages_folder="pages",
        suppress_callback_exceptions=True,  # page layouts depend on the user, so no validation layout
        title="Thước đo", update_title=None, serve_locally=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.layout = shell.layout
    scope.guard_pages(dash.page_registry)
    payloads.init_app(app)  # malformed callback bodies: 400, never an exception
    headers.init_app(app)  # last: its hook runs after every other, on every response
    return app
