"""OKRs for the year of the last month: the city's objectives, those of departments and
communes under them, quarterly objectives of some offices, key results on KPIs of
metrics.md or manual ones, and monthly check-ins of the manual key results."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from etl.demo import names, writers as w
from etl.demo.org import Org
from etl.demo.scales import Timeline

COUNT_METRICS = {"dissatisfied_count", "overdue_open", "pending_evaluations"}
THEMES = [t for t, _ in names.OBJECTIVE_THEMES]
THEME_TITLE = dict(names.OBJECTIVE_THEMES)


def _themes_for(org: Org, u: int, rng: np.random.Generator, k: int) -> list[str]:
    """k themes for a unit; units with a one-stop office always work on service quality."""
    has_counter = any(org.unit_kinds[c] == "mot_cua" for c in np.flatnonzero(org.unit_parent == u))
    pool = [t for t in THEMES if t != "phuc_vu"]
    chosen = list(rng.choice(pool, k - 1 if has_counter else k, replace=False))
    return sorted((["phuc_vu"] if has_counter else []) + [str(c) for c in chosen], key=THEMES.index)


def build(org: Org, tl: Timeline, seed: int) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(objectives, key_results, checkins) as text tables."""
    rng = np.random.default_rng([seed, 400])
    year = tl.periods[-1][:4]
    quarter = (int(tl.periods[-1][5:]) - 1) // 3 + 1
    size = np.bincount(org.off_unit, minlength=len(org.unit_ids)).astype(float)
    for u in range(len(org.unit_ids) - 1, 0, -1):          # children come after their parent
        size[org.unit_parent[u]] += size[u]

    objectives, by_unit_theme = [], {}

    def add(u: int, theme: str, period: str, parent: str | None):
        oid = f"OBJ-{period}-{org.unit_ids[u]}-{THEMES.index(theme) + 1}"
        objectives.append((oid, org.unit_ids[u], period, THEME_TITLE[theme], parent, u, theme))
        by_unit_theme[(u, theme)] = oid

    for theme in THEMES:
        add(0, theme, year, None)
    for u in np.flatnonzero(org.unit_parent == 0):
        for theme in _themes_for(org, u, rng, 2):
            add(u, theme, year, by_unit_theme[(0, theme)])
    for u in np.flatnonzero(org.unit_parent > 0):
        if rng.random() < 0.3:
            parent = org.unit_parent[u]
            theme = "phuc_vu" if org.unit_kinds[u] == "mot_cua" else str(rng.choice(THEMES))
            add(u, theme, f"{year}-Q{quarter}", by_unit_theme.get((parent, theme)))

    key_results = []
    for oid, _, period, _, _, u, theme in objectives:
        templates = names.KEY_RESULTS[theme]
        for j, t in enumerate(sorted(rng.choice(len(templates), min(3, len(templates)), replace=False)), 1):
            title, metric, start, target, direction = templates[t]
            if metric in COUNT_METRICS:                 # counts grow with the unit's size
                factor = max(size[u] / 50, 0.2)
                start, target = round(start * factor), round(target * factor)
            key_results.append((f"{oid}-KR{j}", oid, title, metric, start, target,
                                "" if direction == "up" and rng.random() < 0.3 else direction, period))

    checkins = _checkins(key_results, tl, rng)
    obj = pa.table({
        "objective_id": [o[0] for o in objectives], "unit_id": [o[1] for o in objectives],
        "period": [o[2] for o in objectives], "title": [o[3] for o in objectives],
        "parent_objective_id": pa.array([o[4] for o in objectives], pa.string()),
    })
    krs = pa.table({
        "kr_id": [k[0] for k in key_results], "objective_id": [k[1] for k in key_results],
        "title": [k[2] for k in key_results], "metric": [k[3] for k in key_results],
        "start_value": [_num(k[4]) for k in key_results], "target_value": [_num(k[5]) for k in key_results],
        "direction": pa.array([k[6] or None for k in key_results], pa.string()),
    })
    return obj, krs, checkins


def _num(v: float) -> str:
    return f"{v:g}"


def _checkins(key_results, tl: Timeline, rng: np.random.Generator) -> pa.Table:
    """Monthly check-ins of manual key results, from the objective's start to the last month."""
    rows = []
    for kr_id, _, _, metric, start, target, _, period in key_results:
        if metric != "manual":
            continue
        pace = rng.normal(1.0, 0.15)                    # ahead (>1) or behind plan
        months = _months_of(period)
        for k, i in enumerate(i for i, p in enumerate(tl.periods) if p in months):
            last = i == tl.last
            day = tl.snapshot if last else tl.starts[i] + 24
            progress = min(1.0, (months.index(tl.periods[i]) + 1) / len(months) * pace + rng.normal(0, 0.03))
            value = start + (target - start) * max(progress, 0)
            value = round(value) if float(start).is_integer() and float(target).is_integer() else round(value, 2)
            confidence = float(np.clip(0.7 + (pace - 1) * 1.5 + rng.normal(0, 0.05), 0.05, 0.99))
            note = str(rng.choice(names.CHECKIN_NOTES)) if rng.random() < 0.25 else None
            rows.append((kr_id, w.epoch_seconds(np.array([day]), np.array([16 * 3600 + int(rng.integers(0, 5400))]))[0],
                         value, round(confidence, 2), note))
    return pa.table({
        "kr_id": pa.array([r[0] for r in rows], pa.string()),
        "checked_at": w.iso_times(np.array([r[1] for r in rows], dtype=np.int64), 2),
        "value": pa.array([float(r[2]) for r in rows], pa.float64()),
        "confidence": pa.array([r[3] for r in rows], pa.float64()),
        "note": pa.array([r[4] for r in rows], pa.string()),
    })


def _months_of(period: str) -> list[str]:
    """'2026' -> the twelve months; '2026-Q3' -> its three months."""
    if "-Q" in period:
        year, q = period.split("-Q")
        return [f"{year}-{m:02d}" for m in range(3 * int(q) - 2, 3 * int(q) + 1)]
    return [f"{period}-{m:02d}" for m in range(1, 13)]

