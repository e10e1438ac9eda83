"""Request body limits per route: 413 from the headers, before a byte of the body is read.

- `/login` takes a username, a password and a token: 16 KiB, so no one makes the server read,
  parse or hash megabytes without a session.
- Dash callbacks (`/_dash-update-component`): 1 MiB, far above the largest real callback body.
- The ingestion API (`/api/v1/…`): API_MAX_BYTES, the limit its documentation promises.
- Everything else (logout, heartbeats, forms): 64 KiB.

A declared Content-Length over the limit is refused at once. A body without one (chunked) is
bounded too: at most one byte past the limit is read before the 413. And waitress itself
refuses anything over `server_cap()` before the app sees it: it buffers a request's whole body
before calling the app, so its cap bounds what a client can make it hold.
"""
from __future__ import annotations

from typing import Any, Mapping

from flask import Flask, jsonify, request

from dashboard import settings

LOGIN_MAX_BYTES = 16 * 1024
CALLBACK_MAX_BYTES = 1024 * 1024
OTHER_MAX_BYTES = 64 * 1024


def limit_for(path: str, checked: Mapping[str, Any]) -> int:
    """The largest body `path` accepts, in bytes."""
    if path.startswith("/api/v1/"):
        return checked["API_MAX_BYTES"]
    if path == "/_dash-update-component":
        return CALLBACK_MAX_BYTES
    if path == "/login":
        return LOGIN_MAX_BYTES
    return OTHER_MAX_BYTES


def server_cap(checked: Mapping[str, Any]) -> int:
    """waitress's own limit (max_request_body_size): above every route's, with room to spare so
    that a route's limit, not a dropped connection, is what a slightly-too-large request meets."""
    return 4 * max(checked["API_MAX_BYTES"], CALLBACK_MAX_BYTES)


def _check_size():
    limit = limit_for(request.path, settings.current())
    too_large = jsonify(error=f"the body is larger than {limit:,} bytes"), 413
    if request.content_length is None and request.environ.get("wsgi.input_terminated"):
        # A body of unknown length (chunked; waitress gives every body a length, other servers
        # may not): read one byte past the limit, kept for the view, to tell which side it is on.
        # Werkzeug alone would cut such a body at the limit silently, not answer 413.
        request.max_content_length = limit + 1
        if len(request.get_data(cache=True)) > limit:
            return too_large
    request.max_content_length = limit
    if (request.content_length or 0) > limit:
        return too_large
    return None


def init_app(server: Flask) -> None:
    server.config["MAX_CONTENT_LENGTH"] = server_cap(server.config["THUOCDO"])  # the default, if a hook is skipped
    # First of all hooks: nothing (the gate, the session lookup) runs for a body refused by size.
    server.before_request_funcs.setdefault(None, []).insert(0, _check_size)
