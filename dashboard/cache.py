"""Panels built once per data version and shared by every viewer.

Building a Plotly figure costs far more than the queries behind it (performance-notes.md),
so callbacks ask this cache for `(data_version, panel, args…)`. When the loader bumps
data_version the old entries are simply never asked for again and age out of the LRU.
Scope checks happen before the cache is asked, so sharing across users leaks nothing.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

from flask import Flask, current_app
from plotly.io.json import to_json_plotly

_EXTENSION = "thuocdo_cache"


class _Pending:
    """A build in progress that other requests for the same key wait for."""

    def __init__(self):
        self.done = threading.Event()
        self.value: Any = None
        self.failed = False


class PanelCache:
    """A thread-safe LRU. A key is built by one thread at a time: under a stream of commits
    every scope's panels are new every second or so, and the viewers who ask for one while
    it is being built wait for that build instead of each building it again."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._building: dict[Hashable, _Pending] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            pending = self._building.get(key)
            owner = pending is None
            if owner:
                pending = self._building[key] = _Pending()
                self.misses += 1
        if not owner:
            pending.done.wait()
            return build() if pending.failed else pending.value  # its error is the builder's to report
        try:
            pending.value = build()
        except BaseException:
            pending.failed = True
            raise
        finally:
            with self._lock:
                del self._building[key]
                if not pending.failed:
                    self._data[key] = pending.value
                    self._data.move_to_end(key)
                    while len(self._data) > self.max_entries:
                        self._data.popitem(last=False)
            pending.done.set()
        return pending.value

    def peek(self, key: Hashable) -> Any:
        """The value if built already, else None (never builds)."""
        with self._lock:
            return self._data.get(key)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def init_app(server: Flask, max_entries: int) -> None:
    server.extensions[_EXTENSION] = PanelCache(max_entries)


def panel_cache() -> PanelCache:
    return current_app.extensions[_EXTENSION]


def cached(version: int, name: str, args: tuple, build: Callable[[], Any]) -> Any:
    """`build()` once per (data version, panel name, args) for all viewers."""
    return panel_cache().get_or_build((version, name, args), build)


def json_ready(value: Any) -> Any:
    """Components and figures as the plain dicts and lists Dash would send. Dash walks a
    component tree object by object on every response (a 1 MB tree: ~350 ms); the same
    tree as plain data encodes in ~35 ms, and the renderer reads it the same way.
    A tuple (several outputs) stays a tuple."""
    if isinstance(value, tuple):
        return tuple(json_ready(v) for v in value)
    return json.loads(to_json_plotly(value))
