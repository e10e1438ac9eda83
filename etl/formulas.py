"""The formulas of metrics.md that rollups and metrics share, written once.

Rates are computed from sums (never averages of averages): each expression below reads the
rollup sum columns tasks_due, tasks_done, tasks_on_time, points4 and r_l1..r_l4.
"""
from __future__ import annotations

# The sum columns every month rollup carries (official, unit and subtree alike).
SUMS = ("tasks_due", "tasks_done", "tasks_on_time", "points4", "r_l1", "r_l2", "r_l3", "r_l4")

TASK_SHARE = 70        # the task-results share of the 100-point scale (Decree 335/2025)
EXCELLENT_CAP = 0.30   # QĐ 3814-QĐ/TU: at most 30 % of a unit's rated officials HTXS in a month

RATE_SQL = {
    "on_time_rate": "tasks_on_time / nullif(tasks_due, 0)",
    "completion_rate": "tasks_done / nullif(tasks_due, 0)",
    "task_score": f"{TASK_SHARE} * points4 / 4.0 / nullif(tasks_due, 0)",
    "ratings_count": "r_l1 + r_l2 + r_l3 + r_l4",
    "satisfaction_rate": "(r_l3 + r_l4) / nullif(r_l1 + r_l2 + r_l3 + r_l4, 0)",
    "satisfaction_mean": "(r_l1 + 2 * r_l2 + 3 * r_l3 + 4 * r_l4) / nullif(r_l1 + r_l2 + r_l3 + r_l4, 0)",
    "dissatisfied_count": "r_l1",
}

# The rating of a score's band (QĐ 3814-QĐ/TU, Decree 335/2025).
BAND_SQL = ("CASE WHEN {s} >= 90 THEN 'HTXS' WHEN {s} >= 70 THEN 'HTT' "
            "WHEN {s} >= 50 THEN 'HT' ELSE 'KHT' END")


def rates_sql(alias: str, names=tuple(RATE_SQL)) -> str:
    """`expr AS name, …` for the named rates over the sum columns of table alias `alias`."""
    out = []
    for name in names:
        sql = RATE_SQL[name]
        for col in SUMS:
            sql = sql.replace(col, f"{alias}.{col}")
        out.append(f"{sql} AS {name}")
    return ", ".join(out)
