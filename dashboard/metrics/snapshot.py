"""One unit's (its subtree's) or one official's rollup rows for a run of months, read at once.

A page shows the same months several ways: tiles, their change against the month before, a
13-month trend. DuckDB spends one to five milliseconds planning and starting every statement,
so one statement per view cost tens of milliseconds a page; the rows come instead from the
in-memory subtree rollups (subtrees.py) or, for an official, one statement, and each view is
derived here. Every KPI object is assembled in `Snapshot.kpis`, so the metrics.md shape lives
in one place.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dashboard.metrics.definitions import RATINGS, kpis_from_sums, period_range, today_local
from dashboard.metrics.rules import items_of, split_rules
from dashboard.metrics.subtrees import SubtreeRollups, subtree_rollups
from etl.formulas import SUMS


class NotFound(LookupError):
    """The unit or official does not exist."""


def as_of_date(as_of) -> dt.date:
    """The as_of date a KPI is computed for: the one given, or today in Asia/Ho_Chi_Minh."""
    if as_of is None:
        return today_local()
    return as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))


@dataclass(frozen=True)
class Snapshot:
    ident: dict                    # {"unit_id": …} or {"official_id": …}
    periods: tuple[str, ...]       # the months read, oldest first
    as_of: dt.date
    officials_total: int
    overdue_open: int
    sums: dict[str, dict]          # period -> the SUMS of that month
    evaluations: dict[str, dict]   # period -> rating_counts, rated_officials, pending_evaluations
    results: dict[str, tuple]      # period -> (score, rating): an official's current result
    rules: dict[str, list[dict]]   # period -> rule items, for the periods that were asked for

    def kpis(self, period: str) -> dict:
        """The metrics.md object for one month of the snapshot."""
        if period not in self.rules:
            raise KeyError(f"the snapshot has no rule items for {period}: read it with that month in rule_periods")
        violations, warnings = split_rules(self.rules[period])
        return {**self.figures(period), "violations": violations, "warnings": warnings}

    def figures(self, period: str) -> dict:
        """The object without its rule items (what a side-by-side table needs)."""
        if period not in self.evaluations:
            raise KeyError(f"the snapshot has no {period}")
        tasks = kpis_from_sums(self.sums.get(period, {}))
        return {**self.ident, "period": period, "as_of": self.as_of.isoformat(),
                "officials_total": self.officials_total,
                "tasks_due": tasks["tasks_due"], "tasks_done": tasks["tasks_done"],
                "tasks_on_time": tasks["tasks_on_time"], "on_time_rate": tasks["on_time_rate"],
                "completion_rate": tasks["completion_rate"], "overdue_open": self.overdue_open,
                "task_score": tasks["task_score"], "ratings_count": tasks["ratings_count"],
                "satisfaction_rate": tasks["satisfaction_rate"], "satisfaction_mean": tasks["satisfaction_mean"],
                "dissatisfied_count": tasks["dissatisfied_count"], **self.evaluations[period]}


def _evaluation(counts: dict, pending: int) -> dict:
    counts = {r: int(counts.get(r) or 0) for r in RATINGS}
    return {"rating_counts": counts, "rated_officials": sum(counts.values()), "pending_evaluations": pending}


def unit_snapshot(cur, unit_id: str, end_period: str, as_of=None, months: int = 1,
                  rule_periods: tuple[str, ...] | None = None) -> Snapshot:
    """The unit's subtree for the `months` months ending at end_period; rule items for
    `rule_periods` (default: end_period). Read from the in-memory subtree rollups."""
    return snapshot_of_subtree(subtree_rollups(cur), unit_id, end_period, as_of, months, rule_periods)


def snapshot_of_subtree(tree: SubtreeRollups, unit_id: str, end_period: str, as_of=None, months: int = 1,
                        rule_periods: tuple[str, ...] | None = None) -> Snapshot:
    """unit_snapshot from rollups already in hand (the children of a unit, side by side)."""
    as_of = as_of_date(as_of)
    if unit_id not in tree.units:
        raise NotFound(f"unknown unit {unit_id}")
    total = int(tree.people.get(unit_id) or 0)
    periods = period_range(end_period, months)
    sums = {p: tree.sums[(unit_id, p)] for p in periods if (unit_id, p) in tree.sums}
    evaluations = {}
    for period in periods:
        rated = tree.rated.get((unit_id, period), (0, 0, 0, 0, 0))
        evaluations[period] = _evaluation(dict(zip(RATINGS, rated[:4])), total - int(rated[4] or 0))
    rules = {period: items_of(period, tree.rule_hits(unit_id, period))
             for period in ((end_period,) if rule_periods is None else rule_periods)}
    return Snapshot({"unit_id": unit_id}, tuple(periods), as_of, total, tree.overdue(unit_id, as_of), sums,
                    evaluations, {}, rules)


def official_snapshot(cur, official_id: str, end_period: str, as_of=None, months: int = 1,
                      rule_periods: tuple[str, ...] | None = None) -> Snapshot:
    """The same for one official (officials_total = 1), plus the current result per month."""
    as_of = as_of_date(as_of)
    tree = subtree_rollups(cur)
    rows = official_rows(cur, official_id, tree)
    head = [values for kind, _, values, _, _ in rows if kind == "active"]
    if not head:
        raise NotFound(f"unknown official {official_id}")
    active = bool(head[0][0])
    periods = period_range(end_period, months)
    today = as_of.isoformat()
    overdue = sum(int(values[0]) for kind, due_at, values, _, _ in rows if kind == "open" and due_at < today)
    sums = {period: dict(zip(SUMS, map(int, values))) for kind, period, values, _, _ in rows
            if kind == "month" and period in periods}
    results = {period: (values[0], rating) for kind, period, values, rating, _ in rows
               if kind == "result" and period in periods}
    evaluations = {}
    for period in periods:
        rating = results.get(period, (None, None))[1]
        evaluations[period] = _evaluation({rating: 1}, int(active and rating is None))
    rule_periods = (end_period,) if rule_periods is None else rule_periods
    rules = {period: items_of(period, tree.official_hits.get((official_id, period), ())) for period in rule_periods}
    return Snapshot({"official_id": official_id}, tuple(periods), as_of, 1, int(overdue), sums, evaluations,
                    results, rules)


def official_rows(cur, official_id: str, tree: SubtreeRollups | None = None) -> list[tuple]:
    """(kind, key, values, rating, event_id) rows of the official's rollups: 'active', 'open'
    (due date, open tasks), 'month' (period, SUMS), 'result' (period, score, rating, event).
    One statement (one snapshot of the data, one planning); the rows sit together since the
    tables are kept in official_id order (etl/clustering.py). Kept with the data version's
    subtree rollups, since a page's tiles, trend and history all ask."""
    tree = tree or subtree_rollups(cur)
    return tree.official_rows(official_id, lambda: cur.execute(f"""
        SELECT 'active', NULL, [active::INT]::DOUBLE[], NULL, NULL FROM officials WHERE official_id = $o
        UNION ALL SELECT 'open', due_at::VARCHAR, [n]::DOUBLE[], NULL, NULL FROM official_open_due
                  WHERE official_id = $o
        UNION ALL SELECT 'month', period, [{', '.join(SUMS)}]::DOUBLE[], NULL, NULL FROM official_month
                  WHERE official_id = $o
        UNION ALL SELECT 'result', period, [score]::DOUBLE[], rating, event_id FROM eval_current
                  WHERE official_id = $o""", {"o": official_id}).fetchall())
