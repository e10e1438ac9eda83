"""Wall displays' states, built in the background so that no request waits in a queue of builds.

Under a stream of arrivals many screens' scopes move every second, and each screen asks for its
new state when the push tells it. Built in the request, a wave of those kept dozens of the
server's threads waiting behind one another (one build runs at a time, so screens never take
the CPU from the people clicking through pages), and the analysts' and the API's requests
queued behind them. Now:

- a state already built for the version asked (or a newer one) is answered at once;
- a screen with nothing built yet, or whose build can start at once, waits for its own build;
- otherwise the screen gets the newest state built so far, with that state's version, and the
  build of the version asked is queued: one background thread builds the newest version asked
  of each queued state, one at a time. The screen shows it at its next event or poll.

Panels are cached here too (`panels`), apart from the pages' cache: a thousand screens' panels
would otherwise push the analysts' panels out of it.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

from flask import Flask

from dashboard.cache import PanelCache

log = logging.getLogger("thuocdo.display")
_EXTENSION = "thuocdo_display_states"
PANEL_ENTRIES_PER_SCREEN = 8   # its state's panels, a few versions of them, the same-days memo
MIN_PANEL_ENTRIES = 2000


class DisplayStates:
    def __init__(self, app: Flask, max_states: int = 10_000):
        self.app = app
        self.panels = PanelCache(MIN_PANEL_ENTRIES)
        self._latest: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()  # key -> (version, state)
        self._wanted: dict[Hashable, tuple[int, Callable[[], Any]]] = {}       # key -> newest asked
        self._lock = threading.Lock()
        self._building = threading.Lock()  # one build at a time
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.max_states = max_states
        self.served_older = self.built = 0  # for the data page and benchmarks

    def clear(self) -> None:
        with self._lock:
            self._latest.clear()
            self._wanted.clear()
        self.panels.clear()

    def size_for(self, screens: int) -> None:
        """Room in the panel cache for every screen's panels."""
        self.panels.max_entries = max(MIN_PANEL_ENTRIES, PANEL_ENTRIES_PER_SCREEN * screens)

    def get(self, key: Hashable, version: int, build: Callable[[], Any]) -> tuple[int, Any]:
        """(version, state) for `key`: built for `version`, or the newest built so far while
        that build is queued. `build()` must open what it needs itself (it may run in the
        background thread, inside an app context)."""
        with self._lock:
            have = self._latest.get(key)
            if have is not None and have[0] >= version:
                self._latest.move_to_end(key)
                return have
        if have is not None and not self._building.acquire(blocking=False):
            with self._lock:
                asked = self._wanted.get(key)
                if asked is None or asked[0] < version:
                    self._wanted[key] = (version, build)
                self.served_older += 1
            self._start()
            self._wake.set()
            return have
        if have is None:
            self._building.acquire()
        try:
            return self._store(key, version, build())
        finally:
            self._building.release()

    def _store(self, key: Hashable, version: int, state: Any) -> tuple[int, Any]:
        with self._lock:
            self.built += 1
            have = self._latest.get(key)
            if have is None or have[0] < version:
                self._latest[key] = have = (version, state)
            self._latest.move_to_end(key)
            while len(self._latest) > self.max_states:
                self._latest.popitem(last=False)
            return have

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="thuocdo-display-builds", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while True:
                with self._lock:
                    if not self._wanted:
                        break
                    key, (version, build) = next(iter(self._wanted.items()))
                    del self._wanted[key]
                    have = self._latest.get(key)
                if have is not None and have[0] >= version:
                    continue
                with self._building:
                    try:
                        with self.app.app_context():
                            state = build()
                    except Exception:  # the screen keeps its last state and asks again
                        log.exception("building a display state failed")
                        continue
                self._store(key, version, state)


def init_app(server: Flask) -> DisplayStates:
    states = server.extensions[_EXTENSION] = DisplayStates(server)
    return states


def display_states(server: Flask) -> DisplayStates:
    return server.extensions[_EXTENSION]
