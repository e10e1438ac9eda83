"""Look-ups the pages need around the KPIs: names, the tree, periods, drill-down rows.

Pure functions `(cur, ...)`: values bound as `?` parameters, identifiers only from
allow-lists. They read the unit tree through unit_closure and the rollups; KPI values
themselves come from kpis/trends/compare/rules.
"""
from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from dashboard.metrics.definitions import RATE_SQL, today_local
from dashboard.metrics.snapshot import official_rows
from dashboard.metrics.sql import frame, one_snapshot
from dashboard.metrics.subtrees import subtree_rollups
from etl.formulas import SUMS


def _records(cur, sql: str, params=()) -> list[dict]:
    res = cur.execute(sql, params if isinstance(params, dict) else list(params))
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
    return frame(cur, f"""
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
        ORDER BY n.depth, u.unit_id""", {"unit": unit_id, "period": period, "depth": max_depth})


def units_in_scope(cur, scope_unit_id: str, max_depth: int | None = None) -> list[dict]:
    """(unit_id, name, depth, parent_id) of the unit and the units below it, depth-first (each unit
    followed by its children), for pickers."""
    rows = _records(cur, """
        SELECT u.unit_id, u.parent_id, u.name, c.depth FROM unit_closure c JOIN units u ON u.unit_id = c.descendant
        WHERE c.ancestor = ? AND (? IS NULL OR c.depth <= ?) ORDER BY u.unit_id""",
        [scope_unit_id, max_depth, max_depth])
    children: dict[str | None, list[dict]] = {}
    for r in rows:
        children.setdefault(r["parent_id"], []).append(r)
    ordered, stack = [], [r for r in rows if r["depth"] == 0]
    while stack:
        node = stack.pop()
        ordered.append({"unit_id": node["unit_id"], "name": node["name"], "depth": node["depth"],
                        "parent_id": node["parent_id"]})
        stack.extend(reversed(children.get(node["unit_id"], [])))
    return ordered


def unit_names(cur, unit_ids) -> dict[str, str]:
    """{unit_id: name} for lists; a name several units share carries its parent's
    ("Văn phòng · Sở Nội vụ", metrics/unit_names.py)."""
    from dashboard.metrics.unit_names import shown

    return shown(cur, unit_ids)


def _of_officials(cur, official_ids, column: str) -> dict[str, str]:
    """{official_id: column} of the known ones among `official_ids` (column: one of ours)."""
    ids = list(dict.fromkeys(i for i in official_ids if i))
    if not ids:
        return {}
    return dict(cur.execute(
        f"SELECT official_id, {column} FROM officials WHERE official_id IN (SELECT unnest(?))", [ids]).fetchall())


def official_units(cur, official_ids) -> dict[str, str]:
    """{official_id: unit_id} of the known ones among `official_ids`."""
    return _of_officials(cur, official_ids, "unit_id")


def official_names(cur, official_ids) -> dict[str, str]:
    return _of_officials(cur, official_ids, "full_name")


# --- officials -----------------------------------------------------------------------

def official(cur, official_id: str) -> dict | None:
    """An official with the name of their unit, or None."""
    return _one(cur, """
        SELECT o.official_id, o.full_name, o.position, o.unit_id, u.name AS unit_name, o.is_head, o.active
        FROM officials o LEFT JOIN units u ON u.unit_id = o.unit_id WHERE o.official_id = ?""", [official_id])


def official_tasks(cur, official_id: str, period: str, as_of: date | None = None, limit: int = 200) -> list[dict]:
    """Tasks due in `period` (cancelled ones too, last), late ones first, then by due date."""
    as_of = as_of or today_local()
    first, after = period_bounds(period)
    # The official's row ids and due dates through the official_id index (a lone equality
    # filter in a MATERIALIZED CTE is what lets DuckDB use it), then whole rows for the
    # month's few only: fetching every column of a year of tasks cost twice as much.
    return _records(cur, """
        WITH mine AS MATERIALIZED (SELECT rowid AS rid, due_at FROM tasks WHERE official_id = ?)
        SELECT task_id, title, origin, assigned_at, due_at, completed_at, status, quality_failures,
               (status = 'done' AND completed_at > due_at) OR (status = 'open' AND due_at < ?) AS late
        FROM tasks WHERE rowid IN (SELECT rid FROM mine WHERE due_at >= ? AND due_at < ?)
        ORDER BY status = 'cancelled', late DESC, due_at, task_id LIMIT ?""",
        [official_id, as_of, first, after, limit])


def latest_ratings(cur, official_id: str, limit: int = 10) -> list[dict]:
    """The official's most recent citizen ratings, newest first."""
    # A counter's official has thousands of ratings (up to 9,000 a year at city scale). The
    # index fetches rows one at a time, and fetching every column of all of them took
    # 50-80 ms; the newest few row ids (ties at the cut included) come from rated_at alone,
    # then only those rows are read whole, on one snapshot so that the row ids stay valid.
    with one_snapshot(cur) as snap:
        newest = [r[0] for r in snap.execute(
            "SELECT rowid FROM ratings WHERE official_id = ? QUALIFY rank() OVER (ORDER BY rated_at DESC) <= ?",
            [official_id, limit]).fetchall()]
        if not newest:  # most officials: one statement
            return []
        return _records(snap, """
            SELECT rating_id, rated_at, level, reason, comment, counter_id, procedure_code FROM ratings
            WHERE rowid IN (SELECT unnest(?::BIGINT[])) ORDER BY rated_at DESC, rating_id DESC LIMIT ?""",
            [newest, limit])


def evaluation_history(cur, official_id: str, limit: int = 60) -> list[dict]:
    """Every evaluation event of the official, newest period first, in acting order within it;
    `is_current` marks the event that is the period's current result."""
    # Simple statements, joined here: a join costs DuckDB more to plan than these cost to run.
    events = _records(cur, """
        SELECT event_id, period, stage, score, rating, actor_id, acted_at, note FROM evaluations
        WHERE official_id = ? ORDER BY period DESC, acted_at, event_id LIMIT ?""", [official_id, limit])
    tree = subtree_rollups(cur)
    current = {(period, event) for kind, period, _, _, event in official_rows(cur, official_id, tree)
               if kind == "result"}
    for e in events:
        e["is_current"] = (e["period"], e["event_id"]) in current
    # The actors are a handful (the official, a supervisor, a head): looked up by name apart,
    # which costs less than joining 150,000 officials, and kept for the data version.
    actors = {e["actor_id"] for e in events if e["actor_id"]}
    names = tree.names(actors, lambda ids: cur.execute(
        f"SELECT official_id, full_name FROM officials WHERE official_id IN ({', '.join('?' * len(ids))})",
        ids).fetchall())
    keys = ("event_id", "period", "stage", "score", "rating", "actor_id", "actor_name", "acted_at", "note",
            "is_current")
    return [{k: (names.get(e["actor_id"]) if k == "actor_name" else e[k]) for k in keys} for e in events]


# --- periods -------------------------------------------------------------------------

def period_bounds(period: str) -> tuple[date, date]:
    """First day of the month and first day of the next, for range filters that prune."""
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


def periods(cur) -> list[str]:
    """Every month that has tasks or ratings up to the running one (metrics/periods.py: a month
    after the newest record holds only tasks due in the future), newest first."""
    from dashboard.metrics.periods import running_month

    last = running_month(cur)
    return [r[0] for r in cur.execute(
        "SELECT DISTINCT period FROM scope_month WHERE ?::VARCHAR IS NULL OR period <= ? ORDER BY period DESC",
        [last, last]).fetchall()]


def default_period(cur, on: date | None = None) -> str:
    """The last complete month with data (the current month is still filling up: its tasks due
    later this month are not late yet); the current month when nothing earlier has data."""
    from dashboard.metrics.periods import running_month

    # The running month is the data's (metrics/periods.py); `on` (a screen's today) may only move it back.
    running = [m for m in (running_month(cur), on and on.strftime("%Y-%m")) if m]
    current = min(running) if running else today_local().strftime("%Y-%m")
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


# --- OKR -----------------------------------------------------------------------------

def periods_covering(period: str) -> list[str]:
    """Objective periods that include the month: its year and its quarter ('2026', '2026-Q4')."""
    year, month = period[:4], int(period[5:7])
    return [year, f"{year}-Q{(month - 1) // 3 + 1}"]


def kr_progress(value, start, target) -> float | None:
    """Share of the way from start to target (0..1, either direction); None without a value."""
    if value is None:
        return None
    start = 0.0 if start is None else start
    if target == start:
        return 1.0 if value == target else 0.0
    return min(max((value - start) / (target - start), 0.0), 1.0)


def okr_tree(cur, unit_id: str, period: str, max_depth: int = 1) -> list[dict]:
    """Objectives of the unit and of units down to `max_depth` below it that cover `period`,
    each with `key_results` (current value, progress, confidence) and `children`, as forests
    per unit. A KR naming a KPI takes the value unit_kpis gives the objective's unit for
    `period`; a manual KR takes its latest check-in."""
    from dashboard.metrics.kpis import unit_kpis

    objectives = _records(cur, """
        SELECT o.objective_id, o.unit_id, u.name AS unit_name, o.period, o.title, o.parent_objective_id, c.depth
        FROM unit_closure c JOIN objectives o ON o.unit_id = c.descendant JOIN units u ON u.unit_id = o.unit_id
        WHERE c.ancestor = ? AND c.depth <= ? AND list_contains(?, o.period)
        ORDER BY c.depth, o.unit_id, o.objective_id""", [unit_id, max_depth, periods_covering(period)])
    if not objectives:
        return []
    ids = [o["objective_id"] for o in objectives]
    krs = _records(cur, """
        SELECT k.kr_id, k.objective_id, k.title, k.metric, k.start_value, k.target_value, k.direction,
               c.value AS checkin_value, c.confidence, c.checked_at
        FROM key_results k
        LEFT JOIN (SELECT * FROM checkins QUALIFY row_number() OVER (PARTITION BY kr_id ORDER BY checked_at DESC) = 1) c
               ON c.kr_id = k.kr_id
        WHERE k.objective_id IN (SELECT unnest(?)) ORDER BY k.kr_id""", [ids])
    unit_of = {o["objective_id"]: o["unit_id"] for o in objectives}
    kpis = {}
    for kr in krs:
        if kr["metric"] == "manual":
            kr["value"] = kr["checkin_value"]
        else:
            unit = unit_of[kr["objective_id"]]
            if unit not in kpis:
                kpis[unit] = unit_kpis(cur, unit, period)
            value = kpis[unit].get(kr["metric"])
            kr["value"] = len(value) if isinstance(value, list) else value
        kr["progress"] = kr_progress(kr["value"], kr["start_value"], kr["target_value"])
    by_objective: dict[str, list] = {}
    for kr in krs:
        by_objective.setdefault(kr["objective_id"], []).append(kr)
    nodes = {o["objective_id"]: {**o, "key_results": by_objective.get(o["objective_id"], []), "children": []}
             for o in objectives}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node["parent_objective_id"])
        (parent["children"] if parent else roots).append(node)
    return roots


def key_result(cur, kr_id: str) -> dict | None:
    """One key result with its objective's unit (for the scope check) and period."""
    return _one(cur, """
        SELECT k.kr_id, k.title, k.metric, k.start_value, k.target_value, k.direction,
               o.objective_id, o.unit_id, o.period AS objective_period, o.title AS objective_title
        FROM key_results k JOIN objectives o ON o.objective_id = k.objective_id WHERE k.kr_id = ?""", [kr_id])


def checkins(cur, kr_id: str) -> pd.DataFrame:
    """Every check-in of a key result, oldest first."""
    return frame(cur, "SELECT checked_at, value, confidence, note FROM checkins WHERE kr_id = ? ORDER BY checked_at",
                 [kr_id])


# --- the data page -------------------------------------------------------------------

# What "latest record" means per source table (identifiers from this allow-list only).
FRESHNESS = {
    "units": None, "officials": None, "tasks": "updated_at", "ratings": "rated_at",
    "evaluations": "acted_at", "unit_evaluations": "acted_at", "objectives": None,
    "key_results": None, "checkins": "checked_at",
}


def freshness(cur) -> list[dict]:
    """Per source kind: rows held, newest record time, and the last file loaded for it."""
    last = {r["kind"]: r for r in _records(cur, """
        SELECT kind, max(finished_at) AS last_loaded, count(*) AS files,
               sum(quarantined) AS quarantined FROM ingest_ledger WHERE kind IS NOT NULL GROUP BY kind""")}
    out = []
    for kind, column in FRESHNESS.items():
        latest = f"max({column})" if column else "NULL"
        rows, newest = cur.execute(f"SELECT count(*), {latest} FROM {kind}").fetchone()
        info = last.get(kind, {})
        out.append({"source": kind, "rows_total": rows, "latest_record": newest,
                    "last_loaded": info.get("last_loaded"), "files": info.get("files", 0),
                    "quarantined": info.get("quarantined") or 0})
    return out


def ingest_ledger(cur, limit: int = 50) -> list[dict]:
    """The latest files and batches the loader saw, newest first."""
    return _records(cur, """
        SELECT batch_id, file, kind, format, status, message, rows_read, loaded, duplicates, quarantined,
               started_at, seconds FROM ingest_ledger ORDER BY batch_id DESC LIMIT ?""", [limit])


def quarantine_summary(cur) -> list[dict]:
    """Quarantined rows by kind and reason, with how many are still unresolved."""
    return _records(cur, """
        SELECT kind, reason, count(*) AS quarantined, count(*) FILTER (WHERE resolved_by IS NULL) AS open_rows,
               max(file) AS file FROM quarantine GROUP BY kind, reason ORDER BY open_rows DESC, kind, reason""")


def quarantine_examples(cur, limit: int = 30) -> list[dict]:
    """The latest unresolved quarantined rows with their file, line, reason and raw text."""
    return _records(cur, """
        SELECT quarantine_id, file, kind, line, reason, detail, raw FROM quarantine
        WHERE resolved_by IS NULL ORDER BY quarantine_id DESC LIMIT ?""", [limit])


# --- explore -------------------------------------------------------------------------

EXPLORE_GROUPINGS = ("units", "level_1", "level_2", "level_3", "position", "counter", "month")
RATING_KEYS = ("ratings_count", "satisfaction_rate", "satisfaction_mean", "dissatisfied_count")
_SUMS = ", ".join(f"coalesce(sum(s.{c}), 0)::BIGINT AS {c}" for c in SUMS)
_LEVEL_COUNTS = ", ".join(f"count(*) FILTER (WHERE r.level = {i})::BIGINT AS r_l{i}" for i in (1, 2, 3, 4))
_NO_TASKS = "0::BIGINT AS tasks_due, 0::BIGINT AS tasks_done, 0::BIGINT AS tasks_on_time, 0::BIGINT AS points4"

_EXPLORE_SQL = {
    "units": f"""SELECT u.unit_id AS group_id, u.name AS "group", any_value(p.name) AS parent_name, {_SUMS}
        FROM units u LEFT JOIN units p ON p.unit_id = u.parent_id
        LEFT JOIN scope_month s ON s.unit_id = u.unit_id AND s.period BETWEEN $from AND $to
        WHERE u.unit_id IN (SELECT unnest($units)) GROUP BY u.unit_id, u.name""",
    "level": f"""SELECT u.unit_id AS group_id, u.name AS "group", any_value(p.name) AS parent_name, {_SUMS}
        FROM unit_closure c JOIN units u ON u.unit_id = c.descendant LEFT JOIN units p ON p.unit_id = u.parent_id
        LEFT JOIN scope_month s ON s.unit_id = u.unit_id AND s.period BETWEEN $from AND $to
        WHERE c.ancestor = $scope AND c.depth = $depth GROUP BY u.unit_id, u.name""",
    "month": f"""SELECT u.unit_id AS group_id, u.name AS "group", any_value(p.name) AS parent_name, s.period, {_SUMS}
        FROM units u LEFT JOIN units p ON p.unit_id = u.parent_id
        JOIN scope_month s ON s.unit_id = u.unit_id AND s.period BETWEEN $from AND $to
        WHERE u.unit_id IN (SELECT unnest($units)) GROUP BY u.unit_id, u.name, s.period""",
    "position": f"""SELECT coalesce(o.position, '') AS group_id, coalesce(o.position, '') AS "group",
            NULL::VARCHAR AS parent_name, {_SUMS}
        FROM official_month s JOIN officials o ON o.official_id = s.official_id
        WHERE s.period BETWEEN $from AND $to AND o.unit_id IN (
            SELECT descendant FROM unit_closure WHERE ancestor IN (SELECT unnest($units)))
        GROUP BY coalesce(o.position, '')""",
    # Counter ids repeat across one-stop offices, so a counter is (the official's unit, counter_id).
    "counter": f"""SELECT o.unit_id || '/' || coalesce(r.counter_id, '') AS group_id,
            coalesce(r.counter_id, '–') || ' · ' || any_value(u.name) AS "group", any_value(p.name) AS parent_name,
            {_NO_TASKS}, {_LEVEL_COUNTS}
        FROM ratings r JOIN officials o ON o.official_id = r.official_id JOIN units u ON u.unit_id = o.unit_id
        LEFT JOIN units p ON p.unit_id = u.parent_id
        WHERE r.rated_at >= $start AND r.rated_at < $end AND o.unit_id IN (
            SELECT descendant FROM unit_closure WHERE ancestor IN (SELECT unnest($units)))
        GROUP BY o.unit_id, r.counter_id""",
}


def explore(cur, grouping: str, period_from: str, period_to: str, unit_ids: list[str]) -> pd.DataFrame:
    """Every KPI that adds up from the rollups, over a period range, for one grouping:
    the chosen units, the units at level 1-3 below `unit_ids[0]`, positions or one-stop counters
    within the chosen units' subtrees, or months x units. Rates use definitions.RATE_SQL, so they
    equal unit_kpis for one unit and one month. Unit groups carry `parent_name`, since offices
    under different departments share names ("Văn phòng")."""
    if grouping not in EXPLORE_GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}")
    if period_from > period_to:
        period_from, period_to = period_to, period_from
    params = {"from": period_from, "to": period_to}
    if grouping.startswith("level_"):
        sql = _EXPLORE_SQL["level"]
        params.update(scope=unit_ids[0], depth=int(grouping[-1]))
    else:
        sql = _EXPLORE_SQL[grouping]
        params["units"] = list(unit_ids)
        if grouping == "counter":
            start, _ = period_bounds(period_from)
            _, end = period_bounds(period_to)
            params = {"units": list(unit_ids), "start": start, "end": end}
    rates = ", ".join(f"{expr} AS {name}" for name, expr in RATE_SQL.items())
    order = '"group", period' if grouping == "month" else '"group"'
    return frame(cur, f"""
        SELECT * EXCLUDE (points4, r_l1, r_l2, r_l3, r_l4), {rates}
        FROM ({sql}) ORDER BY {order}""", params)
