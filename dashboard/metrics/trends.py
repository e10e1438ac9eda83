"""Monthly series for a unit's subtree or one official, from the month rollups."""
from __future__ import annotations

import pandas as pd

from dashboard.metrics.sql import frame

from dashboard.metrics.definitions import period_range, rates_sql

_RATES = rates_sql("s")
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
    # MATERIALIZED: a lone `official_id = ?` filter is what lets DuckDB use its index
    return frame(cur, f"""
        WITH s AS MATERIALIZED (SELECT * FROM official_month WHERE official_id = $o),
             e AS MATERIALIZED (SELECT * FROM eval_current WHERE official_id = $o)
        SELECT m.period, {_COUNTS}, {_RATES}, e.score AS final_score, e.rating AS final_rating
        FROM unnest($periods::VARCHAR[]) m(period)
        LEFT JOIN s ON s.period = m.period LEFT JOIN e ON e.period = m.period
        ORDER BY m.period""", {"o": official_id, "periods": period_range(end_period, months)}).fillna(
        {"ratings_count": 0, "dissatisfied_count": 0})
