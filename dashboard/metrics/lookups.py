"""Look-ups the pages need around the KPIs: names, the tree, periods, drill-down rows.

Pure functions `(cur, ...)`: values bound as `?` parameters, identifiers only from
allow-lists. They read the unit tree through unit_closure and the rollups; KPI values
themselves come from kpis/trends/compare/rules.
"""
from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from dashboard.metrics.definitions import RATE_SQL, today_local


def _records(cur, sql: str, params=()) -> list[dict]:
    res = cur.execute(sql, list(params))
    cols = [d[0] for d in res.description]
    return [dict(zip(cols, row)) for row in res.fetchall()]


def _one(cur, sql: str, params=()) -> dict | None:
    rows = _records(cur, sql, params)
    return rows[0] if rows else None


def data_version(cur) -> int:
    """The loader's change counter: pages refresh and caches turn over when it moves."""
    return cur.execute("SELECT coalesce(max(version), 0) FROM data_version").fetchone()[0]


def data_changed_at(cur) -> datetime | None:
    return cur.execute("SELECT max(changed_at) FROM data_version").fetchone()[0]


# --- the unit tree -------------------------------------------------------------------

def unit(cur, unit_id: str) -> dict | None:
    """unit_id, parent_id, name, kind of one unit, or None."""
    return _one(cur, "SELECT unit_id, parent_id, name, kind FROM units WHERE unit_id = ?", [unit_id])


def roots(cur) -> list[dict]:
    return _records(cur, "SELECT unit_id, name, kind FROM units WHERE parent_id IS NULL ORDER BY unit_id")


def is_in_scope(cur, scope_unit_id: str | None, unit_id: str) -> bool:
    """True when `unit_id` exists and is `scope_unit_id` or below it (None = the whole tree)."""
    if scope_unit_id is None:
        return unit(cur, unit_id) is not None
    return cur.execute(
        "SELECT 1 FROM unit_closure WHERE ancestor = ? AND descendant = ?", [scope_unit_id, unit_id]
    ).fetchone() is not None


def breadcrumbs(cur, unit_id: str, top: str | None = None) -> list[dict]:
    """The unit's ancestors from the root (or from `top`) down to the unit itself."""
    rows = _records(cur, """
        SELECT u.unit_id, u.name, c.depth FROM unit_closure c JOIN units u ON u.unit_id = c.ancestor
        WHERE c.descendant = ? ORDER BY c.depth DESC""", [unit_id])
    if top is not None:
        ids = [r["unit_id"] for r in rows]
        if top in ids:
            rows = rows[ids.index(top):]
    return [{"unit_id": r["unit_id"], "name": r["name"]} for r in rows]


def subtree(cur, unit_id: str, period: str, max_depth: int = 2) -> pd.DataFrame:
    """Units down to `max_depth` below `unit_id` with their subtree's on-time rate and active
    officials for `period` (the treemap)."""
    return cur.execute(f"""
        WITH nodes AS (
            SELECT descendant AS unit_id, depth FROM unit_closure WHERE ancestor = $unit AND depth <= $depth
        ), people AS (
            SELECT c.ancestor AS unit_id, count(*) AS officials_total
            FROM unit_closure c JOIN officials o ON o.unit_id = c.descendant
            WHERE c.ancestor IN (SELECT unit_id FROM nodes) AND o.active GROUP BY c.ancestor
        ), sums AS (
            SELECT unit_id, tasks_due, {RATE_SQL["on_time_rate"]} AS on_time_rate
            FROM scope_month WHERE period = $period AND unit_id IN (SELECT unit_id FROM nodes)
        )
        SELECT u.unit_id, u.parent_id, u.name, u.kind, n.depth, coalesce(s.tasks_due, 0) AS tasks_due,
               s.on_time_rate, coalesce(p.officials_total, 0) AS officials_total
        FROM nodes n JOIN units u USING (unit_id) LEFT JOIN sums s USING (unit_id) LEFT JOIN people p USING (unit_id)
        ORDER BY n.depth, u.unit_id""", {"unit": unit_id, "period": period, "depth": max_depth}).df()


def units_in_scope(cur, scope_unit_id: str | None, max_depth: int | None = None) -> list[dict]:
    """(unit_id, name, depth) of every unit in scope, in tree order, for pickers."""
    if scope_unit_id is None:
        return _records(cur, """
            SELECT u.unit_id, u.name, max(c.depth) AS depth FROM units u JOIN unit_closure c ON c.descendant = u.unit_id
            GROUP BY u.unit_id, u.name HAVING ? IS NULL OR max(c.depth) <= ? ORDER BY u.unit_id""",
            [max_depth, max_depth])
    return _records(cur, """
        SELECT u.unit_id, u.name, c.depth FROM unit_closure c JOIN units u ON u.unit_id = c.descendant
        WHERE c.ancestor = ? AND (? IS NULL OR c.depth <= ?) ORDER BY c.depth, u.unit_id""",
        [scope_unit_id, max_depth, max_depth])


def unit_names(cur, unit_ids) -> dict[str, str]:
    ids = list(dict.fromkeys(unit_ids))
    if not ids:
        return {}
    return dict(cur.execute("SELECT unit_id, name FROM units WHERE unit_id IN (SELECT unnest(?))", [ids]).fetchall())


def official_names(cur, official_ids) -> dict[str, str]:
    ids = list(dict.fromkeys(i for i in official_ids if i))
    if not ids:
        return {}
    return dict(cur.execute(
        "SELECT official_id, full_name FROM officials WHERE official_id IN (SELECT unnest(?))", [ids]).fetchall())


# --- officials -----------------------------------------------------------------------

def official(cur, official_id: str) -> dict | None:
    """An official with the name of their unit, or None."""
    return _one(cur, """
        SELECT o.official_id, o.full_name, o.position, o.unit_id, u.name AS unit_name, o.is_head, o.active
        FROM officials o LEFT JOIN units u ON u.unit_id = o.unit_id WHERE o.official_id = ?""", [official_id])


def official_tasks(cur, official_id: str, period: str, as_of: date | None = None, limit: int = 200) -> list[dict]:
    """Tasks due in `period` (cancelled ones too, last), late ones first, then by due date."""
    as_of = as_of or today_local()
    return _records(cur, """
        SELECT task_id, title, origin, assigned_at, due_at, completed_at, status, quality_failures,
               (status = 'done' AND completed_at > due_at) OR (status = 'open' AND due_at < ?) AS late
        FROM tasks WHERE official_id = ? AND due_at >= ? AND due_at < ?
        ORDER BY status = 'cancelled', late DESC, due_at, task_id LIMIT ?""",
        [as_of, official_id, *period_bounds(period), limit])


def latest_ratings(cur, official_id: str, limit: int = 10) -> list[dict]:
    """The official's most recent citizen ratings, newest first."""
    return _records(cur, """
        SELECT rating_id, rated_at, level, reason, comment, counter_id, procedure_code
        FROM ratings WHERE official_id = ? ORDER BY rated_at DESC, rating_id DESC LIMIT ?""",
        [official_id, limit])


def evaluation_history(cur, official_id: str, limit: int = 60) -> list[dict]:
    """Every evaluation event of the official, newest period first, in acting order within it;
    `is_current` marks the event that is the period's current result."""
    return _records(cur, """
        SELECT e.event_id, e.period, e.stage, e.score, e.rating, e.actor_id,
               a.full_name AS actor_name, e.acted_at, e.note,
               (c.event_id IS NOT NULL) AS is_current
        FROM evaluations e
        LEFT JOIN officials a ON a.official_id = e.actor_id
        LEFT JOIN eval_current c ON c.official_id = e.official_id AND c.period = e.period AND c.event_id = e.event_id
        WHERE e.official_id = ?
        ORDER BY e.period DESC, e.acted_at, e.event_id LIMIT ?""", [official_id, limit])


# --- periods -------------------------------------------------------------------------

def period_bounds(period: str) -> tuple[date, date]:
    """First day of the month and first day of the next, for range filters that prune."""
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


def periods(cur) -> list[str]:
    """Every month that has tasks or ratings, newest first."""
    return [r[0] for r in cur.execute(
        "SELECT DISTINCT period FROM scope_month ORDER BY period DESC").fetchall()]


def default_period(cur, on: date | None = None) -> str:
    """The last complete month with data (the current month is still filling up: its tasks due
    later this month are not late yet); the current month when nothing earlier has data."""
    current = (on or today_local()).strftime("%Y-%m")
    available = periods(cur)
    complete = [p for p in available if p < current]
    if complete:
        return complete[0]
    return current if current in available or not available else available[-1]


def officials_in_scope(cur, unit_id: str, limit: int = 10) -> list[dict]:
    """Some active officials of the subtree (heads first), e.g. for demo logins."""
    return _records(cur, """
        SELECT o.official_id, o.full_name, o.unit_id FROM unit_closure c
        JOIN officials o ON o.unit_id = c.descendant
        WHERE c.ancestor = ? AND o.active ORDER BY c.depth DESC, o.is_head DESC, o.official_id LIMIT ?""",
        [unit_id, limit])
