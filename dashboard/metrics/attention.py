"""What needs attention first in a unit's subtree, from the rollups: rule items by rule, the
child units whose on-time rate or satisfaction fell most since the month before, officials with
overdue tasks, a KHT result or a rule violation, and the lists behind the tiles' numbers
(officials with overdue tasks, officials not yet evaluated, officials rated KHT).

Shared by the pages' "Cần chú ý" panel (components/attention.py) and the wall display
(live/display_panels.py). Every figure is a metrics.md one: a drop is unit_kpis of the month
minus unit_kpis of the month before, for that child's subtree.
"""
from __future__ import annotations

from dashboard.metrics import compare, lookups, rules
from dashboard.metrics.definitions import previous_period
from dashboard.metrics.periods import is_running
from dashboard.metrics.snapshot import as_of_date
from dashboard.metrics.sql import frame

DROP_KPIS = ("on_time_rate", "satisfaction_rate")  # the falls a leader is told about
MIN_DROP = 0.01  # a fall of less than one percentage point is noise, not news
LISTS = ("overdue", "pending", "kht")              # the lists behind tiles, besides all officials
# Quotas of the capped panel, in the order shown: each section keeps this many places when it has
# items, and places left over go to the sections before the others (see `choose`).
QUOTAS = (("violation", 2), ("drop", 2), ("official", 3), ("warning", 1))


# --- officials ---------------------------------------------------------------------------

def overdue_officials(cur, unit_id: str, as_of, limit: int) -> list[tuple]:
    """(official_id, full_name, unit_id, open tasks due before as_of) of the subtree's officials
    with any, most first (from the official_open_due rollup, like overdue_open)."""
    return overdue_summary(cur, unit_id, as_of, limit)[0]


# The subtree's officials with open tasks due before a day, one row each (official_id, n), from
# the official_open_due rollup; parameters: the unit, the day.
_OVERDUE_BY_OFFICIAL = """
    SELECT d.official_id, sum(d.n) AS n
    FROM official_open_due d JOIN officials o ON o.official_id = d.official_id
    WHERE o.unit_id IN (SELECT descendant FROM unit_closure WHERE ancestor = ?) AND d.due_at < ?
    GROUP BY d.official_id HAVING sum(d.n) > 0"""


def overdue_summary(cur, unit_id: str, as_of, limit: int) -> tuple[list[tuple], int]:
    """(overdue_officials' first `limit` rows, how many officials have any): one pass over the
    rollup (at the city's root, a second pass for the count cost 21 ms of each rebuild); names
    are looked up for the rows kept only."""
    rows = cur.execute(
        f"""SELECT l.official_id, o.full_name, o.unit_id, l.n, l.officials FROM (
                SELECT *, count(*) OVER () AS officials FROM ({_OVERDUE_BY_OFFICIAL})
                ORDER BY n DESC, official_id LIMIT ?) l
            JOIN officials o ON o.official_id = l.official_id ORDER BY l.n DESC, l.official_id""",
        [unit_id, as_of, limit]).fetchall()
    return [r[:4] for r in rows], (rows[0][4] if rows else 0)


def rated_officials(cur, unit_id: str, period: str, rating: str, limit: int) -> list[tuple]:
    """(official_id, full_name, unit_id) of the subtree's officials whose current result for the
    period is `rating`, by official_id."""
    return cur.execute(
        """SELECT s.official_id, s.full_name, s.unit_id FROM official_scores s
           JOIN unit_closure c ON c.descendant = s.unit_id AND c.ancestor = ?
           WHERE s.period = ? AND s.rating = ? ORDER BY s.official_id LIMIT ?""",
        [unit_id, period, rating, limit]).fetchall()


def officials_needing_attention(cur, unit_id: str, period: str, as_of=None, limit: int = 8, *,
                                rule_items: list[dict] | None = None, overdue: list[tuple] | None = None) -> list[dict]:
    """Officials with open tasks past due (as of `as_of`), a KHT result or a rule violation in
    `period`: KHT first, then the most violations, then the most overdue; at most `limit`.
    Each: {official_id, name, unit_id, overdue, kht, violations: [rule, …]}. `rule_items` (the
    period's, of the subtree) and `overdue` (overdue_officials' first 2 × limit) when the caller
    has them already."""
    as_of = as_of_date(as_of)
    people: dict[str, dict] = {}

    def person(official_id, name=None, unit=None):
        p = people.setdefault(official_id, {"official_id": official_id, "name": name, "unit_id": unit,
                                            "overdue": 0, "kht": False, "violations": []})
        p["name"] = p["name"] or name
        p["unit_id"] = p["unit_id"] or unit
        return p

    if overdue is None:
        overdue = overdue_officials(cur, unit_id, as_of, limit * 2)
    for official_id, full_name, unit, n in overdue:
        person(official_id, full_name, unit)["overdue"] = int(n)
    for official_id, full_name, unit in rated_officials(cur, unit_id, period, "KHT", limit * 2):
        person(official_id, full_name, unit)["kht"] = True
    if rule_items is None:
        rule_items = rules.rule_items(cur, period, unit_id=unit_id)
    for item in rule_items:
        if item["kind"] == "violation" and item["official_id"]:
            p = person(item["official_id"], None, item["unit_id"])
            if item["rule"] not in p["violations"]:
                p["violations"].append(item["rule"])
    unknown = [i for i, p in people.items() if not p["overdue"]]  # outside the most overdue: may still have some
    for official_id, n in overdue_of(cur, unknown, as_of).items():
        people[official_id]["overdue"] = n
    missing = [i for i, p in people.items() if not p["name"]]
    if missing:
        for official_id, name in lookups.official_names(cur, missing).items():
            people[official_id]["name"] = name
    chosen = sorted(people.values(), key=lambda p: (not p["kht"], -len(p["violations"]), -p["overdue"],
                                                    p["official_id"]))
    return chosen[:limit]


def overdue_count(cur, unit_id: str, as_of=None) -> int:
    """How many of the subtree's officials have open tasks past due."""
    return cur.execute(f"SELECT count(*) FROM ({_OVERDUE_BY_OFFICIAL})", [unit_id, as_of_date(as_of)]).fetchone()[0]


# --- the lists behind the tiles ----------------------------------------------------------

_WHERE = {
    "all": "TRUE",
    "overdue": "late.overdue_open > 0",
    "pending": "s.active AND s.rating IS NULL",  # pending_evaluations: active, no current result
    "kht": "s.rating = 'KHT'",
}
LIST_SORTS = (*compare.RANKING_SORTS, "overdue_open")


def officials_list(cur, unit_id: str, period: str, which: str = "all", as_of=None, sort_by: str = "on_time_rate",
                   descending: bool = False, limit: int | None = None, offset: int = 0):
    """officials_ranking's rows and columns plus `overdue_open` (open tasks past due as of
    `as_of`, any period), for all the subtree's officials or one list of LISTS; `limit` rows
    from `offset`. Sort keys only from LIST_SORTS (they become SQL identifiers)."""
    if which not in _WHERE:
        raise ValueError(f"unknown list {which!r}; choose one of all, {', '.join(LISTS)}")
    if sort_by not in LIST_SORTS:
        raise ValueError(f"cannot sort by {sort_by!r}; choose one of {', '.join(LIST_SORTS)}")
    order = f"{sort_by} {'DESC' if descending else 'ASC'} NULLS LAST, official_id"
    window = " LIMIT $limit OFFSET $offset" if limit is not None else ""
    params = {"unit": unit_id, "period": period, "as_of": as_of_date(as_of)}
    if limit is not None:
        params.update(limit=int(limit), offset=int(offset))
    return frame(cur, f"""
        WITH scoped AS (
            SELECT s.* FROM official_scores s JOIN unit_closure c ON c.descendant = s.unit_id AND c.ancestor = $unit
            WHERE s.period = $period
        ), late AS (
            SELECT d.official_id, sum(d.n) AS overdue_open FROM official_open_due d
            WHERE d.due_at < $as_of AND d.official_id IN (SELECT official_id FROM scoped)
            GROUP BY d.official_id
        ), listed AS (
            SELECT s.*, u.name AS unit_name, coalesce(late.overdue_open, 0) AS overdue_open
            FROM scoped s JOIN units u ON u.unit_id = s.unit_id LEFT JOIN late USING (official_id)
            WHERE {_WHERE[which]}
        )
        SELECT official_id, full_name, position, unit_id, unit_name, is_head, active, tasks_due, tasks_done,
               tasks_on_time, on_time_rate, completion_rate, task_score, overdue_open, ratings_count,
               satisfaction_rate, satisfaction_mean, score, rating
        FROM listed ORDER BY {order}{window}""", params)


def officials_list_size(cur, unit_id: str, period: str, which: str, as_of=None) -> int:
    """How many rows officials_list has for that list."""
    if which == "overdue":
        return overdue_count(cur, unit_id, as_of)
    if which not in _WHERE:
        raise ValueError(f"unknown list {which!r}")
    return cur.execute(f"""SELECT count(*) FROM official_scores s JOIN unit_closure c ON c.descendant = s.unit_id
                           AND c.ancestor = ? WHERE s.period = ? AND {_WHERE[which]}""", [unit_id, period]).fetchone()[0]


def overdue_of(cur, official_ids, as_of=None) -> dict[str, int]:
    """{official_id: open tasks past due} of the officials that have any (a page of a ranking)."""
    ids = list(dict.fromkeys(i for i in official_ids if i))
    if not ids:
        return {}
    return {o: int(n) for o, n in cur.execute(
        """SELECT official_id, sum(n) FROM official_open_due WHERE official_id IN (SELECT unnest(?::VARCHAR[]))
           AND due_at < ? GROUP BY official_id""", [ids, as_of_date(as_of)]).fetchall()}


# --- units -------------------------------------------------------------------------------

def drops(cur, unit_id: str, period: str, kpis=DROP_KPIS, as_of=None) -> list[dict]:
    """The children whose KPI fell since the month before, biggest fall first: {unit_id, name,
    kpi, now, before, change} with change = now - before <= -MIN_DROP (both from compare.children, the
    figures unit_kpis gives each child's subtree)."""
    now = compare.children(cur, unit_id, period, as_of)
    if now.empty:
        return []
    before = compare.children(cur, unit_id, previous_period(period), as_of).set_index("unit_id")
    out = []
    for row in now.to_dict("records"):
        if row["unit_id"] not in before.index:
            continue
        for kpi in kpis:
            a, b = row[kpi], before.at[row["unit_id"], kpi]
            if a is None or b is None or a != a or b != b:
                continue
            if a - b <= -MIN_DROP:
                out.append({"unit_id": row["unit_id"], "name": row["name"], "kpi": kpi,
                            "now": float(a), "before": float(b), "change": float(a) - float(b)})
    return sorted(out, key=lambda d: (d["change"], d["kpi"], d["unit_id"]))


def rule_groups(cur, unit_id: str, period: str, items: list[dict] | None = None) -> list[dict]:
    """The period's rule items of the subtree (`items`, when the caller has them) counted by
    rule, violations first: {rule, kind, count, units, officials} (distinct units and officials named)."""
    groups: dict[str, dict] = {}
    if items is None:
        items = rules.rule_items(cur, period, unit_id=unit_id)
    for item in items:
        g = groups.setdefault(item["rule"], {"rule": item["rule"], "kind": item["kind"], "count": 0,
                                             "units": set(), "officials": set()})
        g["count"] += 1
        g["units"].add(item["unit_id"])
        if item["official_id"]:
            g["officials"].add(item["official_id"])
    order = {r: i for i, r in enumerate(rules.RULES)}
    return [{**g, "units": sorted(g["units"]), "officials": sorted(g["officials"])}
            for g in sorted(groups.values(), key=lambda g: order.get(g["rule"], len(order)))]


# --- the panel ---------------------------------------------------------------------------

def attention(cur, unit_id: str, period: str, as_of=None, limit: int = 8) -> dict:
    """Everything that needs attention in the subtree for the period, and the `limit` items a
    panel shows first ("items", each {"section", ...} in the order of QUOTAS)."""
    items = rules.rule_items(cur, period, unit_id=unit_id)  # read once: the groups and the officials use them
    groups = rule_groups(cur, unit_id, period, items)
    late, late_officials = overdue_summary(cur, unit_id, as_of_date(as_of), limit * 2)
    sections = {
        "violation": [{"section": "violation", **g} for g in groups if g["kind"] == "violation"],
        # A running month against a whole one would be a false alarm (metrics/periods.py).
        "drop": [] if is_running(cur, period) else [{"section": "drop", **d} for d in drops(cur, unit_id, period,
                                                                                               as_of=as_of)],
        "official": [{"section": "official", **p}
                     for p in officials_needing_attention(cur, unit_id, period, as_of, limit, rule_items=items,
                                                          overdue=late)],
        "warning": [{"section": "warning", **g} for g in groups if g["kind"] == "warning"],
    }
    return {"unit_id": unit_id, "period": period, "sections": sections, "items": choose(sections, limit),
            "rule_items": sum(g["count"] for g in groups),
            "overdue_officials": late_officials}


def choose(sections: dict[str, list], limit: int) -> list[dict]:
    """At most `limit` items: each section's quota first, then the places left one at a time to
    the sections in turn (QUOTAS order); shown section by section."""
    taken, free = {}, limit
    for name, quota in QUOTAS:
        taken[name] = min(len(sections.get(name, ())), quota, free)
        free -= taken[name]
    while free > 0:
        grew = False
        for name, _ in QUOTAS:
            if free > 0 and taken[name] < len(sections.get(name, ())):
                taken[name] += 1
                free -= 1
                grew = True
        if not grew:
            break
    return [item for name, _ in QUOTAS for item in sections.get(name, ())[:taken[name]]]
