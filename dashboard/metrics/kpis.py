"""The metrics.md object for one unit's subtree or one official, for one month."""
from __future__ import annotations

import datetime as dt

from dashboard.metrics.definitions import RATINGS, kpis_from_sums, today_local
from dashboard.metrics.rules import rule_items, split_rules

_SUMS = "tasks_due, tasks_done, tasks_on_time, points4, r_l1, r_l2, r_l3, r_l4"


class NotFound(LookupError):
    """The unit or official does not exist."""


def as_of_date(as_of) -> dt.date:
    """The as_of date a KPI is computed for: the one given, or today in Asia/Ho_Chi_Minh."""
    if as_of is None:
        return today_local()
    return as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))


def unit_kpis(cur, unit_id: str, period: str, as_of=None) -> dict:
    """Every KPI and rule of metrics.md for the unit and all its descendants."""
    as_of = as_of_date(as_of)
    row = cur.execute(f"""
        SELECT (SELECT count(*) FROM units WHERE unit_id = $u),
               (SELECT officials_total FROM scope_people WHERE unit_id = $u),
               (SELECT coalesce(sum(n), 0) FROM scope_open_due WHERE unit_id = $u AND due_at < $as_of),
               (SELECT {{'htxs': htxs, 'htt': htt, 'ht': ht, 'kht': kht, 'rated_active': rated_active}}
                FROM scope_eval_month WHERE unit_id = $u AND period = $p),
               (SELECT {{{', '.join(f"'{c}': {c}" for c in _SUMS.split(', '))}}}
                FROM scope_month WHERE unit_id = $u AND period = $p)""",
        {"u": unit_id, "p": period, "as_of": as_of}).fetchone()
    exists, active_total, overdue, evals, sums = row
    if not exists:
        raise NotFound(f"unknown unit {unit_id}")
    active_total = int(active_total or 0)
    evals = evals or {}
    counts = {r: int(evals.get(r.lower()) or 0) for r in RATINGS}
    evaluation = {"rating_counts": counts, "rated_officials": sum(counts.values()),
                  "pending_evaluations": active_total - int(evals.get("rated_active") or 0)}
    violations, warnings = split_rules(rule_items(cur, period, unit_id=unit_id))
    return _assemble({"unit_id": unit_id}, period, as_of, active_total, sums or {}, int(overdue),
                     evaluation, violations, warnings)


def official_kpis(cur, official_id: str, period: str, as_of=None) -> dict:
    """The same object for one official (officials_total = 1)."""
    as_of = as_of_date(as_of)
    # MATERIALIZED: a lone `official_id = ?` filter is what lets DuckDB use its index
    row = cur.execute(f"""
        WITH m AS MATERIALIZED (SELECT * FROM official_month WHERE official_id = $o),
             e AS MATERIALIZED (SELECT * FROM eval_current WHERE official_id = $o),
             d AS MATERIALIZED (SELECT * FROM official_open_due WHERE official_id = $o),
             w AS MATERIALIZED (SELECT * FROM officials WHERE official_id = $o)
        SELECT w.active,
               (SELECT rating FROM e WHERE period = $p),
               (SELECT coalesce(sum(n), 0) FROM d WHERE due_at < $as_of),
               (SELECT {{{', '.join(f"'{c}': {c}" for c in _SUMS.split(', '))}}} FROM m WHERE period = $p)
        FROM w""", {"o": official_id, "p": period, "as_of": as_of}).fetchone()
    if row is None:
        raise NotFound(f"unknown official {official_id}")
    active, rating, overdue, sums = row
    counts = {r: int(r == rating) for r in RATINGS}
    evaluation = {"rating_counts": counts, "rated_officials": int(rating is not None),
                  "pending_evaluations": int(bool(active) and rating is None)}
    violations, warnings = split_rules(rule_items(cur, period, official_id=official_id))
    return _assemble({"official_id": official_id}, period, as_of, 1, sums or {}, int(overdue),
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
