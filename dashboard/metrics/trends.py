"""Monthly series for a unit's subtree or one official, from a snapshot of its month rollups."""
from __future__ import annotations

import pandas as pd

from dashboard.metrics.definitions import RATE_SQL, RATINGS, kpis_from_sums
from dashboard.metrics.snapshot import Snapshot, official_snapshot, unit_snapshot

_TASK_COLUMNS = ("tasks_due", "tasks_done", "tasks_on_time", *RATE_SQL)


def _month_kpis(snap: Snapshot, period: str) -> dict:
    kpis = kpis_from_sums(snap.sums.get(period, {}))
    return {"period": period, **{c: kpis[c] for c in _TASK_COLUMNS}}


def unit_trend_of(snap: Snapshot) -> pd.DataFrame:
    """One row per month of the snapshot (oldest first): task and satisfaction KPIs, and the
    rating counts."""
    rows = []
    for period in snap.periods:
        evaluation = snap.evaluations[period]
        rows.append({**_month_kpis(snap, period), "rated_officials": evaluation["rated_officials"],
                     **evaluation["rating_counts"]})
    return pd.DataFrame(rows, columns=["period", *_TASK_COLUMNS, "rated_officials", *RATINGS])


def official_trend_of(snap: Snapshot) -> pd.DataFrame:
    """One row per month: the official's task and satisfaction KPIs and final score/rating."""
    rows = [{**_month_kpis(snap, period), "final_score": snap.results.get(period, (None, None))[0],
             "final_rating": snap.results.get(period, (None, None))[1]} for period in snap.periods]
    return pd.DataFrame(rows, columns=["period", *_TASK_COLUMNS, "final_score", "final_rating"])


def unit_trend(cur, unit_id: str, end_period: str, months: int = 13) -> pd.DataFrame:
    return unit_trend_of(unit_snapshot(cur, unit_id, end_period, months=months, rule_periods=()))


def official_trend(cur, official_id: str, end_period: str, months: int = 13) -> pd.DataFrame:
    return official_trend_of(official_snapshot(cur, official_id, end_period, months=months, rule_periods=()))
