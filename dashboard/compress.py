"""gzip for the app's code: Dash's scripts and /assets (6.9 MB of JavaScript on a first visit, 2.0 MB
gzipped; bench/pages.py). Phones and office networks wait for every byte of a first visit.

Only code is compressed: those bytes are the same for every visitor and hold no secret, so
compression cannot help anyone guess one (BREACH). Pages, callbacks and the API are left as they
are. Each file is compressed once per process and kept (about 2 MB in all); its ETag stays as
it was, so the browser's revalidation (a 304, dashboard/auth.py) keeps working.
"""
from __future__ import annotations

import gzip
import threading

from flask import Flask, request

from dashboard.auth import CODE_PATHS

TYPES = ("application/javascript", "text/javascript", "text/css")
MIN_BYTES = 1024  # below this, the header costs about what gzip saves
LEVEL = 6


class CodeGzip:
    """The after-request hook, with its cache of compressed files."""

    def __init__(self):
        self._cache: dict[tuple, bytes] = {}
        self._lock = threading.Lock()

    def __call__(self, resp):
        if (not request.path.startswith(CODE_PATHS) or resp.status_code != 200
                or resp.mimetype not in TYPES or "Content-Encoding" in resp.headers):
            return resp
        resp.vary.add("Accept-Encoding")
        if "gzip" not in request.headers.get("Accept-Encoding", "").lower():
            return resp
        resp.direct_passthrough = False  # /assets come as a file: read it
        # A fingerprinted path names one version of its file; the others carry an ETag.
        key = (request.path, resp.get_etag()[0])
        with self._lock:
            packed = self._cache.get(key)
        if packed is None:
            body = resp.get_data()
            if len(body) < MIN_BYTES:
                return resp
            packed = gzip.compress(body, LEVEL, mtime=0)
            with self._lock:
                self._cache[key] = packed
        resp.set_data(packed)
        resp.headers["Content-Encoding"] = "gzip"
        resp.headers.pop("Accept-Ranges", None)  # byte ranges would be of the file, not of this
        return resp


def init_app(server: Flask) -> None:
    server.after_request(CodeGzip())
