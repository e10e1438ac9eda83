"""Side-by-side views: the children of a unit, and the officials of a subtree ranked."""
from __future__ import annotations

import pandas as pd

from dashboard.metrics.sql import frame

from dashboard.metrics.definitions import rates_sql
from dashboard.metrics.kpis import as_of_date
from dashboard.metrics.rules import VIOLATION_RULES


CHILD_COLUMNS = ("unit_id", "name", "kind", "officials_total", "tasks_due", "on_time_rate", "completion_rate",
                 "task_score", "overdue_open", "ratings_count", "satisfaction_rate", "rated_officials",
                 "pending_evaluations", "violations", "warnings")

# Sort keys a caller may ask for (an allow-list: they become SQL identifiers).
RANKING_SORTS = ("task_score", "on_time_rate", "completion_rate", "tasks_due", "satisfaction_rate",
                 "satisfaction_mean", "ratings_count", "score", "full_name")


def children(cur, unit_id: str, period: str, as_of=None) -> pd.DataFrame:
    """Each direct child of the unit with its subtree's KPIs for the month."""
    table = frame(cur, f"""
        WITH kids AS (SELECT unit_id, name, kind FROM units WHERE parent_id = $unit),
        hits AS (
            SELECT c.ancestor AS unit_id,
                   count(*) FILTER (WHERE list_contains($violations, h.rule)) AS violations,
                   count(*) FILTER (WHERE NOT list_contains($violations, h.rule)) AS warnings
            FROM rule_hits h JOIN unit_closure c ON c.descendant = h.unit_id
            WHERE h.period = $period AND c.ancestor IN (SELECT unit_id FROM kids) GROUP BY c.ancestor
        ), overdue AS (
            SELECT unit_id, sum(n) AS overdue_open FROM scope_open_due
            WHERE unit_id IN (SELECT unit_id FROM kids) AND due_at < $as_of GROUP BY unit_id
        )
        SELECT k.unit_id, k.name, k.kind, coalesce(p.officials_total, 0) AS officials_total,
               coalesce(s.tasks_due, 0) AS tasks_due,
               {rates_sql('s', ('on_time_rate', 'completion_rate', 'task_score', 'satisfaction_rate'))},
               coalesce(d.overdue_open, 0) AS overdue_open,
               coalesce(s.r_l1 + s.r_l2 + s.r_l3 + s.r_l4, 0) AS ratings_count,
               coalesce(e.htxs + e.htt + e.ht + e.kht, 0) AS rated_officials,
               coalesce(p.officials_total, 0) - coalesce(e.rated_active, 0) AS pending_evaluations,
               coalesce(h.violations, 0) AS violations, coalesce(h.warnings, 0) AS warnings
        FROM kids k
        LEFT JOIN scope_people p USING (unit_id)
        LEFT JOIN scope_month s ON s.unit_id = k.unit_id AND s.period = $period
        LEFT JOIN scope_eval_month e ON e.unit_id = k.unit_id AND e.period = $period
        LEFT JOIN overdue d ON d.unit_id = k.unit_id
        LEFT JOIN hits h ON h.unit_id = k.unit_id
        ORDER BY k.unit_id""",
        {"unit": unit_id, "period": period, "as_of": as_of_date(as_of), "violations": list(VIOLATION_RULES)})
    return table[list(CHILD_COLUMNS)]


def officials_ranking(cur, unit_id: str, period: str, sort_by: str = "task_score", descending: bool = True,
                      limit: int | None = None) -> pd.DataFrame:
    """The officials of the subtree with their month's KPIs and current result, ranked
    (from official_scores, which the loader keeps per month)."""
    if sort_by not in RANKING_SORTS:
        raise ValueError(f"cannot sort by {sort_by!r}; choose one of {', '.join(RANKING_SORTS)}")
    order = f"{sort_by} {'DESC' if descending else 'ASC'} NULLS LAST, official_id"
    return frame(cur, f"""
        WITH ranked AS (
            SELECT s.* FROM official_scores s JOIN unit_closure c ON c.descendant = s.unit_id AND c.ancestor = ?
            WHERE s.period = ? ORDER BY {order}{" LIMIT ?" if limit else ""}
        )
        SELECT r.official_id, r.full_name, r.position, r.unit_id, u.name AS unit_name, r.is_head, r.active,
               r.tasks_due, r.tasks_done, r.tasks_on_time, r.on_time_rate, r.completion_rate, r.task_score,
               r.ratings_count, r.satisfaction_rate, r.satisfaction_mean, r.score, r.rating
        FROM ranked r JOIN units u ON u.unit_id = r.unit_id ORDER BY {order}""",
        [unit_id, period] + ([int(limit)] if limit else []))
