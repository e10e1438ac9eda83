"""Tasks, one month at a time, vectorised: about 2.3 million rows a month at city scale.

Behaviour model: each official has a latent diligence (unit culture + person) that sets the
chance of finishing on time; late tasks finish some days after the due date or, rarely,
never. The monthly exports show the state on the snapshot day of the last month, so the
current month has many open tasks and some overdue ones; a later update file re-sends the
tasks finished between the snapshot and the update day (newer updated_at, status done).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl.demo import names, writers as w
from etl.demo.org import AREAS, Org
from etl.demo.scales import Scale, Timeline, day_date

DURATIONS = np.array([1, 2, 3, 5, 7, 10, 14, 21, 30])
DURATION_P = np.array([5, 8, 12, 20, 20, 12, 12, 6, 5]) / 100
# Month-of-year shift of diligence: Tết (Jan/Feb) slows work, the year-end push speeds it.
SEASON = {1: -0.15, 2: -0.4, 8: -0.1, 12: 0.15}
CANCEL_P = 0.025
STUCK_P = 0.06          # share of late tasks never finished …
STALE_CANCEL_P = 0.8    # … most of which are cancelled in a clean-up after three months
DAY_START, DAY_LEN = 7 * 3600 + 1800, 10 * 3600   # office hours 07:30–17:30
STATUSES = ("open", "done", "cancelled")
ORIGINS = ("assigned", "registered")


def month_titles(i: int, tl: Timeline) -> tuple[list[str], np.ndarray, np.ndarray]:
    """All titles of month i (with 'MM/YYYY' filled in) and each area's offset and count."""
    label = f"{tl.periods[i][5:]}/{tl.periods[i][:4]}"
    titles, offsets, counts = [], [], []
    for area in AREAS:
        offsets.append(len(titles))
        counts.append(len(names.TASK_TITLES[area]))
        titles += [t.replace("{m}", label) for t in names.TASK_TITLES[area]]
    return titles, np.array(offsets), np.array(counts)


def _off_weekend(days: np.ndarray) -> np.ndarray:
    """Saturday and Sunday move on to Monday."""
    weekday = (days + 3) % 7                          # 1970-01-01 was a Thursday; 0 = Monday
    return days + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0))


def _nearest_workday(days: np.ndarray) -> np.ndarray:
    """Saturday back to Friday, Sunday on to Monday (spreads the weekend's load)."""
    weekday = (days + 3) % 7
    return days + np.where(weekday == 5, -1, np.where(weekday == 6, 1, 0))


def generate_month(org: Org, tl: Timeline, i: int, scale: Scale, seed: int) -> dict[str, np.ndarray]:
    """Tasks assigned in month i as column arrays, sorted by official then assigned date."""
    rng = np.random.default_rng([seed, 100, i])
    n_off = len(org.official_ids)
    days = tl.open_days(i)
    share = len(days) / len(tl.workdays(i))            # the last month is exported mid-month
    lam = scale.tasks_per_month * share * org.task_rate * (org.last_month >= i)
    counts = rng.poisson(lam)
    who = np.repeat(np.arange(n_off, dtype=np.int64), counts)
    n = len(who)

    assigned = days[rng.integers(0, len(days), n)]
    order = np.lexsort((assigned, who))
    who, assigned = who[order], assigned[order]
    dur = DURATIONS[rng.choice(len(DURATIONS), n, p=DURATION_P)]
    due = np.maximum(_nearest_workday(assigned + dur), assigned)
    dur = due - assigned

    month = int(tl.periods[i][5:])
    z = org.diligence[who] + SEASON.get(month, 0.0)
    on_time = rng.random(n) < 1 / (1 + np.exp(-(1.4 + z)))
    stuck = ~on_time & (rng.random(n) < STUCK_P)
    cancelled = (rng.random(n) < CANCEL_P) | (stuck & (i <= tl.last - 3) & (rng.random(n) < STALE_CANCEL_P))
    stuck &= ~cancelled
    early = np.round(dur * (1 - rng.random(n) ** 0.6)).astype(np.int64)   # most finish near the due date
    # Work is delivered on workdays; a late delivery stays late.
    finish = np.where(on_time, np.clip(_nearest_workday(due - early), assigned, due),
                      _off_weekend(due + rng.geometric(0.2, n)))
    done = ~cancelled & ~stuck & (finish <= tl.snapshot)
    open_ = ~cancelled & ~done

    p_fail = np.clip(0.035 * np.exp(-0.7 * z), 0.003, 0.25)
    failures = rng.binomial(3, p_fail) * ~cancelled      # quality checks happen on delivery
    last_change = np.minimum(np.minimum(due, tl.snapshot), finish - 1)
    touched = assigned + np.floor(rng.random(n) * (np.maximum(last_change - assigned, 0) + 1)).astype(np.int64)
    updated_day = np.where(done, finish, touched)
    updated = w.epoch_seconds(updated_day, DAY_START + rng.integers(0, DAY_LEN, n))

    titles, offsets, sizes = month_titles(i, tl)
    area = org.area[who]
    title = offsets[area] + np.floor(rng.random(n) * sizes[area]).astype(np.int64)
    origin = (rng.random(n) < 0.3).astype(np.int64)        # about 30 % self-registered

    # Finished after the snapshot but by the update day: goes into the update file.
    later = open_ & ~stuck & (finish <= tl.update)
    status = np.where(cancelled, 2, np.where(done, 1, 0))
    return dict(who=who, assigned=assigned, due=due, finish=finish, done=done, status=status,
                failures=np.where(done | later, failures, 0), updated=updated, title=title, origin=origin,
                titles=titles, later=later, on_time=on_time & ~cancelled & ~stuck)


def task_table(tl: Timeline, i: int, m: dict, official_ids: pa.Array, style: str = "typed",
               rows: np.ndarray | None = None) -> pa.Table:
    """Arrow table of month i's tasks. style: "typed" (DATE/TIMESTAMP columns), "iso" (text,
    ISO dates, updated_at with +07:00) or "vn" (text, dd/mm/yyyy dates, naive local time).
    With `rows`, only those tasks, re-sent as finished (the update export)."""
    yymm = tl.periods[i][2:4] + tl.periods[i][5:7]
    task_id = w.ids(f"NV{yymm}-", 1, len(m["who"]), 7)
    if rows is None:
        sel, status, done, updated = slice(None), m["status"], m["done"], m["updated"]
    else:
        sel, status, done = rows, np.ones(len(rows), np.int64), np.ones(len(rows), bool)
        task_id = task_id.take(pa.array(rows))
        updated = m["finish"][rows] * 86400 + m["updated"][rows] % 86400   # same clock time, later day
    assigned, due, finish = m["assigned"][sel], m["due"][sel], m["finish"][sel]
    failures = pa.array(m["failures"][sel].astype(np.int32))
    if style == "typed":
        when = (w.dates(assigned), w.dates(due), w.dates(finish, mask=~done), w.timestamps(updated))
    else:
        vn = style == "vn"
        when = (w.iso_dates(assigned, vn=vn), w.iso_dates(due, vn=vn), w.iso_dates(finish, mask=~done, vn=vn),
                w.iso_times(updated, 0 if vn else 2))
        if not vn:
            failures = pc.cast(failures, pa.string())
    return pa.table({
        "task_id": task_id,
        "official_id": pa.DictionaryArray.from_arrays(pa.array(m["who"][sel].astype(np.int32)), official_ids),
        "title": w.pick(m["title"][sel], m["titles"]),
        "origin": w.pick(m["origin"][sel], ORIGINS),
        "assigned_at": when[0],
        "due_at": when[1],
        "completed_at": when[2],
        "status": w.pick(status, STATUSES),
        "quality_failures": failures,
        "updated_at": when[3],
    })


def update_table(parts: list[pa.Table]) -> pa.Table:
    """The update export: every re-sent task, in the order the changes happened."""
    plain = [p.cast(pa.schema([pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type)
                                        else f.type) for f in p.schema])) for p in parts]
    table = pa.concat_tables(plain)
    return table.sort_by([("updated_at", "ascending"), ("task_id", "ascending")])


def update_file_name(tl: Timeline) -> str:
    return f"tasks_updates_{day_date(tl.update).isoformat()}"
