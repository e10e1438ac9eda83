"""Monthly series for a unit's subtree or one official, from the month rollups."""
from __future__ import annotations

import pandas as pd

from dashboard.metrics.sql import frame

from dashboard.metrics.definitions import RATE_SQL, period_range

_RATES = ", ".join(f"{sql.replace('r_l', 's.r_l').replace('tasks_', 's.tasks_').replace('points4', 's.points4')} "
                   f"AS {name}" for name, sql in RATE_SQL.items())
_COUNTS = ", ".join(f"coalesce(s.{c}, 0) AS {c}" for c in ("tasks_due", "tasks_done", "tasks_on_time"))


def unit_trend(cur, unit_id: str, end_period: str, months: int = 13) -> pd.DataFrame:
    """One row per month (oldest first): task and satisfaction KPIs, and the rating counts."""
    return frame(cur, f"""
        SELECT m.period, {_COUNTS}, {_RATES},
               coalesce(e.htxs + e.htt + e.ht + e.kht, 0) AS rated_officials,
               coalesce(e.htxs, 0) AS HTXS, coalesce(e.htt, 0) AS HTT, coalesce(e.ht, 0) AS HT,
               coalesce(e.kht, 0) AS KHT
        FROM unnest(?::VARCHAR[]) m(period)
        LEFT JOIN scope_month s ON s.unit_id = ? AND s.period = m.period
        LEFT JOIN scope_eval_month e ON e.unit_id = ? AND e.period = m.period
        ORDER BY m.period""", [period_range(end_period, months), unit_id, unit_id]).fillna(
        {"ratings_count": 0, "dissatisfied_count": 0})


def official_trend(cur, official_id: str, end_period: str, months: int = 13) -> pd.DataFrame:
    """One row per month: the official's task and satisfaction KPIs and final score/rating."""
    return frame(cur, f"""
        SELECT m.period, {_COUNTS}, {_RATES}, e.score AS final_score, e.rating AS final_rating
        FROM unnest(?::VARCHAR[]) m(period)
        LEFT JOIN official_month s ON s.official_id = ? AND s.period = m.period
        LEFT JOIN eval_current e ON e.official_id = ? AND e.period = m.period
        ORDER BY m.period""", [period_range(end_period, months), official_id, official_id]).fillna(
        {"ratings_count": 0, "dissatisfied_count": 0})
