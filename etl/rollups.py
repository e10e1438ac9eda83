"""Rollup maintenance, inside the loader's transaction, from the rows a batch changed.

The loader leaves two temp tables: `changed_new` (rows written) and `changed_old` (the
versions they replaced). Per-official sums move by the difference of the two; unit and
subtree sums are recomputed for the units touched, from the level below. `rebuild_all`
computes everything from the facts, and tests hold the incremental path equal to it.
"""
from __future__ import annotations

from dataclasses import dataclass

from etl.formulas import BAND_SQL, EXCELLENT_CAP, SUMS, rates_sql


# One task's contribution to its official's month (cancelled tasks count nowhere).
_TASK_SUMS = """
    count(*) AS tasks_due,
    count(*) FILTER (WHERE status = 'done') AS tasks_done,
    count(*) FILTER (WHERE status = 'done' AND completed_at <= due_at) AS tasks_on_time,
    coalesce(sum(CASE WHEN status = 'done' THEN greatest(0, 4 - (completed_at > due_at)::INTEGER
                 - quality_failures) ELSE 0 END), 0) AS points4,
    0 AS r_l1, 0 AS r_l2, 0 AS r_l3, 0 AS r_l4"""
_RATING_SUMS = """
    0 AS tasks_due, 0 AS tasks_done, 0 AS tasks_on_time, 0 AS points4,
    count(*) FILTER (WHERE level = 1) AS r_l1, count(*) FILTER (WHERE level = 2) AS r_l2,
    count(*) FILTER (WHERE level = 3) AS r_l3, count(*) FILTER (WHERE level = 4) AS r_l4"""


def apply_changes(conn, kind: str) -> set[str] | None:
    """Bring the rollups up to date with the batch in changed_new / changed_old. Returns the
    units whose subtree's figures may have moved (the changed officials' units and every
    ancestor), or None when anything may have (units, officials, evaluations, OKRs): the
    live pages refresh only the scopes returned."""
    periods: list[str] | None = []   # months whose evaluation counts, rules and scores to redo; None = all
    touched: set[str] | None = None
    if kind in ("tasks", "ratings"):
        # Task and rating sums move official by official: the months' scores and the one
        # rule that reads tasks (rating_not_supported) are redone for those officials only.
        conn.execute("CREATE OR REPLACE TEMP TABLE touched_scopes (unit_id VARCHAR)")
        (_tasks_delta if kind == "tasks" else _ratings_delta)(conn)
        _rebuild_for_officials(conn, kind)
        touched = {r[0] for r in conn.execute("SELECT DISTINCT unit_id FROM touched_scopes").fetchall()}
    elif kind == "evaluations":
        _recompute_eval_current(conn, "evaluations", "official_id", "eval_current",
                                "SELECT DISTINCT official_id, period FROM changed_new")
        periods = _periods(conn, "SELECT DISTINCT period FROM changed_new")
    elif kind == "unit_evaluations":
        _recompute_eval_current(conn, "unit_evaluations", "unit_id", "unit_eval_current",
                                "SELECT DISTINCT unit_id, period FROM changed_new")
        periods = _periods(conn, "SELECT DISTINCT period FROM changed_new")
    elif kind == "officials":
        # An official who moved takes their sums to the new unit.
        conn.execute("CREATE OR REPLACE TEMP TABLE affected_units AS "
                     "SELECT unit_id FROM changed_new UNION SELECT unit_id FROM changed_old")
        _recompute_units(conn)
        _rebuild_people(conn)
        periods = None
    elif kind == "units":
        rebuild_closure(conn)
        _rebuild_scopes(conn)
        _rebuild_people(conn)
        periods = None
    if periods is None or periods:
        _rebuild_evaluation_scopes(conn, periods)
        _rebuild_rules(conn, periods)
        rebuild_scores(conn, periods)
    for table in ("affected_units", "official_month_new", "official_open_due_new", "touched_scopes"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    return touched


def _rebuild_for_officials(conn, kind: str) -> None:
    """official_scores (and, for tasks, rating_not_supported) for the (official, period)
    pairs whose sums moved, which are the rows of official_month_new; a month new to
    official_scores gets every official, as a rebuild would."""
    new_months = _periods(conn, "SELECT DISTINCT period FROM official_month_new "
                                "WHERE period NOT IN (SELECT DISTINCT period FROM official_scores)")
    if new_months:
        rebuild_scores(conn, new_months)
    # Only the month sums moved, and only the columns of this kind: they are updated in place
    # (every column set is logged at commit). Deleting and inserting whole rows, names and
    # all, cost twice as long, and as much again at commit.
    sums = ", ".join(f"{c} = d.{c}" for c in _SCORE_SUMS if (c in _RATING_SCORES) == (kind == "ratings"))
    # official_month_new holds those pairs' new sums (all zeros where the row went away), so
    # the 2M-row official_month is not read again.
    conn.execute(f"""
        UPDATE official_scores s SET {sums} FROM (
            SELECT m.official_id, m.period, {_month_scores_sql()} FROM official_month_new m) d
        WHERE s.official_id = d.official_id AND s.period = d.period AND NOT list_contains(?, d.period)""",
        [new_months])
    if kind == "tasks":
        pair = "(SELECT 1 FROM official_month_new a WHERE a.official_id = {t}.official_id AND a.period = {t}.period)"
        conn.execute(f"DELETE FROM rule_hits h WHERE rule = 'rating_not_supported' AND EXISTS {pair.format(t='h')}")
        # The pairs' new task sums are there too: joining the 2M-row official_month instead
        # cost a 1,000-row file 60-80 ms.
        conn.execute("INSERT INTO rule_hits " + RULES_SQL.format(
            where=f"EXISTS {pair.format(t='e')}", rules="rule = 'rating_not_supported'", month="official_month_new"))


def _periods(conn, sql: str) -> list[str]:
    return [r[0] for r in conn.execute(sql).fetchall()]


def _rebuild_people(conn) -> None:
    conn.execute("DELETE FROM scope_people")
    conn.execute("INSERT INTO scope_people SELECT c.ancestor, count(*) FILTER (WHERE o.active) "
                 "FROM officials o JOIN unit_closure c ON c.descendant = o.unit_id GROUP BY ALL")


def _period_filter(periods: list[str] | None, column: str = "period") -> tuple[str, list]:
    if periods is None:
        return "", []
    return f" WHERE list_contains(?, {column})", [periods]


def _rebuild_evaluation_scopes(conn, periods: list[str] | None) -> None:
    """scope_eval_month for the given months (None = all) from eval_current."""
    where, params = _period_filter(periods)
    conn.execute("DELETE FROM scope_eval_month" + where, params)
    where, params = _period_filter(periods, "e.period")
    conn.execute("INSERT INTO scope_eval_month " + SCOPE_EVAL_SQL.format(where=where), params)


SCOPE_EVAL_SQL = (
    "SELECT c.ancestor AS unit_id, e.period, "
    "count(*) FILTER (WHERE e.rating = 'HTXS') AS htxs, count(*) FILTER (WHERE e.rating = 'HTT') AS htt, "
    "count(*) FILTER (WHERE e.rating = 'HT') AS ht, count(*) FILTER (WHERE e.rating = 'KHT') AS kht, "
    "count(*) FILTER (WHERE o.active) AS rated_active "
    "FROM eval_current e JOIN officials o USING (official_id) "
    "JOIN unit_closure c ON c.descendant = o.unit_id{where} GROUP BY ALL")


_RANK = "CASE {r} WHEN 'HTXS' THEN 4 WHEN 'HTT' THEN 3 WHEN 'HT' THEN 2 WHEN 'KHT' THEN 1 END"

# The rules of metrics.md for the officials and months that {where} selects, with their task
# sums from {month} (official_month, or the rows a load just changed).
RULES_SQL = f"""
WITH results AS (
    SELECT e.period, o.official_id, o.unit_id, o.is_head, e.rating, e.band, e.has_self_before,
           e.latest_self_rating, m.tasks_due, m.tasks_on_time
    FROM eval_current e JOIN officials o USING (official_id)
    LEFT JOIN {{month}} m ON m.official_id = e.official_id AND m.period = e.period
    WHERE {{where}}
)
SELECT * FROM (
SELECT 'head_above_collective' AS rule, r.unit_id, r.official_id, r.period
FROM results r JOIN unit_eval_current u ON u.unit_id = r.unit_id AND u.period = r.period
WHERE r.is_head AND {_RANK.format(r='r.rating')} > {_RANK.format(r='u.rating')}
UNION ALL
SELECT 'excellent_quota', unit_id, NULL, period FROM results GROUP BY unit_id, period
HAVING count(*) FILTER (WHERE rating = 'HTXS') > {EXCELLENT_CAP} * count(*)
UNION ALL
SELECT 'rating_outside_band', unit_id, official_id, period FROM results WHERE rating <> band
UNION ALL
SELECT 'final_without_self', unit_id, official_id, period FROM results WHERE NOT has_self_before
UNION ALL
SELECT 'rating_not_supported', unit_id, official_id, period FROM results
WHERE rating IN ('HTXS', 'HTT') AND tasks_due > 0 AND tasks_on_time / tasks_due < 0.5
UNION ALL
SELECT 'self_inflation', unit_id, official_id, period FROM results
WHERE {_RANK.format(r='latest_self_rating')} - {_RANK.format(r='rating')} >= 2
) WHERE {{rules}}
"""


def _month_scores_sql() -> str:
    """official_scores' columns from official_month m (_SCORE_SUMS, in order; zeros and nulls
    for a month without a row)."""
    return f"""coalesce(m.tasks_due, 0) AS tasks_due, coalesce(m.tasks_done, 0) AS tasks_done,
               coalesce(m.tasks_on_time, 0) AS tasks_on_time,
               {rates_sql('m', ('on_time_rate', 'completion_rate', 'task_score'))},
               coalesce(m.r_l1 + m.r_l2 + m.r_l3 + m.r_l4, 0) AS ratings_count,
               {rates_sql('m', ('satisfaction_rate', 'satisfaction_mean'))}"""


def _scores_sql(pairs: str) -> str:
    """One row per official and month of `pairs` (a FROM item giving p.period and o.*),
    with the month's sums and current result."""
    return f"""
        SELECT p.period, o.official_id, o.unit_id, o.full_name, o.position, o.is_head, o.active,
               {_month_scores_sql()}, e.score, e.rating
        FROM {pairs}
        LEFT JOIN official_month m ON m.official_id = o.official_id AND m.period = p.period
        LEFT JOIN eval_current e ON e.official_id = o.official_id AND e.period = p.period"""


# The columns of official_scores that come from official_month.
_SCORE_SUMS = ("tasks_due", "tasks_done", "tasks_on_time", "on_time_rate", "completion_rate", "task_score",
               "ratings_count", "satisfaction_rate", "satisfaction_mean")
_RATING_SCORES = ("ratings_count", "satisfaction_rate", "satisfaction_mean")  # the ones ratings move


def rebuild_scores(conn, periods: list[str] | None) -> None:
    """official_scores for the given months (None = every month with data): every official,
    with or without data that month, so a ranking lists the whole subtree."""
    if periods is None:
        periods = _periods(conn, "SELECT DISTINCT period FROM official_month UNION "
                                 "SELECT DISTINCT period FROM eval_current")
    conn.execute("DELETE FROM official_scores WHERE list_contains(?, period)", [periods])
    conn.execute("INSERT INTO official_scores " + _scores_sql("unnest(?::VARCHAR[]) p(period) CROSS JOIN officials o")
                 + " ORDER BY p.period, o.unit_id", [periods])


def _rebuild_rules(conn, periods: list[str] | None) -> None:
    where, params = _period_filter(periods)
    conn.execute("DELETE FROM rule_hits" + where, params)
    conn.execute("INSERT INTO rule_hits " + RULES_SQL.format(
        where="TRUE" if periods is None else "list_contains(?, e.period)", rules="TRUE", month="official_month"),
        params)


def _add_delta(conn, table: str, keys: tuple[str, ...], cols: tuple[str, ...], delta: str) -> None:
    """table[keys] += delta[keys] for the keys in `delta`; rows that reach all zeros go away.
    The new rows of those keys, zeros included, stay in the temp table `{table}_new`."""
    on = " AND ".join(f"t.{k} = d.{k}" for k in keys)
    key_list = ", ".join(keys)
    summed = ", ".join(f"coalesce(t.{c}, 0) + d.{c} AS {c}" for c in cols)
    nonzero = " OR ".join(f"{c} <> 0" for c in cols)
    merged = f"{table}_new"
    # The old rows' row ids come with the join, so the delete needs no second join on the keys.
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {merged} AS SELECT {', '.join('d.' + k for k in keys)}, {summed}, "
                 f"t.rowid AS _rid FROM {delta} d LEFT JOIN {table} t ON {on}")
    conn.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT _rid FROM {merged})")
    conn.execute(f"INSERT INTO {table} ({key_list}, {', '.join(cols)}) SELECT * EXCLUDE (_rid) FROM {merged} "
                 f"WHERE {nonzero}")


def _tasks_delta(conn) -> None:
    signed = ("(SELECT *, 1 AS sign FROM changed_new UNION ALL "
              "SELECT *, -1 AS sign FROM changed_old)")
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE month_delta AS
        SELECT official_id, strftime(month, '%Y-%m') AS period, * EXCLUDE (official_id, month) FROM (
        SELECT official_id, date_trunc('month', due_at) AS month,  -- format after grouping: cheaper
               sum(sign) AS tasks_due,
               sum(sign * (status = 'done')::INTEGER) AS tasks_done,
               sum(sign * (status = 'done' AND completed_at <= due_at)::INTEGER) AS tasks_on_time,
               sum(sign * CASE WHEN status = 'done' THEN greatest(0, 4 - (completed_at > due_at)::INTEGER
                   - quality_failures) ELSE 0 END) AS points4,
               0 AS r_l1, 0 AS r_l2, 0 AS r_l3, 0 AS r_l4
        FROM {signed} WHERE status <> 'cancelled' GROUP BY ALL)""")
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE open_delta AS
        SELECT official_id, due_at, sum(sign) AS n FROM {signed} WHERE status = 'open'
        GROUP BY ALL HAVING sum(sign) <> 0""")
    conn.execute("DELETE FROM month_delta WHERE tasks_due = 0 AND tasks_done = 0 AND tasks_on_time = 0 "
                 "AND points4 = 0")
    _propagate(conn, "month_delta", "period", SUMS, "official_month", "unit_month", "scope_month")
    _propagate(conn, "open_delta", "due_at", ("n",), "official_open_due", "unit_open_due", "scope_open_due")


def _ratings_delta(conn) -> None:
    conn.execute(f"CREATE OR REPLACE TEMP TABLE month_delta AS SELECT official_id, strftime(month, '%Y-%m') "
                 f"AS period, * EXCLUDE (official_id, month) FROM (SELECT official_id, "
                 f"date_trunc('month', rated_at) AS month, {_RATING_SUMS} FROM changed_new GROUP BY ALL)")
    _propagate(conn, "month_delta", "period", SUMS, "official_month", "unit_month", "scope_month")


def _propagate(conn, delta: str, grain: str, cols: tuple[str, ...], official: str, unit: str, scope: str) -> None:
    """Add a per-official delta to the official, unit and subtree rollups, then drop it.
    All sums are counts (never negative in total), so a row whose sums reach zero is
    exactly a row a full rebuild would not have, and it is removed."""
    sums = ", ".join(f"sum(d.{c}) AS {c}" for c in cols)
    _add_delta(conn, official, ("official_id", grain), cols, delta)
    conn.execute(f"CREATE OR REPLACE TEMP TABLE unit_delta AS SELECT o.unit_id, d.{grain}, {sums} "
                 f"FROM {delta} d JOIN officials o USING (official_id) GROUP BY ALL")
    _add_delta(conn, unit, ("unit_id", grain), cols, "unit_delta")
    conn.execute(f"CREATE OR REPLACE TEMP TABLE scope_delta AS SELECT c.ancestor AS unit_id, d.{grain}, {sums} "
                 f"FROM unit_delta d JOIN unit_closure c ON c.descendant = d.unit_id GROUP BY ALL")
    _add_delta(conn, scope, ("unit_id", grain), cols, "scope_delta")
    conn.execute("INSERT INTO touched_scopes SELECT DISTINCT unit_id FROM scope_delta")
    # {official}_new stays for the caller (the official_scores update reads official_month_new).
    conn.execute("; ".join(f"DROP TABLE {table}" for table in
                           (delta, "unit_delta", "scope_delta", f"{unit}_new", f"{scope}_new")))


def _recompute_units(conn) -> None:
    """unit_* rollups of the units in affected_units, then the subtrees above them."""
    sums = ", ".join(f"sum(m.{c}) AS {c}" for c in SUMS)
    conn.execute("DELETE FROM unit_month WHERE unit_id IN (SELECT unit_id FROM affected_units)")
    conn.execute(f"INSERT INTO unit_month SELECT o.unit_id, m.period, {sums} FROM official_month m "
                 f"JOIN officials o USING (official_id) WHERE o.unit_id IN (SELECT unit_id FROM affected_units) "
                 f"GROUP BY ALL")
    conn.execute("DELETE FROM unit_open_due WHERE unit_id IN (SELECT unit_id FROM affected_units)")
    conn.execute("INSERT INTO unit_open_due SELECT o.unit_id, d.due_at, sum(d.n) FROM official_open_due d "
                 "JOIN officials o USING (official_id) WHERE o.unit_id IN (SELECT unit_id FROM affected_units) "
                 "GROUP BY ALL")
    conn.execute("CREATE OR REPLACE TEMP TABLE affected_scopes AS SELECT DISTINCT c.ancestor AS unit_id "
                 "FROM unit_closure c WHERE c.descendant IN (SELECT unit_id FROM affected_units)")
    _rebuild_scopes(conn, "affected_scopes")
    conn.execute("DROP TABLE affected_scopes")


def _rebuild_scopes(conn, only: str | None = None) -> None:
    """scope_* rollups (sums over each unit's subtree) for the units in `only`, or all."""
    sums = ", ".join(f"sum(u.{c}) AS {c}" for c in SUMS)
    where = f" WHERE c.ancestor IN (SELECT unit_id FROM {only})" if only else ""
    for table, src, grain in (("scope_month", "unit_month", "u.period"),
                              ("scope_open_due", "unit_open_due", "u.due_at")):
        conn.execute(f"DELETE FROM {table}" + (f" WHERE unit_id IN (SELECT unit_id FROM {only})" if only else ""))
        values = sums if table == "scope_month" else "sum(u.n)"
        conn.execute(f"INSERT INTO {table} SELECT c.ancestor, {grain}, {values} FROM {src} u "
                     f"JOIN unit_closure c ON c.descendant = u.unit_id{where} GROUP BY ALL")


# The closure of the unit tree as a walk up from every unit: the first level, then one step
# from the level before (`walk`). DuckDB runs them as one recursive CTE; Spark (etl/spark)
# repeats the step until it adds nothing.
CLOSURE_SEED = "SELECT unit_id AS ancestor, unit_id AS descendant, 0 AS depth FROM units"
CLOSURE_STEP = ("SELECT u.parent_id AS ancestor, w.descendant, w.depth + 1 AS depth FROM walk w "
                "JOIN units u ON u.unit_id = w.ancestor WHERE u.parent_id IS NOT NULL AND w.depth < 64")


def rebuild_closure(conn) -> None:
    conn.execute("DELETE FROM unit_closure")
    conn.execute(f"""
        INSERT INTO unit_closure
        WITH RECURSIVE walk(ancestor, descendant, depth) AS ({CLOSURE_SEED} UNION ALL {CLOSURE_STEP})
        SELECT ancestor, descendant, depth FROM walk""")


def _recompute_eval_current(conn, events: str, owner: str, target: str, affected_sql: str) -> None:
    """Current results of the (owner, period) pairs a batch touched, from all their events."""
    conn.execute(f"CREATE OR REPLACE TEMP TABLE affected_pairs AS {affected_sql}")
    conn.execute(f"DELETE FROM {target} t WHERE EXISTS (SELECT 1 FROM affected_pairs a "
                 f"WHERE a.{owner} = t.{owner} AND a.period = t.period)")
    conn.execute(f"INSERT INTO {target} {current_results_sql(events, owner, target, 'affected_pairs')}")
    conn.execute("DROP TABLE affected_pairs")


def current_results_sql(events: str, owner: str, target: str, only: str | None = None) -> str:
    """SELECT of the current result per (owner, period), shaped like `target`.

    Events are ordered by acted_at, then event_id; the current result is the latest final
    unless a cancel comes after it.
    """
    band = BAND_SQL.format(s="score")
    where = (f"WHERE EXISTS (SELECT 1 FROM {only} a WHERE a.{owner} = e.{owner} AND a.period = e.period)"
             if only else "")
    base = f"""
        WITH ordered AS (
            SELECT e.*, coalesce(rating, {band}) AS effective, {band} AS band,
                   row_number() OVER (PARTITION BY {owner}, period ORDER BY acted_at, event_id) AS seq
            FROM {events} e {where}
        ), marks AS (
            SELECT {owner}, period,
                   max(seq) FILTER (WHERE stage = 'final') AS final_seq,
                   max(seq) FILTER (WHERE stage = 'cancel') AS cancel_seq,
                   max(seq) FILTER (WHERE stage = 'self') AS last_self_seq,
                   min(seq) FILTER (WHERE stage = 'self') AS first_self_seq
            FROM ordered GROUP BY ALL
        )"""
    if target == "unit_eval_current":
        return base + f"""
        SELECT o.{owner}, o.period, o.event_id, o.score, o.effective, o.acted_at
        FROM marks m JOIN ordered o ON o.{owner} = m.{owner} AND o.period = m.period AND o.seq = m.final_seq
        WHERE m.cancel_seq IS NULL OR m.cancel_seq < m.final_seq"""
    return base + f"""
        SELECT o.{owner}, o.period, o.event_id, o.score, o.effective, o.band, o.acted_at, o.actor_id,
               coalesce(m.first_self_seq < m.final_seq, FALSE) AS has_self_before,
               s.effective AS latest_self_rating
        FROM marks m JOIN ordered o ON o.{owner} = m.{owner} AND o.period = m.period AND o.seq = m.final_seq
        LEFT JOIN ordered s ON s.{owner} = m.{owner} AND s.period = m.period AND s.seq = m.last_self_seq
        WHERE m.cancel_seq IS NULL OR m.cancel_seq < m.final_seq"""


ROLLUP_TABLES = ("official_month", "official_open_due", "unit_month", "scope_month", "unit_open_due",
                 "scope_open_due", "eval_current", "unit_eval_current", "unit_closure", "scope_people",
                 "scope_eval_month", "rule_hits", "official_scores")


@dataclass(frozen=True)
class Step:
    """One rollup of the full build: a SELECT in DuckDB's dialect over the facts and the rollups
    built before it, giving the table's columns in order. etl/spark translates the same text to
    Spark SQL (SQLGlot); `order_by` is the physical order DuckDB stores it in (rankings read
    official_scores by period and unit)."""
    table: str
    sql: str
    order_by: str | None = None


def _sums(alias: str) -> str:
    return ", ".join(f"sum({alias}.{c}) AS {c}" for c in SUMS)


# The metric catalogue: every rollup computed from the facts alone, written once. rebuild_all()
# runs it in DuckDB; `python -m etl spark rollups` runs it on Spark. unit_closure comes first
# (CLOSURE_SEED / CLOSURE_STEP), the steps below read it.
FULL_BUILD = (
    Step("official_month", f"""
        SELECT official_id, period, sum(tasks_due) AS tasks_due, sum(tasks_done) AS tasks_done,
               sum(tasks_on_time) AS tasks_on_time, sum(points4) AS points4, sum(r_l1) AS r_l1,
               sum(r_l2) AS r_l2, sum(r_l3) AS r_l3, sum(r_l4) AS r_l4
        FROM (SELECT official_id, strftime(due_at, '%Y-%m') AS period, {_TASK_SUMS}
              FROM tasks WHERE status <> 'cancelled' GROUP BY ALL
              UNION ALL
              SELECT official_id, strftime(rated_at, '%Y-%m') AS period, {_RATING_SUMS}
              FROM ratings GROUP BY ALL) AS month_sums
        GROUP BY ALL"""),
    Step("official_open_due", "SELECT official_id, due_at, count(*) AS n FROM tasks WHERE status = 'open' GROUP BY ALL"),
    Step("unit_month", f"SELECT o.unit_id, m.period, {_sums('m')} FROM official_month m "
                       f"JOIN officials o USING (official_id) GROUP BY ALL"),
    Step("unit_open_due", "SELECT o.unit_id, d.due_at, sum(d.n) AS n FROM official_open_due d "
                          "JOIN officials o USING (official_id) GROUP BY ALL"),
    Step("scope_month", f"SELECT c.ancestor AS unit_id, u.period, {_sums('u')} FROM unit_month u "
                        f"JOIN unit_closure c ON c.descendant = u.unit_id GROUP BY ALL"),
    Step("scope_open_due", "SELECT c.ancestor AS unit_id, u.due_at, sum(u.n) AS n FROM unit_open_due u "
                           "JOIN unit_closure c ON c.descendant = u.unit_id GROUP BY ALL"),
    Step("eval_current", current_results_sql("evaluations", "official_id", "eval_current")),
    Step("unit_eval_current", current_results_sql("unit_evaluations", "unit_id", "unit_eval_current")),
    Step("scope_people", "SELECT c.ancestor AS unit_id, count(*) FILTER (WHERE o.active) AS officials_total "
                         "FROM officials o JOIN unit_closure c ON c.descendant = o.unit_id GROUP BY ALL"),
    Step("scope_eval_month", SCOPE_EVAL_SQL.format(where="")),
    Step("rule_hits", RULES_SQL.format(where="TRUE", rules="TRUE", month="official_month")),
    Step("official_scores", _scores_sql("(SELECT period FROM official_month UNION SELECT period FROM eval_current) p "
                                        "CROSS JOIN officials o"), order_by="period, unit_id"),
)


def rebuild_all(conn) -> None:
    """Every rollup from the facts alone (FULL_BUILD): the reference the incremental path must
    equal, and what the Spark job computes from the lake."""
    for table in ROLLUP_TABLES:
        conn.execute(f"DELETE FROM {table}")
    rebuild_closure(conn)
    for step in FULL_BUILD:
        order = f" ORDER BY {step.order_by}" if step.order_by else ""
        conn.execute(f"INSERT INTO {step.table} SELECT * FROM ({step.sql}) AS built{order}")
