"""Side-by-side views: the children of a unit, and the officials of a subtree ranked."""
from __future__ import annotations

import pandas as pd

from dashboard.metrics.snapshot import as_of_date, snapshot_of_subtree
from dashboard.metrics.sql import frame
from dashboard.metrics.subtrees import subtree_rollups


# A child's KPIs, as unit_kpis gives them for its subtree, then its rule items counted.
CHILD_KPIS = ("officials_total", "tasks_due", "on_time_rate", "completion_rate", "task_score", "overdue_open",
              "ratings_count", "satisfaction_rate", "rated_officials", "pending_evaluations")
CHILD_COLUMNS = ("unit_id", "name", "kind", *CHILD_KPIS, "violations", "warnings")

# Sort keys a caller may ask for (an allow-list: they become SQL identifiers).
RANKING_SORTS = ("task_score", "on_time_rate", "completion_rate", "tasks_due", "satisfaction_rate",
                 "satisfaction_mean", "ratings_count", "score", "full_name")


def children(cur, unit_id: str, period: str, as_of=None) -> pd.DataFrame:
    """Each direct child of the unit with its subtree's KPIs for the month."""
    as_of = as_of_date(as_of)
    tree = subtree_rollups(cur)
    table = []
    for kid in tree.children.get(unit_id, ()):
        snap = snapshot_of_subtree(tree, kid, period, as_of)
        kpis = snap.kpis(period)
        _, name, kind = tree.units[kid]
        table.append({"unit_id": kid, "name": name, "kind": kind,
                      **{c: kpis[c] for c in CHILD_KPIS},
                      "violations": len(kpis["violations"]), "warnings": len(kpis["warnings"])})
    return pd.DataFrame(table, columns=list(CHILD_COLUMNS))


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
