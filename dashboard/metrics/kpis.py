"""The metrics.md object for one unit's subtree or one official, for one month."""
from __future__ import annotations

from dashboard.metrics.definitions import previous_period
from dashboard.metrics.snapshot import NotFound, as_of_date, official_snapshot, unit_snapshot  # noqa: F401


def unit_kpis(cur, unit_id: str, period: str, as_of=None) -> dict:
    """Every KPI and rule of metrics.md for the unit and all its descendants."""
    return unit_snapshot(cur, unit_id, period, as_of).kpis(period)


def official_kpis(cur, official_id: str, period: str, as_of=None) -> dict:
    """The same object for one official (officials_total = 1)."""
    return official_snapshot(cur, official_id, period, as_of).kpis(period)


def unit_kpis_with_previous(cur, unit_id: str, period: str, as_of=None) -> tuple[dict, dict]:
    """The month's object and the month before's (a page's tiles and their deltas), in one read."""
    before = previous_period(period)
    snap = unit_snapshot(cur, unit_id, period, as_of, months=2, rule_periods=(period, before))
    return snap.kpis(period), snap.kpis(before)


def official_kpis_with_previous(cur, official_id: str, period: str, as_of=None) -> tuple[dict, dict]:
    """The same for one official."""
    before = previous_period(period)
    snap = official_snapshot(cur, official_id, period, as_of, months=2, rule_periods=(period, before))
    return snap.kpis(period), snap.kpis(before)
