"""Monthly evaluations (xếp loại) of officials and of units' collectives.

For every official and month: self-assessment → (often) a review → the final decision by
the supervisor, in the first days of the next month. Scores follow the official's real
on-time rate that month, and the units keep the written rules (the head is not rated above
the collective, at most 30 % HTXS per unit), except for a few deliberate breaches, one set
per rule of metrics.md, so that the rule engine has something to find. Some results are
cancelled and re-evaluated, some cancelled with nothing after, some not given yet
(especially for the latest month).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from etl.demo import names, writers as w
from etl.demo.org import Org
from etl.demo.scales import Timeline

RATINGS = ("HTXS", "HTT", "HT", "KHT")       # best first
BAND_TOP = np.array([100, 89, 69, 49])       # highest score of each band
STAGES = ("self", "review", "final", "cancel")
QUOTA = 0.3                                  # QĐ 3814: at most 30 % HTXS in a unit each month
DAY_SECONDS = (8 * 3600, 9 * 3600)           # events between 08:00 and 17:00


def band(score: np.ndarray) -> np.ndarray:
    """Index into RATINGS of a score's band: 0 = HTXS (≥ 90) … 3 = KHT (< 50)."""
    return 3 - (score >= 50).astype(np.int64) - (score >= 70) - (score >= 90)


@dataclass
class Period:
    """One month's results before they become events."""

    score: np.ndarray          # final score per official (int)
    rated: np.ndarray          # has a final
    cancel: np.ndarray         # the final is cancelled …
    reeval: np.ndarray         # … and given again (a lower score)
    self_only: np.ndarray      # not rated yet, but the self-assessment is in
    unit_score: np.ndarray     # collective final score per unit
    unit_rated: np.ndarray
    unit_self_only: np.ndarray


class Breaches:
    """Officials and units chosen to break one rule each in a period."""

    def __init__(self):
        self.outside_band = np.zeros(0, np.int64)
        self.no_self = np.zeros(0, np.int64)
        self.inflated = np.zeros(0, np.int64)
        self.heads_above = np.zeros(0, np.int64)
        self.quota_units = np.zeros(0, np.int64)
        self.quota_members = np.zeros(0, np.int64)   # officials rated HTXS to break the quota


def _subtree_mean(org: Org, values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of `values` over officials in each unit's subtree (where mask), and the count."""
    n_units = len(org.unit_ids)
    total, count = np.zeros(n_units), np.zeros(n_units)
    unit = org.off_unit[mask]
    vals = values[mask]
    while len(unit):
        np.add.at(total, unit, vals)
        np.add.at(count, unit, 1)
        up = org.unit_parent[unit]
        unit, vals = up[up >= 0], vals[up >= 0]
    return np.divide(total, count, out=np.zeros(n_units), where=count > 0), count


def results(org: Org, i: int, latest: bool, assigned: np.ndarray, on_time: np.ndarray,
            rng: np.random.Generator) -> Period:
    """Final scores that keep the rules: score from the month's on-time rate, then the
    head cap (not above the collective) and the unit's HTXS quota."""
    n = len(org.official_ids)
    expected = 1 / (1 + np.exp(-(1.4 + org.diligence)))
    rate = np.divide(on_time, assigned, out=expected.copy(), where=assigned > 0)
    score = np.clip(np.round(42 + 52 * rate + 3 * org.diligence + rng.normal(0, 4, n)), 20, 100)

    alive = org.last_month >= i
    missing = rng.random(n) < (0.12 if latest else 0.008)
    rated = alive & ~missing
    self_only = alive & missing & (rng.random(n) < 0.5)
    cancel = rated & (rng.random(n) < (0 if latest else 0.012))   # too late to cancel the latest yet
    reeval = cancel & (rng.random(n) < 0.7)
    current = rated & (~cancel | reeval)

    mean, count = _subtree_mean(org, score, rated)
    n_units = len(org.unit_ids)
    unit_score = np.clip(np.round(mean + rng.normal(1.5, 2.5, n_units)), 0, 100)
    unit_rated = (count > 0) & (rng.random(n_units) < (0.75 if latest else 0.93))
    unit_self_only = (count > 0) & ~unit_rated & (rng.random(n_units) < 0.3)

    # A head may not be rated above the collective: cap into the collective's band.
    heads = np.flatnonzero(org.is_head & rated)
    u = org.off_unit[heads]
    capped = unit_rated[u] & (band(score[heads]) < band(unit_score[u]))
    cap = BAND_TOP[band(unit_score[u])] - rng.integers(0, 4, len(heads))
    score[heads[capped]] = cap[capped]

    # At most 30 % HTXS among a unit's own current results: keep the best, demote the rest.
    # (A re-evaluation only lowers a score, so it keeps both rules.)
    own_rated = np.bincount(org.off_unit[current], minlength=n_units)
    allowed = np.floor(QUOTA * own_rated + 1e-9).astype(np.int64)
    top = np.flatnonzero(rated & (score >= 90))
    order = np.lexsort((top, -score[top], org.off_unit[top]))
    top = top[order]
    unit_top = org.off_unit[top]
    first = np.searchsorted(unit_top, unit_top)      # index of the unit's first HTXS
    demote = top[(np.arange(len(top)) - first) >= allowed[unit_top]]
    score[demote] = 89 - rng.integers(0, 4, len(demote))
    return Period(score, rated, cancel, reeval, self_only, unit_score, unit_rated, unit_self_only)


def choose_breaches(org: Org, p: Period, rng: np.random.Generator) -> Breaches:
    """A few deliberate breaches per period, disjoint, among results never cancelled."""
    b = Breaches()
    n = len(org.official_ids)
    current = p.rated & ~p.cancel
    k = max(1, int(round(n * 0.002)))
    used = np.zeros(n, bool)

    def take(pool: np.ndarray, count: int) -> np.ndarray:
        pool = pool[~used[pool]]
        chosen = np.sort(rng.choice(pool, min(count, len(pool)), replace=False)) if len(pool) else pool
        used[chosen] = True
        return chosen

    bands = band(p.score)
    staff = current & ~org.is_head
    # HT scores rated HTT: the breach adds no HTXS, so the quota rule is not touched.
    b.outside_band = take(np.flatnonzero(staff & (bands == 2)), k)
    b.no_self = take(np.flatnonzero(staff), 2 * k)
    b.inflated = take(np.flatnonzero(staff & (bands >= 2)), k)

    # Units where one more HTXS stays within the quota, so only the head rule fires there.
    n_units = len(org.unit_ids)
    own = np.bincount(org.off_unit[current], minlength=n_units)
    htxs = np.bincount(org.off_unit[current & (bands == 0)], minlength=n_units)
    head = org.unit_head
    ok = (p.unit_rated & (band(p.unit_score) >= 1) & current[head] & ~used[head]
          & (htxs + 1 <= np.floor(QUOTA * own)))
    units = np.flatnonzero(ok)
    b.heads_above = np.sort(rng.choice(units, min(max(1, n_units // 400), len(units)), replace=False)) \
        if len(units) else units
    used[head[b.heads_above]] = True

    small = np.flatnonzero((own >= 3) & (own <= 8))
    small = small[~np.isin(small, b.heads_above)]
    b.quota_units = np.sort(rng.choice(small, min(max(1, n_units // 800), len(small)), replace=False)) \
        if len(small) else small
    members = []
    for u in b.quota_units:
        own_members = np.flatnonzero(org.off_unit == u)
        mine = own_members[current[own_members] & ~org.is_head[own_members] & ~used[own_members]]
        # More than 30 % of the unit's rated officials (the head included) become HTXS.
        members.append(mine[: int(np.ceil(0.5 * (own[u] + 1)))])
    b.quota_members = np.concatenate(members) if members else b.quota_members
    used[b.quota_members] = True
    return b


def period_events(org: Org, tl: Timeline, i: int, assigned: np.ndarray, on_time: np.ndarray,
                  seed: int) -> tuple[dict, dict]:
    """Evaluation events of officials and of units for period i, as column arrays."""
    rng = np.random.default_rng([seed, 300, i])
    latest = i == tl.last - 1
    n = len(org.official_ids)
    p = results(org, i, latest, assigned, on_time, rng)
    cancel, reeval = p.cancel, p.reeval
    b = choose_breaches(org, p, rng)

    score = p.score.copy()
    given = rng.random(n) < 0.85                       # else the score's band applies
    score[org.unit_head[b.heads_above]] = 93 + rng.integers(0, 5, len(b.heads_above))
    score[b.quota_members] = 90 + rng.integers(0, 7, len(b.quota_members))
    rating = band(score)
    rating[b.outside_band] -= 1                        # one level better than the score allows
    given[b.outside_band] = True

    self_score = np.clip(score + np.abs(np.round(rng.normal(1.5, 2.5, n))), 0, 100)
    self_score[b.inflated] = np.where(band(score[b.inflated]) == 2, 92, 75)
    has_self = (p.rated | p.self_only)
    has_self[b.no_self] = False
    reviewer, supervisor = org.reviewer(), org.supervisor()
    has_review = has_self & p.rated & ~org.is_head & (rng.random(n) < 0.6)
    review_score = np.round((self_score + score) / 2)
    new_score = np.maximum(score - rng.integers(1, 9, n), 0)

    start = tl.starts[i + 1]
    day_self = start + rng.integers(0, 3, n)
    day_review = start + rng.integers(3, 6, n)
    day_final = start + rng.integers(6, 10, n)
    day_cancel = day_final + rng.integers(3, 9, n)
    day_reeval = day_cancel + rng.integers(1, 5, n)
    everyone = np.arange(n)
    stages = [
        (has_self, 0, self_score, band(self_score), True, everyone, day_self, _notes(rng, n)),
        (has_review, 1, review_score, band(review_score), True, reviewer, day_review, None),
        (p.rated, 2, score, rating, given, supervisor, day_final, None),
        (cancel, 3, None, None, False, supervisor, day_cancel, rng.integers(0, len(names.CANCEL_NOTES), n)),
        (reeval, 2, new_score, band(new_score), True, supervisor, day_reeval, -2),
    ]
    people = _assemble(stages, rng)

    u_self = p.unit_rated | p.unit_self_only
    nu = len(org.unit_ids)
    u_self_score = np.clip(p.unit_score + np.abs(np.round(rng.normal(1, 2, nu))), 0, 100)
    parent_head = np.where(org.unit_parent >= 0, org.unit_head[np.maximum(org.unit_parent, 0)], -1)
    units = _assemble([
        (u_self, 0, u_self_score, band(u_self_score), True, org.unit_head, start + rng.integers(4, 7, nu), None),
        (p.unit_rated, 2, p.unit_score, band(p.unit_score), True, parent_head,
         start + rng.integers(9, 13, nu), None),
    ], rng)
    return people, units


def _notes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Self-assessment notes: index into names.SELF_NOTES (the last one is None)."""
    return rng.integers(0, len(names.SELF_NOTES), n)


def _assemble(stages, rng) -> dict[str, np.ndarray]:
    """Concatenate the stages' events and sort them by owner, then time."""
    cols = {k: [] for k in ("owner", "stage", "score", "rating", "given", "actor", "at", "note")}
    for mask, stage, score, rating, given, actor, day, note in stages:
        rows = np.flatnonzero(mask)
        k = len(rows)
        cols["owner"].append(rows)
        cols["stage"].append(np.full(k, stage))
        cols["score"].append(np.full(k, np.nan) if score is None else score[rows].astype(float))
        cols["rating"].append(np.full(k, -1) if rating is None else rating[rows])
        cols["given"].append(np.broadcast_to(np.asarray(given), mask.shape)[rows] & (rating is not None))
        cols["actor"].append(actor[rows])
        cols["at"].append(w.epoch_seconds(day[rows], DAY_SECONDS[0] + rng.integers(0, DAY_SECONDS[1], k)))
        # Notes: >= 0 self note index, -1 none, -2 re-evaluation, cancel notes offset by 100.
        if note is None:
            cols["note"].append(np.full(k, -1))
        elif isinstance(note, int):
            cols["note"].append(np.full(k, note))
        else:
            cols["note"].append(note[rows] + (100 if stage == 3 else 0))
    out = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.lexsort((out["at"], out["owner"]))
    return {k: v[order] for k, v in out.items()}


def note_texts(codes: np.ndarray) -> list[str | None]:
    self_notes = names.SELF_NOTES
    out = []
    for c in codes.tolist():
        if c >= 100:
            out.append(names.CANCEL_NOTES[c - 100])
        elif c == -2:
            out.append(names.REEVAL_NOTE)
        elif c >= 0:
            out.append(self_notes[c])
        else:
            out.append(None)
    return out


def event_table(ev: dict, owner_ids: list[str], actor_ids: list[str], owner_col: str, prefix: str,
                period: str, typed: bool, width: int = 7) -> pa.Table:
    """Arrow table of events. typed: score DOUBLE and acted_at TIMESTAMP; else text."""
    n = len(ev["owner"])
    no_score = np.isnan(ev["score"])
    no_rating = ~ev["given"]
    acted = w.timestamps(ev["at"]) if typed else w.iso_times(ev["at"], 0)
    score = (pa.array(ev["score"], mask=no_score) if typed
             else w.numbers(np.nan_to_num(ev["score"]), mask=no_score))
    return pa.table({
        "event_id": w.ids(prefix, 1, n, width),
        owner_col: w.pick(ev["owner"], owner_ids),
        "period": pa.array([period] * n, pa.string()),
        "stage": w.pick(ev["stage"], STAGES),
        "score": score,
        "rating": w.pick(np.maximum(ev["rating"], 0), RATINGS, mask=no_rating),
        "actor_id": w.pick(np.maximum(ev["actor"], 0), actor_ids, mask=ev["actor"] < 0),
        "acted_at": acted,
        "note": pa.array(note_texts(ev["note"]), pa.string()),
    })
