"""Per-scope data versions: which unit subtrees a commit moved, so only their viewers refresh.

The database keeps one counter (`data_version`) that every load bumps. In the server, the
writer tells this hub what each commit touched: a rating in one commune moves that commune
and its ancestors, not the other 125 communes. A scope's version is the last commit that
touched it (or the last commit that touched everything: units, officials, evaluations,
OKRs). Panels are cached under their scope's version and open pages subscribe to theirs.
A panel that reads only some kinds of data (a display's units ranking reads tasks, not
ratings) can ask for the last change by those kinds: a rating then leaves it as it was.

The hub also keeps the latest citizen ratings that arrived, for the wall displays' feed.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from dashboard.metrics.definitions import LOCAL_TZ

FEED_KEPT = 2000   # newest ratings held for the displays' live feed
LOG_KEPT = 256     # commits remembered for the subtree rollups' delta (older: read whole again)
SYNC_GRACE = 2.0   # seconds the file may be ahead of the hub before that counts as an outside write


@dataclass(frozen=True)
class Change:
    version: int
    touched: frozenset[str] | None  # None: every scope
    at: float                       # time.time() of the commit

    @property
    def local_time(self) -> dt.datetime:
        """When the commit happened, in Hanoi time (what "Cập nhật lúc" shows)."""
        return dt.datetime.fromtimestamp(self.at, LOCAL_TZ)


class ScopeVersions:
    """Thread-safe: the writer calls `apply`, request threads and the push read."""

    def __init__(self, version: int = 0, clock: Callable[[], float] = time.time, at: float | None = None):
        self.clock = clock
        self._lock = threading.Lock()
        self.version = version                  # the newest data version known
        self._everything = Change(version, None, clock() if at is None else at)  # the last change of every scope
        self._scoped: dict[str, Change] = {}    # unit -> its last own change, when newer than _everything
        self._scoped_kind: dict[tuple[str, str], Change] = {}  # (unit, kind) -> the same, by commits of that kind
        self.log: deque[Change] = deque(maxlen=LOG_KEPT)
        self.feed: deque[tuple] = deque(maxlen=FEED_KEPT)
        self._listeners: list[Callable[[Change], None]] = []
        self._behind_since: float | None = None

    def on_change(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    def apply(self, version: int, touched, new_ratings=(), kinds=()) -> Change | None:
        """Record a commit of data of `kinds` (contract kinds, e.g. ("ratings",)); listeners
        (the push) hear of it. Older versions are ignored."""
        with self._lock:
            if version <= self.version:
                return None
            change = Change(version, None if touched is None else frozenset(touched), self.clock())
            self.version = version
            if change.touched is None:
                self._everything = change
                self._scoped.clear()
                self._scoped_kind.clear()
            else:
                for unit_id in change.touched:
                    self._scoped[unit_id] = change
                    for kind in kinds:
                        self._scoped_kind[unit_id, kind] = change
            self.log.append(change)
            self.feed.extend(new_ratings)
        for listener in self._listeners:
            listener(change)
        return change

    def sync(self, version_in_db: int) -> None:
        """A version the hub has not heard of for SYNC_GRACE seconds was written by another path
        (not the server's writer): then every scope moved. Within the grace the writer, which
        tells the hub just after its commit, is simply a moment behind the file."""
        if version_in_db <= self.version:
            self._behind_since = None
            return
        now = time.monotonic()
        if self._behind_since is None:
            self._behind_since = now
        elif now - self._behind_since > SYNC_GRACE:
            self._behind_since = None
            self.apply(version_in_db, None)

    def of(self, unit_id: str | None, kinds=None) -> Change:
        """The last change of a unit's subtree (None: the whole tree's newest change); with
        `kinds`, the last one by a commit of those kinds or of everything."""
        with self._lock:
            if unit_id is None:
                return self.log[-1] if self.log and self.log[-1].version == self.version else self._everything
            if kinds is None:
                return self._scoped.get(unit_id, self._everything)
            return max((self._scoped_kind.get((unit_id, kind), self._everything) for kind in kinds),
                       key=lambda change: change.version, default=self._everything)

    def changes_after(self, version: int) -> list[Change] | None:
        """The commits after `version`, oldest first; None when the log no longer holds them
        all (every loaded commit bumps the version by one, so the log must start right after)."""
        with self._lock:
            found = [c for c in self.log if c.version > version]
            if (found and found[0].version != version + 1) or (not found and version < self.version):
                return None
            return found

    def seed_feed(self, rows) -> None:
        """The newest ratings already stored, oldest first, read once at start."""
        with self._lock:
            self.feed.extend(rows)

    def latest_ratings(self, units, limit: int = 10) -> list[tuple]:
        """The newest ratings of officials of `units` (a set of unit ids), newest first:
        (rating_id, official_id, unit_id, counter_id, rated_at, level)."""
        with self._lock:
            rows = list(self.feed)
        out = []
        for row in reversed(rows):
            if row[2] in units:
                out.append(row)
                if len(out) == limit:
                    break
        return out
