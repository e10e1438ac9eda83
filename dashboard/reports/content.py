"""What the monthly report of a unit holds, as plain data: every number from dashboard/metrics
(the rollups), never formatted here (render.py formats, the Vietnamese way), names as they are
stored (render.py escapes them).
"""
from __future__ import annotations

import datetime as dt
import math

from dashboard.metrics import attention as attention_metrics
from dashboard.metrics import compare, kpis, lookups, okr_status, trends
from dashboard.metrics.definitions import LOCAL_TZ, previous_period
from dashboard.metrics.rules import VIOLATION_RULES
from dashboard.metrics.subtrees import subtree_rollups

CHILDREN_SHOWN = 40
RULE_ITEMS_SHOWN = 40
ATTENTION_SHOWN = 15
OKR_SHOWN = 12

# (KPI key, how shown, +1 higher is better / -1 lower is better / 0 neither)
TILES = (
    ("on_time_rate", "rate", +1), ("completion_rate", "rate", +1), ("task_score", "score", +1),
    ("overdue_open", "count", -1), ("satisfaction_rate", "rate", +1), ("ratings_count", "count", 0),
    ("pending_evaluations", "count", -1), ("violations", "count", -1), ("warnings", "count", -1),
)


def _number(value):
    """None for a missing or NaN value (pandas hands NaN for an empty rate)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _value(obj: dict, key: str):
    value = obj.get(key)
    return len(value) if isinstance(value, list) else _number(value)


def build(cur, unit_id: str, period: str, as_of=None, now: dt.datetime | None = None) -> dict:
    """Everything the report of `unit_id` for `period` shows. Raises kpis.NotFound for an
    unknown unit. `as_of` decides overdue_open as the `kpis` command does (default today)."""
    current, before = kpis.unit_kpis_with_previous(cur, unit_id, period, as_of)
    tree = subtree_rollups(cur)
    parent_id, name, kind = tree.units[unit_id]
    # Overdue tasks are counted as of a day, not per month: no change to show.
    tiles = [{"key": key, "how": how, "better": better, "value": _value(current, key),
              "before": None if key == "overdue_open" else _value(before, key)} for key, how, better in TILES]
    trend = trends.unit_trend(cur, unit_id, period).to_dict("records")
    return {
        "unit": {"unit_id": unit_id, "name": name, "kind": kind,
                 "parent": tree.units[parent_id][1] if parent_id in tree.units else None},
        "period": period, "previous": previous_period(period), "as_of": current["as_of"],
        "generated_at": now or dt.datetime.now(LOCAL_TZ).replace(tzinfo=None),
        "kpis": current, "tiles": tiles,
        "trend": [{k: _number(v) for k, v in row.items()} for row in trend],
        "children": children_worst_first(cur, unit_id, period, as_of),
        "rules": rule_items(cur, current),
        "attention": attention(cur, unit_id, period, current),
        "okr": okr(cur, unit_id, period, current["as_of"]),
    }


def children_worst_first(cur, unit_id: str, period: str, as_of=None) -> dict:
    """The unit's children by on-time rate, lowest first (those without tasks due last)."""
    table = compare.children(cur, unit_id, period, as_of).to_dict("records")
    rows = [{k: _number(v) if isinstance(v, float) else v for k, v in r.items()} for r in table]
    rows.sort(key=lambda r: (r["on_time_rate"] is None, r["on_time_rate"] or 0.0, r["name"], r["unit_id"]))
    return {"rows": rows[:CHILDREN_SHOWN], "total": len(rows)}


def rule_items(cur, current: dict) -> dict:
    """Violations then warnings of the month, with the unit's and official's names, and the
    count per rule."""
    items = [{**i, "kind": "violation"} for i in current["violations"]] + \
            [{**i, "kind": "warning"} for i in current["warnings"]]
    shown = items[:RULE_ITEMS_SHOWN]
    units = lookups.unit_names(cur, [i["unit_id"] for i in shown])
    people = lookups.official_names(cur, [i["official_id"] for i in shown if i["official_id"]])
    per_rule: dict[str, int] = {}
    for item in items:
        per_rule[item["rule"]] = per_rule.get(item["rule"], 0) + 1
    return {"items": [{**i, "unit_name": units.get(i["unit_id"]), "official_name": people.get(i["official_id"])}
                      for i in shown],
            "total": len(items), "violations": len(current["violations"]), "warnings": len(current["warnings"]),
            "per_rule": sorted(per_rule.items(), key=lambda kv: (kv[0] not in VIOLATION_RULES, -kv[1], kv[0]))}


def attention(cur, unit_id: str, period: str, current: dict) -> list[dict]:
    """The unit page's officials needing attention (dashboard/metrics/attention.py), each with
    their unit's name and its parent's, since unit names repeat across communes."""
    chosen = attention_metrics.officials_needing_attention(cur, unit_id, period, current["as_of"], ATTENTION_SHOWN)
    tree = subtree_rollups(cur)
    for p in chosen:
        parent_id, p["unit_name"], _ = tree.units.get(p["unit_id"], (None, None, None))
        p["unit_parent"] = tree.units[parent_id][1] if parent_id in tree.units else None
    return chosen


def okr(cur, unit_id: str, period: str, current_as_of: str) -> dict:
    """The unit's and its children's objectives covering the month, each with its progress
    (the mean of its key results') and status against the time elapsed by the month's end, or by
    the as-of day while the month runs: the rule of the OKR page (dashboard/metrics/okr_status.py)."""
    on = okr_status.month_as_of(period, dt.date.fromisoformat(current_as_of))
    out = []

    def walk(nodes):
        for node in nodes:
            krs = node["key_results"]
            progress = okr_status.objective_progress(k["progress"] for k in krs)
            elapsed = okr_status.elapsed_share(node["period"], on)
            out.append({"objective_id": node["objective_id"], "title": node["title"],
                        "unit_name": node["unit_name"], "period": node["period"], "progress": progress,
                        "elapsed": elapsed, "status": okr_status.status(progress, elapsed), "key_results": len(krs)})
            walk(node.get("children") or [])

    walk(lookups.okr_tree(cur, unit_id, period, max_depth=1))
    out.sort(key=lambda o: (okr_status.rank(o["status"]), o["progress"] if o["progress"] is not None else 2.0,
                            o["objective_id"]))
    return {"rows": out[:OKR_SHOWN], "total": len(out)}
