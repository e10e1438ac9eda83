"""Monthly series for a unit's subtree or one official, from the month rollups."""
from __future__ import annotations

import pandas as pd

from dashboard.metrics.definitions import RATE_SQL, RATINGS, period_range

_SUMS = ("tasks_due", "tasks_done", "tasks_on_time", "points4", "r_l1", "r_l2", "r_l3", "r_l4")
_RATES = ", ".join(f"{sql} AS {name}" for name, sql in RATE_SQL.items())


def _series(cur, sums_sql: str, evals_sql: str, params: list, periods: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({"period": periods})
    sums = cur.execute(
        f"WITH s AS ({sums_sql}) SELECT period, tasks_due, tasks_done, tasks_on_time, points4, {_RATES} "
        f"FROM s", params + [periods]).df()
    evals = cur.execute(evals_sql, params + [periods]).df()
    frame = frame.merge(sums, on="period", how="left").merge(evals, on="period", how="left")
    for col in ("tasks_due", "tasks_done", "tasks_on_time", "points4", "ratings_count", "dissatisfied_count",
                "rated_officials", *RATINGS):
        if col in frame:
            frame[col] = frame[col].fillna(0).astype("int64")
    return frame.drop(columns=["points4"])


def unit_trend(cur, unit_id: str, end_period: str, months: int = 13) -> pd.DataFrame:
    """One row per month (oldest first): task and satisfaction KPIs, and the rating counts."""
    periods = period_range(end_period, months)
    rating_cols = ", ".join(f"count(*) FILTER (WHERE e.rating = '{r}') AS {r}" for r in RATINGS)
    return _series(
        cur,
        "SELECT * FROM scope_month WHERE unit_id = ? AND list_contains(?, period)",
        f"SELECT e.period, count(*) AS rated_officials, {rating_cols} FROM eval_current e "
        "JOIN officials o USING (official_id) JOIN unit_closure c ON c.descendant = o.unit_id "
        "WHERE c.ancestor = ? AND list_contains(?, e.period) GROUP BY e.period",
        [unit_id], periods)


def official_trend(cur, official_id: str, end_period: str, months: int = 13) -> pd.DataFrame:
    """One row per month: the official's task and satisfaction KPIs and final score/rating."""
    periods = period_range(end_period, months)
    return _series(
        cur,
        "SELECT * FROM official_month WHERE official_id = ? AND list_contains(?, period)",
        "SELECT period, score AS final_score, rating AS final_rating FROM eval_current "
        "WHERE official_id = ? AND list_contains(?, period)",
        [official_id], periods)
