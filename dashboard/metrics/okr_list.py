"""The OKR list of a scope: the objectives of a unit and of the units one level below it that
cover a month, flat, each with its key results, progress, status (okr_status) and owner,
ordered and filtered for a page of them. Pure functions over a cursor, values bound.

The data contract has no owner column for objectives or key results: an objective's owner is
its unit, and the person in charge is that unit's head (is_head, active); its key results
belong to the same owner.
"""
from __future__ import annotations

from datetime import date

from dashboard.metrics import lookups, okr_status
from dashboard.metrics.definitions import today_local

SORTS = ("status", "progress", "unit", "title")
FILTERS = ("all", *okr_status.STATUSES)


def _heads(cur, unit_ids) -> dict[str, dict]:
    """{unit_id: {official_id, full_name}} of each unit's active head (the lowest id when several)."""
    ids = list(dict.fromkeys(unit_ids))
    if not ids:
        return {}
    rows = cur.execute("""
        SELECT unit_id, official_id, full_name FROM officials
        WHERE unit_id IN (SELECT unnest(?)) AND is_head AND active
        QUALIFY row_number() OVER (PARTITION BY unit_id ORDER BY official_id) = 1""", [ids]).fetchall()
    return {u: {"official_id": o, "full_name": n} for u, o, n in rows}


def _objectives(cur, objective_ids) -> dict[str, dict]:
    """{objective_id: {title, unit_id}} of objectives named as parents (may lie above the scope)."""
    ids = list(dict.fromkeys(i for i in objective_ids if i))
    if not ids:
        return {}
    rows = cur.execute("SELECT objective_id, title, unit_id FROM objectives WHERE objective_id IN (SELECT unnest(?))",
                       [ids]).fetchall()
    return {o: {"title": title, "unit_id": u} for o, title, u in rows}


def _flatten(nodes: list[dict]) -> list[dict]:
    out, stack = [], list(reversed(nodes))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node["children"]))
    return out


def as_of(cur, period: str, today: date | None = None) -> date:
    """The day the month's OKR values stand for: its last day, or, while it runs, today or the
    day of the data's newest record if that is earlier (a source days behind is not behind plan)."""
    from dashboard.metrics.periods import data_clock

    clock = data_clock(cur)
    day = min(today or today_local(), clock.date()) if clock else (today or today_local())
    return okr_status.month_as_of(period, day)


def objective_list(cur, unit_id: str, period: str, today: date | None = None) -> list[dict]:
    """Every objective of the unit and its children covering `period`, unsorted, as dicts:
    objective_id, unit_id, unit_name, depth, period, title, parent (title, unit_id or None),
    head (official_id, full_name or None), expected (elapsed share), progress, status, and
    key_results (kr_id, title, metric, start_value, target_value, direction, value, progress,
    confidence, status), worst first."""
    day = as_of(cur, period, today)
    nodes = _flatten(lookups.okr_tree(cur, unit_id, period, max_depth=1))
    heads = _heads(cur, [n["unit_id"] for n in nodes])
    parents = _objectives(cur, [n["parent_objective_id"] for n in nodes])
    out = []
    for node in nodes:
        expected = okr_status.elapsed_share(node["period"], day)
        krs = [{k: kr[k] for k in ("kr_id", "title", "metric", "start_value", "target_value", "direction", "value",
                                   "progress", "confidence")}
               | {"status": okr_status.status(kr["progress"], expected)} for kr in node["key_results"]]
        krs.sort(key=lambda kr: (okr_status.rank(kr["status"]), _low_first(kr["progress"]), kr["kr_id"]))
        progress = okr_status.objective_progress(kr["progress"] for kr in krs)
        parent = parents.get(node["parent_objective_id"])
        out.append({"objective_id": node["objective_id"], "unit_id": node["unit_id"], "unit_name": node["unit_name"],
                    "depth": node["depth"], "period": node["period"], "title": node["title"],
                    "parent": parent, "head": heads.get(node["unit_id"]), "expected": expected,
                    "progress": progress, "status": okr_status.status(progress, expected), "key_results": krs})
    return out


def _low_first(progress) -> float:
    return 2.0 if progress is None else progress


def counts(objectives: list[dict]) -> dict[str, int]:
    """How many objectives have each status (every status present, 0 when none), and 'all'."""
    out = {s: 0 for s in okr_status.STATUSES}
    for o in objectives:
        out[o["status"]] += 1
    return {"all": len(objectives), **out}


def ordered(objectives: list[dict], status_filter: str = "all", sort: str = "status") -> list[dict]:
    """The objectives the filter keeps, in the chosen order (ties: the scope's own objectives
    first, then unit and id). Unknown values fall back to all / status."""
    status_filter = status_filter if status_filter in FILTERS else "all"
    sort = sort if sort in SORTS else "status"
    kept = [o for o in objectives if status_filter == "all" or o["status"] == status_filter]
    tie = (lambda o: (o["depth"], o["unit_name"] or "", o["objective_id"]))
    keys = {
        "status": lambda o: (okr_status.rank(o["status"]), _low_first(o["progress"]), *tie(o)),
        "progress": lambda o: (_low_first(o["progress"]), okr_status.rank(o["status"]), *tie(o)),
        "unit": lambda o: (o["depth"], (o["unit_name"] or "").casefold(), o["objective_id"]),
        "title": lambda o: (o["title"].casefold(), o["objective_id"]),
    }
    return sorted(kept, key=keys[sort])


def page(items: list, number: int | None, size: int) -> tuple[list, int, int]:
    """(items of page `number` (1-based, clamped), that page's number, the number of pages)."""
    pages = max(1, -(-len(items) // size))
    number = min(max(int(number or 1), 1), pages)
    return items[(number - 1) * size:number * size], number, pages
