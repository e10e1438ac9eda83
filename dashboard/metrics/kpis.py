"""The metrics.md object for one unit's subtree or one official, for one month."""
from __future__ import annotations

import datetime as dt

from dashboard.metrics.definitions import RATINGS, kpis_from_sums, today_local
from dashboard.metrics.rules import rule_items, split_rules

_SUMS = "tasks_due, tasks_done, tasks_on_time, points4, r_l1, r_l2, r_l3, r_l4"


class NotFound(LookupError):
    """The unit or official does not exist."""


def _as_of(as_of) -> dt.date:
    if as_of is None:
        return today_local()
    return as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))


def _sums(cur, table: str, key: str, value: str, period: str) -> dict:
    row = cur.execute(f"SELECT {_SUMS} FROM {table} WHERE {key} = ? AND period = ?", [value, period]).fetchone()
    return dict(zip(_SUMS.split(", "), row)) if row else {}


def _evaluation_block(rows, active_total: int) -> dict:
    """rating_counts, rated_officials and pending_evaluations from (rating, active) rows."""
    counts = {r: 0 for r in RATINGS}
    rated = rated_active = 0
    for rating, active in rows:
        if rating is not None:
            counts[rating] += 1
            rated += 1
            rated_active += bool(active)
    return {"rating_counts": counts, "rated_officials": rated,
            "pending_evaluations": active_total - rated_active}


def unit_kpis(cur, unit_id: str, period: str, as_of=None) -> dict:
    """Every KPI and rule of metrics.md for the unit and all its descendants."""
    if cur.execute("SELECT 1 FROM units WHERE unit_id = ?", [unit_id]).fetchone() is None:
        raise NotFound(f"unknown unit {unit_id}")
    as_of = _as_of(as_of)
    people = cur.execute(
        "SELECT e.rating, o.active FROM officials o JOIN unit_closure c ON c.descendant = o.unit_id "
        "LEFT JOIN eval_current e ON e.official_id = o.official_id AND e.period = ? WHERE c.ancestor = ?",
        [period, unit_id]).fetchall()
    active_total = sum(1 for _, active in people if active)
    overdue = cur.execute("SELECT coalesce(sum(n), 0) FROM scope_open_due WHERE unit_id = ? AND due_at < ?",
                          [unit_id, as_of]).fetchone()[0]
    violations, warnings = split_rules(rule_items(cur, period, unit_id=unit_id))
    return _assemble({"unit_id": unit_id}, period, as_of, active_total,
                     _sums(cur, "scope_month", "unit_id", unit_id, period), int(overdue),
                     _evaluation_block(people, active_total), violations, warnings)


def official_kpis(cur, official_id: str, period: str, as_of=None) -> dict:
    """The same object for one official (officials_total = 1)."""
    row = cur.execute("SELECT active FROM officials WHERE official_id = ?", [official_id]).fetchone()
    if row is None:
        raise NotFound(f"unknown official {official_id}")
    as_of = _as_of(as_of)
    result = cur.execute("SELECT rating FROM eval_current WHERE official_id = ? AND period = ?",
                         [official_id, period]).fetchone()
    overdue = cur.execute("SELECT coalesce(sum(n), 0) FROM official_open_due WHERE official_id = ? AND due_at < ?",
                          [official_id, as_of]).fetchone()[0]
    violations, warnings = split_rules(rule_items(cur, period, official_id=official_id))
    evaluation = _evaluation_block([(result[0] if result else None, row[0])], 1 if row[0] else 0)
    return _assemble({"official_id": official_id}, period, as_of, 1,
                     _sums(cur, "official_month", "official_id", official_id, period), int(overdue),
                     evaluation, violations, warnings)


def _assemble(ident, period, as_of, officials_total, sums, overdue, evaluation, violations, warnings) -> dict:
    tasks = kpis_from_sums(sums)
    return {**ident, "period": period, "as_of": as_of.isoformat(), "officials_total": officials_total,
            "tasks_due": tasks["tasks_due"], "tasks_done": tasks["tasks_done"],
            "tasks_on_time": tasks["tasks_on_time"], "on_time_rate": tasks["on_time_rate"],
            "completion_rate": tasks["completion_rate"], "overdue_open": overdue,
            "task_score": tasks["task_score"], "ratings_count": tasks["ratings_count"],
            "satisfaction_rate": tasks["satisfaction_rate"], "satisfaction_mean": tasks["satisfaction_mean"],
            "dissatisfied_count": tasks["dissatisfied_count"], **evaluation,
            "violations": violations, "warnings": warnings}
