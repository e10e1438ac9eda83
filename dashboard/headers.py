"""Security headers on every response: Content-Security-Policy, Permissions-Policy, and who
sees Server-Timing.

- The Dash pages (and the login page) get a CSP whose scripts are this server's files plus
  Dash's own inline scripts by hash (`app.csp_hashes()`: the renderer's start-up line and the
  inline clientside callbacks), so no 'unsafe-inline' and no 'unsafe-eval' for scripts.
  Styles keep 'unsafe-inline': React sets style attributes, plotly.js injects <style>
  elements, and the login page carries its sheet inline; CSS cannot run script.
  `connect-src` adds the push server's origin (another port, or LIVE_PUBLIC_URL).
  `frame-ancestors 'none'`: no page is framed (clickjacking).
- The wall display (/display/…) and the kiosk (/kiosk…) set their own, stricter CSP (the
  display's frame-ancestors are DISPLAY_FRAME_ANCESTORS); a policy already set is kept.
- Server-Timing tells how long the server worked, which can hint at what it worked on; only
  signed-in admins (the page benchmark signs in as one) receive it.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import dash
from flask import current_app, request
from flask_login import current_user

PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "fullscreen",
    "geolocation", "gyroscope", "magnetometer", "microphone", "midi", "payment",
    "picture-in-picture", "publickey-credentials-get", "screen-wake-lock", "serial", "usb",
    "xr-spatial-tracking"))


def _push_origin() -> str | None:
    """Where pages open their EventSource (as live.subscription_url builds it), or None."""
    base = current_app.config["THUOCDO"]["LIVE_PUBLIC_URL"]
    if base:
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}"
    push_server = current_app.extensions.get("thuocdo_push")
    if push_server is None:
        return None
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    return f"{request.scheme}://{host}:{push_server.port}"


def init_app(app: dash.Dash) -> None:
    """The hook that adds them, after every other hook."""

    def policy() -> str:
        # Hashed per response (a few microseconds): Dash imports the pages, and with them more
        # inline clientside callbacks, only at the first request that reaches it.
        hashes = app.csp_hashes()
        connect = " ".join(filter(None, ("'self'", _push_origin())))
        return ("default-src 'self'; "
                f"script-src 'self' {' '.join(hashes)}; "
                "style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data: blob:; font-src 'self' data:; "
                f"connect-src {connect}; "
                "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")

    def add_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if "Content-Security-Policy" not in resp.headers:  # the display's and the kiosk's stay
            resp.headers["Content-Security-Policy"] = policy()
        if "Server-Timing" in resp.headers and not (
                current_user.is_authenticated and current_user.role == "admin"):
            del resp.headers["Server-Timing"]
        return resp

    # after_request hooks run last-registered first; at index 0 this one runs after all the
    # others, so it sees Server-Timing (dashboard/live) and the display's own CSP.
    app.server.after_request_funcs.setdefault(None, []).insert(0, add_headers)
