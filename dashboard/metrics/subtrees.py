"""The subtree rollups held in memory, once per data version, for every viewer.

A unit page asks a dozen small questions of one subtree: its month sums, rating counts,
open tasks past due, rule hits, its children's figures. Each DuckDB statement costs 1-5 ms
to plan and run, even on a few rows; the tables that answer them are small (at city scale
about 250,000 rows: scope_month, scope_eval_month, scope_open_due, scope_people, rule_hits,
units, unit_closure) and change only when a load commits. So they are read once per
data_version (about half a second and 60 MB at city scale, in one transaction so they agree
with each other) and every question after that is a dictionary lookup.
"""
from __future__ import annotations

import bisect
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field

from dashboard.metrics.sql import one_snapshot
from etl.formulas import SUMS

OFFICIALS_KEPT = 5000
RATED = ("htxs", "htt", "ht", "kht", "rated_active")


@dataclass
class SubtreeRollups:
    units: dict[str, tuple] = field(default_factory=dict)            # unit_id -> (parent_id, name, kind)
    children: dict[str, list[str]] = field(default_factory=dict)     # sorted child ids
    descendants: dict[str, frozenset] = field(default_factory=dict)  # the unit itself included
    people: dict[str, int] = field(default_factory=dict)             # active officials of the subtree
    sums: dict[tuple, dict] = field(default_factory=dict)            # (unit_id, period) -> SUMS
    rated: dict[tuple, tuple] = field(default_factory=dict)          # (unit_id, period) -> RATED
    open_due: dict[str, tuple] = field(default_factory=dict)         # unit_id -> (due dates, running sums)
    hits: dict[str, list] = field(default_factory=dict)              # period -> sorted (rule, unit, official)
    unit_hits: dict[tuple, list] = field(default_factory=dict)       # (unit_id, period) -> same
    official_hits: dict[tuple, list] = field(default_factory=dict)   # (official_id, period) -> same
    # Officials' own rollup rows, read when first asked for (a page's tiles and trend ask twice).
    _official_rows: OrderedDict = field(default_factory=OrderedDict)
    _rows_lock: threading.Lock = field(default_factory=threading.Lock)
    # Officials' names as asked for: an evaluation history names its actors, the same
    # supervisors and heads for a whole unit (all 150,000 names would take 0.25 s to read).
    _names: dict = field(default_factory=dict)

    def overdue(self, unit_id: str, as_of) -> int:
        """Open tasks of the subtree due before as_of."""
        dates, running = self.open_due.get(unit_id, ((), ()))
        i = bisect.bisect_left(dates, as_of)
        return running[i - 1] if i else 0

    def official_rows(self, official_id: str, read_rows) -> list:
        """read_rows() for this official, once per data version (the last OFFICIALS_KEPT)."""
        with self._rows_lock:
            if official_id in self._official_rows:
                self._official_rows.move_to_end(official_id)
                return self._official_rows[official_id]
        rows = read_rows()
        with self._rows_lock:
            self._official_rows[official_id] = rows
            while len(self._official_rows) > OFFICIALS_KEPT:
                self._official_rows.popitem(last=False)
        return rows

    def names(self, official_ids, read_names) -> dict[str, str]:
        """{official_id: full_name} for the ids; read_names(missing ids) reads the ones not
        held yet, as (official_id, full_name) pairs."""
        with self._rows_lock:
            held = {i: self._names[i] for i in official_ids if i in self._names}
        missing = sorted(set(official_ids) - held.keys())
        if missing:
            found = dict(read_names(missing))
            held.update({i: found.get(i) for i in missing})
            with self._rows_lock:
                if len(self._names) > 10 * OFFICIALS_KEPT:  # a bound, not an LRU: names are cheap to read again
                    self._names.clear()
                self._names.update({i: held[i] for i in missing})
        return held

    def rule_hits(self, unit_id: str, period: str, ordered: bool = True) -> list[tuple]:
        """The period's hits in the subtree, in rule, unit_id, official_id (NULLS FIRST) order
        (in no particular order without `ordered`, for counting)."""
        inside = self.descendants.get(unit_id, frozenset())
        hits = self.hits.get(period, ())
        if len(inside) < len(hits):  # a small subtree (a city's 156 children side by side): gather
            found = [h for u in inside for h in self.unit_hits.get((u, period), ())]
            return sorted(found, key=hit_order) if ordered else found
        return [h for h in hits if h[1] in inside]


def hit_order(hit: tuple) -> tuple:
    """ORDER BY rule, unit_id, official_id NULLS FIRST, for (rule, unit_id, official_id)."""
    rule, unit_id, official_id = hit
    return rule, unit_id, official_id is not None, official_id or ""


# Which data this is: the database's name and its data_version (a load bumps the number and
# stamps the time, so two files of the same name do not share a key).
_VERSION = "SELECT current_database(), version, changed_at FROM data_version"


def read(cur) -> tuple[tuple, SubtreeRollups]:
    """Every subtree rollup and the data version they are of, read in one transaction on a
    cursor of its own."""
    with one_snapshot(cur) as own:
        version = own.execute(_VERSION).fetchone()
        out = SubtreeRollups()
        for unit_id, parent_id, name, kind in own.execute(
                "SELECT unit_id, parent_id, name, kind FROM units ORDER BY unit_id").fetchall():
            out.units[unit_id] = (parent_id, name, kind)
            out.children.setdefault(unit_id, [])
        for unit_id, (parent_id, _, _) in out.units.items():
            if parent_id is not None:
                out.children.setdefault(parent_id, []).append(unit_id)
        below = defaultdict(set)
        for ancestor, descendant in own.execute("SELECT ancestor, descendant FROM unit_closure").fetchall():
            below[ancestor].add(descendant)
        out.descendants = {u: frozenset(d) for u, d in below.items()}
        out.people = dict(own.execute("SELECT unit_id, officials_total FROM scope_people").fetchall())
        out.sums = {(r[0], r[1]): dict(zip(SUMS, r[2:])) for r in own.execute(
            f"SELECT unit_id, period, {', '.join(SUMS)} FROM scope_month").fetchall()}
        out.rated = {(r[0], r[1]): r[2:] for r in own.execute(
            f"SELECT unit_id, period, {', '.join(RATED)} FROM scope_eval_month").fetchall()}
        due = defaultdict(lambda: ([], []))
        for unit_id, due_at, n in own.execute(
                "SELECT unit_id, due_at, n FROM scope_open_due ORDER BY unit_id, due_at").fetchall():
            dates, running = due[unit_id]
            dates.append(due_at)
            running.append((running[-1] if running else 0) + n)
        out.open_due = dict(due)
        for period, rule, unit_id, official_id in own.execute(
                "SELECT period, rule, unit_id, official_id FROM rule_hits "
                "ORDER BY period, rule, unit_id, official_id NULLS FIRST").fetchall():
            out.hits.setdefault(period, []).append((rule, unit_id, official_id))
            out.unit_hits.setdefault((unit_id, period), []).append((rule, unit_id, official_id))
            if official_id is not None:
                out.official_hits.setdefault((official_id, period), []).append((rule, unit_id, official_id))
        return version, out


_cache: dict[tuple, SubtreeRollups] = {}
_lock = threading.Lock()
_building: dict[tuple, threading.Lock] = {}
KEEP = 2  # versions kept (about 60 MB each at city scale): the newest, and one a slow reader may still use


def subtree_rollups(cur) -> SubtreeRollups:
    """The rollups of the database `cur` reads, as of its current data version; read once per
    version and shared (a reader that started before a load keeps the version it began with)."""
    key = cur.execute(_VERSION).fetchone()
    with _lock:
        if key in _cache:
            return _cache[key]
        building = _building.setdefault(key, threading.Lock())
    with building:  # one thread reads a version; the others wait for it
        with _lock:
            if key in _cache:
                return _cache[key]
        version, rollups = read(cur)  # a load may have committed since `key`: file under what was read
        with _lock:
            _cache[version] = rollups
            _building.pop(key, None)
            while len(_cache) > KEEP:
                _cache.pop(next(iter(_cache)))
        return rollups
