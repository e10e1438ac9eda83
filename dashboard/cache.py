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


class PanelCache:
    """A thread-safe LRU; two threads building the same key at once both build, one wins."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
        value = build()
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return value

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
