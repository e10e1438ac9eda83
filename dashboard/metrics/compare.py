"""Side-by-side views: the children of a unit, and the officials of a subtree ranked."""
from __future__ import annotations

import pandas as pd

from dashboard.metrics.definitions import RATE_SQL
from dashboard.metrics.kpis import _as_of
from dashboard.metrics.rules import rule_items

_RATES = ", ".join(f"{sql} AS {name}" for name, sql in RATE_SQL.items())

CHILD_COLUMNS = ("unit_id", "name", "kind", "officials_total", "tasks_due", "on_time_rate", "completion_rate",
                 "task_score", "overdue_open", "ratings_count", "satisfaction_rate", "rated_officials",
                 "pending_evaluations", "violations", "warnings")

# Sort keys a caller may ask for (an allow-list: they become SQL identifiers).
RANKING_SORTS = ("task_score", "on_time_rate", "completion_rate", "tasks_due", "satisfaction_rate",
                 "satisfaction_mean", "ratings_count", "score", "full_name")


def children(cur, unit_id: str, period: str, as_of=None) -> pd.DataFrame:
    """Each direct child of the unit with its subtree's KPIs for the month."""
    as_of = _as_of(as_of)
    frame = cur.execute(f"""
        WITH kids AS (SELECT unit_id, name, kind FROM units WHERE parent_id = $unit),
        people AS (
            SELECT c.ancestor AS unit_id, count(*) FILTER (WHERE o.active) AS officials_total,
                   count(e.rating) AS rated_officials,
                   count(*) FILTER (WHERE o.active AND e.rating IS NULL) AS pending_evaluations
            FROM officials o JOIN unit_closure c ON c.descendant = o.unit_id
            LEFT JOIN eval_current e ON e.official_id = o.official_id AND e.period = $period
            WHERE c.ancestor IN (SELECT unit_id FROM kids) GROUP BY c.ancestor
        ), overdue AS (
            SELECT unit_id, sum(n) AS overdue_open FROM scope_open_due
            WHERE unit_id IN (SELECT unit_id FROM kids) AND due_at < $as_of GROUP BY unit_id
        ), sums AS (
            SELECT unit_id, tasks_due, {_RATES} FROM scope_month
            WHERE unit_id IN (SELECT unit_id FROM kids) AND period = $period
        )
        SELECT k.unit_id, k.name, k.kind, coalesce(p.officials_total, 0) AS officials_total,
               coalesce(s.tasks_due, 0) AS tasks_due, s.on_time_rate, s.completion_rate, s.task_score,
               coalesce(d.overdue_open, 0) AS overdue_open, coalesce(s.ratings_count, 0) AS ratings_count,
               s.satisfaction_rate, coalesce(p.rated_officials, 0) AS rated_officials,
               coalesce(p.pending_evaluations, 0) AS pending_evaluations
        FROM kids k LEFT JOIN people p USING (unit_id) LEFT JOIN sums s USING (unit_id)
        LEFT JOIN overdue d USING (unit_id) ORDER BY k.unit_id""",
        {"unit": unit_id, "period": period, "as_of": as_of}).df()
    # Each rule item counts for the child whose subtree holds its unit.
    items = rule_items(cur, period, unit_id=unit_id)
    owner = dict(cur.execute(
        "SELECT c.descendant, c.ancestor FROM unit_closure c JOIN units u ON u.unit_id = c.ancestor "
        "WHERE u.parent_id = ?", [unit_id]).fetchall())
    for kind, column in (("violation", "violations"), ("warning", "warnings")):
        counts = pd.Series([owner.get(i["unit_id"]) for i in items if i["kind"] == kind]).value_counts()
        frame[column] = frame["unit_id"].map(counts).fillna(0).astype("int64")
    for col in ("officials_total", "tasks_due", "overdue_open", "ratings_count", "rated_officials",
                "pending_evaluations"):
        frame[col] = frame[col].astype("int64")
    return frame[list(CHILD_COLUMNS)]


def officials_ranking(cur, unit_id: str, period: str, sort_by: str = "task_score", descending: bool = True,
                      limit: int | None = None) -> pd.DataFrame:
    """The officials of the subtree with their month's KPIs and current result, ranked."""
    if sort_by not in RANKING_SORTS:
        raise ValueError(f"cannot sort by {sort_by!r}; choose one of {', '.join(RANKING_SORTS)}")
    order = f"{sort_by} {'DESC' if descending else 'ASC'} NULLS LAST, official_id"
    return cur.execute(f"""
        SELECT o.official_id, o.full_name, o.position, o.unit_id, u.name AS unit_name, o.is_head, o.active,
               coalesce(m.tasks_due, 0) AS tasks_due, coalesce(m.tasks_done, 0) AS tasks_done,
               coalesce(m.tasks_on_time, 0) AS tasks_on_time,
               m.tasks_on_time / nullif(m.tasks_due, 0) AS on_time_rate,
               m.tasks_done / nullif(m.tasks_due, 0) AS completion_rate,
               {RATE_SQL['task_score'].replace('points4', 'm.points4').replace('tasks_due', 'm.tasks_due')} AS task_score,
               coalesce(m.r_l1 + m.r_l2 + m.r_l3 + m.r_l4, 0) AS ratings_count,
               {RATE_SQL['satisfaction_rate'].replace('r_l', 'm.r_l')} AS satisfaction_rate,
               {RATE_SQL['satisfaction_mean'].replace('r_l', 'm.r_l')} AS satisfaction_mean,
               e.score, e.rating
        FROM officials o JOIN unit_closure c ON c.descendant = o.unit_id AND c.ancestor = ?
        JOIN units u ON u.unit_id = o.unit_id
        LEFT JOIN official_month m ON m.official_id = o.official_id AND m.period = ?
        LEFT JOIN eval_current e ON e.official_id = o.official_id AND e.period = ?
        ORDER BY {order}""" + (" LIMIT ?" if limit else ""),
        [unit_id, period, period] + ([int(limit)] if limit else [])).df()
