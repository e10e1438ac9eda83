"""The rule checks of metrics.md: violations (breaches of a written rule) and warnings.

The loader keeps every firing rule in `rule_hits` (etl/rollups.py, RULES_SQL, where each
rule is written once); a subtree's items are the hits whose unit is in it (read from the
in-memory copy in subtrees.py).
"""
from __future__ import annotations

from dashboard.metrics.subtrees import subtree_rollups

VIOLATION_RULES = ("head_above_collective", "excellent_quota", "rating_outside_band", "final_without_self")
WARNING_RULES = ("rating_not_supported", "self_inflation")
RULES = VIOLATION_RULES + WARNING_RULES


def rule_items(cur, period: str, unit_id: str | None = None, official_id: str | None = None) -> list[dict]:
    """Violations and warnings of a subtree (unit_id) or naming one official, sorted by
    rule, unit_id, official_id; each item also says its kind ('violation' or 'warning')."""
    tree = subtree_rollups(cur)
    if official_id is not None:
        return items_of(period, tree.official_hits.get((official_id, period), ()))
    return items_of(period, tree.rule_hits(unit_id, period))


def items_of(period: str, hits) -> list[dict]:
    """Rule items from (rule, unit_id, official_id) hits."""
    return [{"rule": rule, "kind": "violation" if rule in VIOLATION_RULES else "warning",
             "unit_id": unit, "official_id": official, "period": period} for rule, unit, official in hits]


def split_rules(items: list[dict]) -> tuple[list[dict], list[dict]]:
    """(violations, warnings) in the metrics.md item shape."""
    def plain(item):
        return {k: item[k] for k in ("rule", "unit_id", "official_id", "period")}
    return ([plain(i) for i in items if i["kind"] == "violation"],
            [plain(i) for i in items if i["kind"] == "warning"])
