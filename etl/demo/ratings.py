"""Citizens' satisfaction ratings at one-stop counters, one month at a time, vectorised.

Only officials sitting at a counter of a one-stop unit are rated. The level follows the
official's latent courtesy plus per-visit noise, cut at fixed thresholds: on average about
62 % level 4, 33 % level 3, 4 % level 2 and 1 % level 1.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from etl.demo import names, writers as w
from etl.demo.org import Org
from etl.demo.scales import Scale, Timeline

THRESHOLDS = np.array([-2.3, -1.65, -0.3])     # latent satisfaction -> level 1..4
OPEN, HOURS = 7 * 3600 + 1800, 9 * 3600 + 1800  # counters open 07:30–17:00
COMMENT_P = np.array([0, 0.45, 0.35, 0.03, 0.06])   # chance of a comment by level
COUNTERS = tuple(f"Q{k:02d}" for k in range(1, 100))


def _comments():
    """One flat list of comments and where each group starts."""
    flat, start = [], {}
    for key, group in (("good", names.COMMENTS_GOOD), ("ok", names.COMMENTS_OK),
                       *((f"bad{r}", g) for r, g in enumerate(names.COMMENTS_BAD))):
        start[key] = (len(flat), len(group))
        flat += list(group)
    return flat, start


COMMENTS, COMMENT_GROUPS = _comments()


def generate_month(org: Org, tl: Timeline, i: int, scale: Scale, seed: int) -> dict[str, np.ndarray]:
    """Ratings of month i as column arrays, in the order the devices recorded them."""
    rng = np.random.default_rng([seed, 200, i])
    days = tl.open_days(i)
    seated = (org.counter > 0) & (org.last_month >= i)
    if org.counter.max() > len(COUNTERS):
        raise ValueError("more counters in a unit than Q01..Q99")
    lam = scale.ratings_per_day * len(days) * org.task_rate * seated
    who = np.repeat(np.arange(len(org.official_ids), dtype=np.int64), rng.poisson(lam))
    n = len(who)
    when = w.epoch_seconds(days[rng.integers(0, len(days), n)], OPEN + rng.integers(0, HOURS, n))
    order = np.lexsort((who, when))
    who, when = who[order], when[order]

    level = 1 + np.searchsorted(THRESHOLDS, org.courtesy[who] + rng.normal(0, 1, n))
    low = level <= 2
    reason = np.where(low & (rng.random(n) < 0.75),
                      rng.choice(len(names.REASONS), n, p=names.REASON_WEIGHTS), -1)

    # Comments: a group by level (and reason for low levels), then a random one of the group.
    group = np.where(level == 4, 0, np.where(level == 3, 1, 2 + np.where(reason >= 0, reason, 4)))
    keys = ["good", "ok"] + [f"bad{r}" for r in range(len(names.COMMENTS_BAD))]
    g_start = np.array([COMMENT_GROUPS[k][0] for k in keys])
    g_size = np.array([COMMENT_GROUPS[k][1] for k in keys])
    comment = g_start[group] + np.floor(rng.random(n) * g_size[group]).astype(np.int64)
    has_comment = rng.random(n) < COMMENT_P[level]

    ranks = np.arange(1, len(names.PROCEDURES) + 1)
    procedure = rng.choice(len(names.PROCEDURES), n, p=(1 / ranks) / (1 / ranks).sum())
    return dict(who=who, when=when, level=level, reason=reason, comment=comment,
                has_comment=has_comment, procedure=procedure, counter=org.counter[who] - 1)


def rating_table(tl: Timeline, i: int, m: dict, official_ids: pa.Array, style: str, seed: int) -> pa.Table:
    """style "typed": rated_at a TIMESTAMP column; "mixed": text in all three contract forms
    (naive local, UTC 'Z', '+07:00') as devices of different makes send them."""
    n = len(m["who"])
    yymm = tl.periods[i][2:4] + tl.periods[i][5:7]
    if style == "typed":
        rated_at = w.timestamps(m["when"])
        level = pa.array(m["level"].astype(np.int8))
    else:
        form = np.random.default_rng([seed, 201, i]).integers(0, 3, n)
        rated_at = w.iso_times(m["when"], form)
        level = pa.array([str(v) for v in m["level"].tolist()], pa.string())
    return pa.table({
        "rating_id": w.ids(f"HL{yymm}-", 1, n, 7),
        "official_id": pa.DictionaryArray.from_arrays(pa.array(m["who"].astype(np.int32)), official_ids),
        "counter_id": w.pick(m["counter"], COUNTERS),
        "procedure_code": w.pick(m["procedure"], names.PROCEDURES),
        "rated_at": rated_at,
        "level": level,
        "reason": w.pick(np.maximum(m["reason"], 0), names.REASONS, mask=m["reason"] < 0),
        "comment": w.pick(m["comment"], COMMENTS, mask=~m["has_comment"]),
    })
