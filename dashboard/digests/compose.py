"""What a digest holds for one subscriber: what needs attention in their scope, as items with a
stable key (what was sent before is not "new") and a link. Numbers from dashboard/metrics
(the rollups); the two look-ups metrics has no function for are bound queries at the end.

Item kinds, in the order the mail shows them:
- rule:    a violation or warning of the last complete month or the running one
- overdue: an official's tasks whose due date passed since the previous digest, still open
- drop:    a unit below the scope whose on-time rate or satisfaction fell most since the month before
- pending: officials not yet evaluated for the last complete month, in the days before the deadline
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dashboard import formats
from dashboard.i18n import t
from dashboard.metrics import attention, compare, lookups, rules
from dashboard.metrics.definitions import previous_period
from dashboard.metrics.kpis import unit_kpis_with_previous
from dashboard.metrics.subtrees import subtree_rollups

DROPS_SHOWN = 5
SHOWN_PER_KIND = 25  # items of a kind an e-mail lists (mail.py); the rest are counted


@dataclass
class Item:
    key: str      # stable identity: sent once, then known
    kind: str     # rule | overdue | drop | pending
    text: str     # one plain line (names from the data as they are; the mail escapes its HTML)
    href: str     # the dashboard path it links to


@dataclass
class Digest:
    username: str
    unit_id: str
    unit_name: str
    day: dt.date
    items: list[Item] = field(default_factory=list)   # every current item
    new: list[Item] = field(default_factory=list)     # those not sent before
    report_period: str | None = None                  # the month whose report is attached


def first_working_day(day: dt.date) -> bool:
    """The month's first Monday-to-Friday day."""
    first = day.replace(day=1)
    while first.weekday() >= 5:
        first += dt.timedelta(days=1)
    return day == first


def scope_unit(cur, role: str, unit_id: str | None) -> str | None:
    """The unit whose subtree the login sees (the tree's first root for admins and city analysts)."""
    if role in ("leader", "analyst") and unit_id:
        return unit_id
    roots = lookups.roots(cur)
    return roots[0]["unit_id"] if roots else None


def build(cur, username: str, unit_id: str, day: dt.date, since: dt.date, known: set[str], lang: str,
          deadline_day: int, reminder_days: int) -> Digest:
    """The digest of `unit_id`'s subtree on `day`; `since`: the previous digest's day (tasks due
    from then on are newly overdue); `known`: the keys sent before."""
    tree = subtree_rollups(cur)
    digest = Digest(username, unit_id, tree.units[unit_id][1], day)
    last_complete = previous_period(day.strftime("%Y-%m"))
    running = day.strftime("%Y-%m")
    digest.items += rule_items(cur, unit_id, (last_complete, running), lang)
    digest.items += overdue_items(cur, unit_id, since, day, last_complete, lang)
    digest.items += drop_items(cur, unit_id, last_complete, lang)
    digest.items += pending_items(cur, unit_id, last_complete, day, deadline_day, reminder_days, lang)
    digest.new = [i for i in digest.items if i.key not in known]
    if first_working_day(day):
        digest.report_period = last_complete
    return digest


def rule_items(cur, unit_id: str, periods, lang: str) -> list[Item]:
    out = []
    for period in periods:
        items = rules.rule_items(cur, period, unit_id=unit_id)
        units = lookups.unit_names(cur, [i["unit_id"] for i in items[:SHOWN_PER_KIND * 4]])
        people = lookups.official_names(cur, [i["official_id"] for i in items[:SHOWN_PER_KIND * 4] if i["official_id"]])
        for i in items:
            who = people.get(i["official_id"]) or i["official_id"] if i["official_id"] else None
            where = units.get(i["unit_id"]) or i["unit_id"]
            line = (f"{t(i['kind'], lang)}: {t('rule_' + i['rule'], lang)} · "
                    f"{who + ' · ' if who else ''}{where} · {formats.period(period)}")
            href = (f"/official/{i['official_id']}?period={period}" if i["official_id"]
                    else f"/alerts?unit={i['unit_id']}&period={period}&rule={i['rule']}")
            out.append(Item(f"rule:{i['rule']}:{i['unit_id']}:{i['official_id'] or ''}:{period}", "rule", line, href))
    return out


def overdue_items(cur, unit_id: str, since: dt.date, day: dt.date, period: str, lang: str) -> list[Item]:
    """One item per official whose open tasks fell due in [since, day)."""
    out = []
    for official_id, name, n, first_due in newly_overdue(cur, unit_id, since, day):
        line = t("digest_item_overdue", lang, name=name or official_id, n=formats.number(n, lang),
                 day=formats.day(first_due))
        out.append(Item(f"overdue:{official_id}:{since.isoformat()}:{day.isoformat()}", "overdue", line,
                        f"/official/{official_id}?period={period}"))
    return out


def drop_items(cur, unit_id: str, period: str, lang: str) -> list[Item]:
    """The biggest falls of on-time rate or satisfaction against the month before: the children's,
    as the unit page's "Cần chú ý" panel finds them (dashboard/metrics/attention.py), or the
    unit's own when it has no children."""
    falls = attention.drops(cur, unit_id, period) or own_drop(cur, unit_id, period)
    out = []
    for d in falls[:DROPS_SHOWN]:
        line = t("digest_item_drop", lang, unit=d["name"], kpi=t(d["kpi"], lang),
                 before=formats.rate(d["before"], lang), now=formats.rate(d["now"], lang),
                 diff=formats.points(d["change"], lang), period=formats.period(period))
        out.append(Item(f"drop:{d['kpi']}:{d['unit_id']}:{period}", "drop", line, f"/unit/{d['unit_id']}?period={period}"))
    return out


def own_drop(cur, unit_id: str, period: str) -> list[dict]:
    """A leaf unit's own falls, in the form attention.drops gives, by the same threshold."""
    now, before = unit_kpis_with_previous(cur, unit_id, period)
    name = subtree_rollups(cur).units[unit_id][1]
    falls = [{"unit_id": unit_id, "name": name, "kpi": kpi, "now": now[kpi], "before": before[kpi],
              "change": now[kpi] - before[kpi]}
             for kpi in attention.DROP_KPIS
             if now[kpi] is not None and before[kpi] is not None and now[kpi] - before[kpi] <= -attention.MIN_DROP]
    return sorted(falls, key=lambda d: d["change"])


def evaluation_deadline(period: str, deadline_day: int) -> dt.date:
    """The day the month's evaluations are due: `deadline_day` of the month after."""
    _, after = lookups.period_bounds(period)
    return after.replace(day=min(deadline_day, 28))


def pending_items(cur, unit_id: str, period: str, day: dt.date, deadline_day: int, reminder_days: int,
                  lang: str) -> list[Item]:
    """In the `reminder_days` before the evaluation deadline (and on it): the units below with
    officials not yet evaluated for `period`, a reminder each day."""
    deadline = evaluation_deadline(period, deadline_day)
    if not (deadline - dt.timedelta(days=reminder_days) <= day <= deadline):
        return []
    table = compare.children(cur, unit_id, period)
    rows = table.to_dict("records") if len(table) else []
    if not rows:
        from dashboard.metrics.kpis import unit_kpis
        k = unit_kpis(cur, unit_id, period)
        rows = [{"unit_id": unit_id, "name": subtree_rollups(cur).units[unit_id][1],
                 "pending_evaluations": k["pending_evaluations"]}]
    out = []
    for r in sorted(rows, key=lambda r: (-int(r["pending_evaluations"] or 0), r["unit_id"])):
        n = int(r["pending_evaluations"] or 0)
        if n:
            line = t("digest_item_pending", lang, unit=r["name"], n=formats.number(n, lang),
                     period=formats.period(period), deadline=formats.day(deadline))
            out.append(Item(f"pending:{r['unit_id']}:{period}:{day.isoformat()}", "pending", line,
                            f"/unit/{r['unit_id']}?period={period}"))
    return out


def newly_overdue(cur, unit_id: str, since: dt.date, day: dt.date) -> list[tuple]:
    """(official_id, full_name, open tasks, first due date) of the subtree's officials whose
    open tasks fell due in [since, day), from the official_open_due rollup (like overdue_open)."""
    return cur.execute(
        """SELECT d.official_id, o.full_name, sum(d.n) AS n, min(d.due_at) FROM official_open_due d
           JOIN officials o ON o.official_id = d.official_id
           WHERE o.unit_id IN (SELECT descendant FROM unit_closure WHERE ancestor = ?)
             AND d.due_at >= ? AND d.due_at < ?
           GROUP BY d.official_id, o.full_name HAVING sum(d.n) > 0
           ORDER BY n DESC, d.official_id""", [unit_id, since, day]).fetchall()
