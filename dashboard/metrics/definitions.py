"""The KPI formulas of metrics.md over rollup sums (the SQL forms live in etl/formulas.py), and periods."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from etl.formulas import EXCELLENT_CAP, RATE_SQL, TASK_SHARE, rates_sql  # noqa: F401 (re-exported)
from etl.kinds import RATINGS  # noqa: F401 (re-exported) best first

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def ratio(numerator, denominator):
    """A rate, or None when the denominator is 0 (shown as '–', never 0 %)."""
    return numerator / denominator if denominator else None


def kpis_from_sums(sums: dict) -> dict:
    """Task and satisfaction KPIs from the rollup sums (tasks_due, …, points4, r_l1..r_l4)."""
    due = int(sums.get("tasks_due") or 0)
    levels = [int(sums.get(f"r_l{i}") or 0) for i in (1, 2, 3, 4)]
    count = sum(levels)
    return {
        "tasks_due": due,
        "tasks_done": int(sums.get("tasks_done") or 0),
        "tasks_on_time": int(sums.get("tasks_on_time") or 0),
        "on_time_rate": ratio(int(sums.get("tasks_on_time") or 0), due),
        "completion_rate": ratio(int(sums.get("tasks_done") or 0), due),
        "task_score": TASK_SHARE * ratio(int(sums.get("points4") or 0) / 4, due) if due else None,
        "ratings_count": count,
        "satisfaction_rate": ratio(levels[2] + levels[3], count),
        "satisfaction_mean": ratio(sum((i + 1) * n for i, n in enumerate(levels)), count),
        "dissatisfied_count": levels[0],
    }


def today_local() -> dt.date:
    return dt.datetime.now(LOCAL_TZ).date()


def previous_period(period: str, months: int = 1) -> str:
    year, month = map(int, period.split("-"))
    index = year * 12 + (month - 1) - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def period_range(end_period: str, months: int) -> list[str]:
    """The `months` periods ending at end_period, oldest first."""
    return [previous_period(end_period, k) for k in range(months - 1, -1, -1)]
