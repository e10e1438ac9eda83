"""Targets for a unit's tiles, and how a value stands against one.

A unit's target for a KPI is the key result of its own objectives covering the month that
measures that KPI (a quarter's objective before the year's: the nearer commitment); without
one, the server's default (settings TARGET_*), when set. A value has met its target, is near
it (within NEAR_POINTS percentage points for a rate, NEAR_SHARE of the target otherwise), or
has missed it.
"""
from __future__ import annotations

from dashboard.metrics.lookups import periods_covering

NEAR_POINTS = 0.05   # a rate 5 points short of its target is "near"
NEAR_SHARE = 0.10    # a score or count within 10 % of its target is "near"
RATE_KPIS = ("on_time_rate", "completion_rate", "satisfaction_rate")


def okr_targets(cur, unit_id: str, period: str) -> dict[str, dict]:
    """{kpi: {"value", "direction" ('up'|'down'), "source": "okr", "kr_id", "title"}} from the key
    results of the unit's own objectives covering the period (manual key results left out)."""
    year, quarter = periods_covering(period)
    rows = cur.execute(
        """SELECT k.metric, k.target_value, k.start_value, k.direction, k.kr_id, k.title
           FROM objectives o JOIN key_results k ON k.objective_id = o.objective_id
           WHERE o.unit_id = ? AND o.period IN (?, ?) AND k.metric <> 'manual'
           ORDER BY o.period = ? DESC, k.kr_id""", [unit_id, year, quarter, quarter]).fetchall()
    out: dict[str, dict] = {}
    for metric, target, start, direction, kr_id, title in rows:
        if metric in out or target is None:
            continue
        down = direction == "down" or (direction not in ("up", "down") and start is not None and target < start)
        out[metric] = {"value": float(target), "direction": "down" if down else "up", "source": "okr",
                       "kr_id": kr_id, "title": title}
    return out


def unit_targets(cur, unit_id: str, period: str, defaults: dict[str, float] | None = None) -> dict[str, dict]:
    """The unit's targets: its key results, else `defaults` ({kpi: value}, direction up)."""
    found = okr_targets(cur, unit_id, period)
    for kpi, value in (defaults or {}).items():
        if kpi not in found and value is not None:
            found[kpi] = {"value": float(value), "direction": "up", "source": "setting", "kr_id": None, "title": None}
    return found


def standing(value, target: dict | None, kpi: str) -> str | None:
    """'met', 'near' or 'missed' for a value against its target; None without either."""
    if target is None or value is None or value != value:
        return None
    goal, up = target["value"], target["direction"] == "up"
    gap = (goal - value) if up else (value - goal)  # > 0: short of the target
    if gap <= 1e-12:
        return "met"
    margin = NEAR_POINTS if kpi in RATE_KPIS else max(abs(goal) * NEAR_SHARE, 1.0 if not up else 0.0)
    return "near" if gap <= margin + 1e-12 else "missed"
