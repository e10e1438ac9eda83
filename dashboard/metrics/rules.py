"""The rule checks of metrics.md: violations (breaches of a written rule) and warnings."""
from __future__ import annotations

from dashboard.metrics.definitions import EXCELLENT_CAP

VIOLATION_RULES = ("head_above_collective", "excellent_quota", "rating_outside_band", "final_without_self")
WARNING_RULES = ("rating_not_supported", "self_inflation")

_RANK = "CASE {r} WHEN 'HTXS' THEN 4 WHEN 'HTT' THEN 3 WHEN 'HT' THEN 2 WHEN 'KHT' THEN 1 END"

# Every rule for the officials and units of one subtree ($scope) and one month ($period).
_RULES_SQL = f"""
WITH scope_units AS (
    SELECT descendant AS unit_id FROM unit_closure WHERE ancestor = $scope
), people AS (
    SELECT o.official_id, o.unit_id, o.is_head FROM officials o JOIN scope_units USING (unit_id)
), results AS (
    SELECT p.official_id, p.unit_id, p.is_head, e.rating, e.band, e.has_self_before,
           e.latest_self_rating, m.tasks_due, m.tasks_on_time
    FROM people p JOIN eval_current e ON e.official_id = p.official_id AND e.period = $period
    LEFT JOIN official_month m ON m.official_id = p.official_id AND m.period = $period
)
SELECT 'head_above_collective' AS rule, r.unit_id, r.official_id
FROM results r JOIN unit_eval_current u ON u.unit_id = r.unit_id AND u.period = $period
WHERE r.is_head AND {_RANK.format(r='r.rating')} > {_RANK.format(r='u.rating')}
UNION ALL
SELECT 'excellent_quota', unit_id, NULL FROM results GROUP BY unit_id
HAVING count(*) FILTER (WHERE rating = 'HTXS') > $cap * count(*)
UNION ALL
SELECT 'rating_outside_band', unit_id, official_id FROM results WHERE rating <> band
UNION ALL
SELECT 'final_without_self', unit_id, official_id FROM results WHERE NOT has_self_before
UNION ALL
SELECT 'rating_not_supported', unit_id, official_id FROM results
WHERE rating IN ('HTXS', 'HTT') AND tasks_due > 0 AND tasks_on_time / tasks_due < 0.5
UNION ALL
SELECT 'self_inflation', unit_id, official_id FROM results
WHERE {_RANK.format(r='latest_self_rating')} - {_RANK.format(r='rating')} >= 2
"""


def rule_items(cur, period: str, unit_id: str | None = None, official_id: str | None = None,
               excellent_cap: float = EXCELLENT_CAP) -> list[dict]:
    """Violations and warnings of a subtree (unit_id) or naming one official, sorted by
    rule, unit_id, official_id; each item also says its kind ('violation' or 'warning')."""
    if official_id is not None:
        row = cur.execute("SELECT unit_id FROM officials WHERE official_id = ?", [official_id]).fetchone()
        if row is None:
            return []
        scope = row[0]
    else:
        scope = unit_id
    rows = cur.execute(
        f"SELECT rule, unit_id, official_id FROM ({_RULES_SQL}) "
        + ("WHERE official_id = $official " if official_id is not None else "")
        + "ORDER BY rule, unit_id, official_id NULLS FIRST",
        {"scope": scope, "period": period, "cap": excellent_cap,
         **({"official": official_id} if official_id is not None else {})},
    ).fetchall()
    return [{"rule": rule, "kind": "violation" if rule in VIOLATION_RULES else "warning",
             "unit_id": unit, "official_id": official, "period": period}
            for rule, unit, official in rows]


def split_rules(items: list[dict]) -> tuple[list[dict], list[dict]]:
    """(violations, warnings) in the metrics.md item shape."""
    def plain(item):
        return {k: item[k] for k in ("rule", "unit_id", "official_id", "period")}
    return ([plain(i) for i in items if i["kind"] == "violation"],
            [plain(i) for i in items if i["kind"] == "warning"])
