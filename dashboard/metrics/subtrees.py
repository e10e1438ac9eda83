"""The subtree rollups held in memory, once per data version, for every viewer.

A unit page asks a dozen small questions of one subtree: its month sums, rating counts,
open tasks past due, rule hits, its children's figures. Each DuckDB statement costs 1-5 ms
to plan and run, even on a few rows; the tables that answer them are small (at city scale
about 250,000 rows: scope_month, scope_eval_month, scope_open_due, scope_people, rule_hits,
units, unit_closure) and change only when a load commits. So they are read once per
data_version (about half a second and 60 MB at city scale, in one transaction so they agree
with each other) and every question after that is a dictionary lookup.

In the running server a new version usually moved a few subtrees only (a rating moves its
commune and the commune's ancestors): when the server has told this module which units each
version touched (`follow_changes`), the next version is the previous one with those units'
rows read again (`advance`), a few milliseconds instead of half a second at city scale.
"""
from __future__ import annotations

import bisect
import threading
import time
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
    periods: set = field(default_factory=set)                         # every period of sums and hits

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
        out.periods = {p for _, p in out.sums}
        out.rated = {(r[0], r[1]): r[2:] for r in own.execute(
            f"SELECT unit_id, period, {', '.join(RATED)} FROM scope_eval_month").fetchall()}
        out.open_due = _open_due(own.execute("SELECT unit_id, due_at, n FROM scope_open_due ORDER BY unit_id, due_at"))
        for period, rule, unit_id, official_id in own.execute(
                "SELECT period, rule, unit_id, official_id FROM rule_hits "
                "ORDER BY period, rule, unit_id, official_id NULLS FIRST").fetchall():
            out.hits.setdefault(period, []).append((rule, unit_id, official_id))
            _file_hit(out, period, (rule, unit_id, official_id))
        out.periods |= out.hits.keys()
        return version, out


def _open_due(rows) -> dict[str, tuple]:
    """unit_id -> (due dates, running sums) from (unit_id, due_at, n) rows in that order."""
    due = defaultdict(lambda: ([], []))
    for unit_id, due_at, n in rows.fetchall():
        dates, running = due[unit_id]
        dates.append(due_at)
        running.append((running[-1] if running else 0) + n)
    return dict(due)


def _file_hit(out: SubtreeRollups, period: str, hit: tuple) -> None:
    _rule, unit_id, official_id = hit
    out.unit_hits.setdefault((unit_id, period), []).append(hit)
    if official_id is not None:
        out.official_hits.setdefault((official_id, period), []).append(hit)


def advance(own, old: SubtreeRollups, touched: set[str]) -> SubtreeRollups:
    """`old` with the rows of the `touched` units read again through `own` (a cursor inside a
    transaction): their month sums, open tasks and rule hits, the only subtree rollups a tasks
    or ratings load changes. The tree, head counts and evaluation counts are shared."""
    ids = sorted(touched)
    new = SubtreeRollups(units=old.units, children=old.children, descendants=old.descendants,
                         people=old.people, rated=old.rated, sums=dict(old.sums), open_due=dict(old.open_due),
                         unit_hits=dict(old.unit_hits), official_hits=dict(old.official_hits),
                         periods=set(old.periods))
    for unit_id in ids:
        for period in old.periods:
            new.sums.pop((unit_id, period), None)
        new.open_due.pop(unit_id, None)
    for r in own.execute(f"SELECT unit_id, period, {', '.join(SUMS)} FROM scope_month "
                         "WHERE unit_id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall():
        new.sums[(r[0], r[1])] = dict(zip(SUMS, r[2:]))
        new.periods.add(r[1])
    new.open_due.update(_open_due(own.execute(
        "SELECT unit_id, due_at, n FROM scope_open_due WHERE unit_id IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY unit_id, due_at", [ids])))
    # Rule hits: those of the touched units go, their current ones come back, in the same order.
    gone_officials = {h[2] for (unit_id, _), hits in old.unit_hits.items() if unit_id in touched
                      for h in hits if h[2] is not None}
    for key in [k for k in new.unit_hits if k[0] in touched]:
        del new.unit_hits[key]
    for key in [k for k in new.official_hits if k[0] in gone_officials]:
        del new.official_hits[key]
    fresh: dict[str, list] = {}
    for period, rule, unit_id, official_id in own.execute(
            "SELECT period, rule, unit_id, official_id FROM rule_hits WHERE unit_id IN (SELECT unnest(?::VARCHAR[])) "
            "OR official_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY period, rule, unit_id, official_id NULLS FIRST",
            [ids, sorted(gone_officials)]).fetchall():
        hit = (rule, unit_id, official_id)
        if unit_id in touched:
            fresh.setdefault(period, []).append(hit)
            _file_hit(new, period, hit)
        elif official_id in gone_officials:  # an official of a touched unit with a hit elsewhere (moved)
            new.official_hits.setdefault((official_id, period), []).append(hit)
    for period in old.hits.keys() | fresh.keys():
        kept = [h for h in old.hits.get(period, ()) if h[1] not in touched]
        merged = sorted(kept + fresh.get(period, []), key=hit_order) if period in fresh else kept
        if merged:
            new.hits[period] = merged
    new.periods |= new.hits.keys()
    return new


_cache: dict[tuple, SubtreeRollups] = {}
_lock = threading.Lock()
_building: dict[tuple, threading.Lock] = {}
KEEP = 3  # versions kept (sharing most of their rows): the newest, and ones a slow reader may still use
# database name -> changes_after(version): the commits after a version, each with the units it
# touched (None: any), or None when they are not all known. Set by the server (its writer).
_change_logs: dict[str, object] = {}
HEAR_TRIES = 20  # 5 ms each


def follow_changes(database_name: str, changes_after) -> None:
    """Let new versions of this database be derived from the previous one (see `advance`)."""
    _change_logs[database_name] = changes_after


def _derive(cur, key: tuple) -> tuple[tuple, SubtreeRollups] | None:
    """The version `cur` sees, derived from the newest one held, when the server says what
    every commit since touched; None when it cannot be (read it whole)."""
    changes_after = _change_logs.get(key[0])
    with _lock:
        held = [k for k in _cache if k[0] == key[0]]
    if changes_after is None or not held:
        return None
    base = max(held, key=lambda k: k[1])
    with _lock:
        old = _cache.get(base)
    if old is None:
        return None
    with one_snapshot(cur) as own:
        version = own.execute(_VERSION).fetchone()
        for _ in range(HEAR_TRIES):  # the writer tells the server just after its commit
            changes = changes_after(base[1])
            if changes is None:
                return None
            changes = [c for c in changes if c.version <= version[1]]
            if changes and changes[-1].version == version[1]:
                break
            time.sleep(0.005)
        else:
            return None  # not heard of: a write by another path
        if any(c.touched is None for c in changes):
            return None  # it moved everything
        touched = set().union(*(c.touched for c in changes))
        return version, advance(own, old, touched)


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
        # A load may have committed since `key`: file under what was read.
        version, rollups = _derive(cur, key) or read(cur)
        with _lock:
            _cache[version] = rollups
            _building.pop(key, None)
            while len(_cache) > KEEP:
                _cache.pop(next(iter(_cache)))
        return rollups
