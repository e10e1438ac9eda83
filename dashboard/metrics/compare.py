"""Side-by-side views: the children of a unit, and the officials of a subtree ranked."""
from __future__ import annotations

import pandas as pd

from dashboard.metrics.rules import VIOLATION_RULES
from dashboard.metrics.snapshot import as_of_date, snapshot_of_subtree
from dashboard.metrics.sql import frame
from dashboard.metrics.subtrees import subtree_rollups


# A child's KPIs, as unit_kpis gives them for its subtree, then its rule items counted.
CHILD_KPIS = ("officials_total", "tasks_due", "on_time_rate", "completion_rate", "task_score", "overdue_open",
              "ratings_count", "satisfaction_rate", "rated_officials", "pending_evaluations")
CHILD_COLUMNS = ("unit_id", "name", "kind", *CHILD_KPIS, "violations", "warnings")

# Sort keys a caller may ask for (an allow-list: they become SQL identifiers).
RANKING_SORTS = ("task_score", "on_time_rate", "completion_rate", "tasks_due", "satisfaction_rate",
                 "satisfaction_mean", "ratings_count", "score", "full_name", "position", "unit_name", "rating")


def children(cur, unit_id: str, period: str, as_of=None) -> pd.DataFrame:
    """Each direct child of the unit with its subtree's KPIs for the month."""
    as_of = as_of_date(as_of)
    tree = subtree_rollups(cur)
    table = []
    for kid in tree.children.get(unit_id, ()):
        figures = snapshot_of_subtree(tree, kid, period, as_of, rule_periods=()).figures(period)
        hits = tree.rule_hits(kid, period, ordered=False)
        violations = sum(rule in VIOLATION_RULES for rule, _, _ in hits)
        _, name, kind = tree.units[kid]
        table.append({"unit_id": kid, "name": name, "kind": kind, **{c: figures[c] for c in CHILD_KPIS},
                      "violations": violations, "warnings": len(hits) - violations})
    return pd.DataFrame(table, columns=list(CHILD_COLUMNS))


def officials_ranking(cur, unit_id: str, period: str, sort_by: str = "task_score", descending: bool = True,
                      limit: int | None = None, offset: int = 0) -> pd.DataFrame:
    """The officials of the subtree with their month's KPIs and current result, ranked (from
    official_scores, which the loader keeps per month); `limit` rows from `offset`, so that a
    page of a city's 150,000 officials costs one small query, not the whole list."""
    if sort_by not in RANKING_SORTS:
        raise ValueError(f"cannot sort by {sort_by!r}; choose one of {', '.join(RANKING_SORTS)}")
    order = f"{sort_by} {'DESC' if descending else 'ASC'} NULLS LAST, official_id"
    window = " LIMIT ? OFFSET ?" if limit is not None else ""
    return frame(cur, f"""
        WITH ranked AS (
            SELECT s.*, u.name AS unit_name FROM official_scores s
            JOIN unit_closure c ON c.descendant = s.unit_id AND c.ancestor = ?
            JOIN units u ON u.unit_id = s.unit_id
            WHERE s.period = ? ORDER BY {order}{window}
        )
        SELECT official_id, full_name, position, unit_id, unit_name, is_head, active, tasks_due, tasks_done,
               tasks_on_time, on_time_rate, completion_rate, task_score, ratings_count, satisfaction_rate,
               satisfaction_mean, score, rating
        FROM ranked ORDER BY {order}""",
        [unit_id, period] + ([int(limit), int(offset)] if limit is not None else []))


def ranking_size(cur, unit_id: str, period: str) -> int:
    """How many officials officials_ranking has for the subtree and month."""
    return cur.execute("SELECT count(*) FROM official_scores s JOIN unit_closure c ON c.descendant = s.unit_id "
                       "AND c.ancestor = ? WHERE s.period = ?", [unit_id, period]).fetchone()[0]
