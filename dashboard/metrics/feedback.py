"""Citizens' feedback on one official: every rating of a month, for the Cán bộ page's list.

A detail list of facts (like lookups.official_tasks), not a KPI: the counts it shows are the
month's `ratings_count` of metrics.md, filtered by level or counter.
"""
from __future__ import annotations

import pandas as pd

from dashboard.metrics.lookups import period_bounds
from dashboard.metrics.sql import frame

COLUMNS = ("rating_id", "rated_at", "level", "reason", "comment", "counter_id")


def official_ratings(cur, official_id: str, period: str) -> pd.DataFrame:
    """The official's ratings with `rated_at` in `period`, newest first."""
    first, after = period_bounds(period)
    # The official's row ids through the official_id index (a lone equality filter in a
    # MATERIALIZED CTE is what lets DuckDB use it), then whole rows for the month only: a
    # counter's official has up to 9,000 ratings a year at city scale.
    return frame(cur, f"""
        WITH mine AS MATERIALIZED (SELECT rowid AS rid, rated_at FROM ratings WHERE official_id = ?)
        SELECT {", ".join(COLUMNS)} FROM ratings
        WHERE rowid IN (SELECT rid FROM mine WHERE rated_at >= ? AND rated_at < ?)
        ORDER BY rated_at DESC, rating_id DESC""", [official_id, first, after])


def filtered(df: pd.DataFrame, level: int | None = None, counter: str | None = None,
             no_counter: str = "-") -> pd.DataFrame:
    """`df` (official_ratings) for one level and/or one counter; `no_counter` picks the
    ratings that name none."""
    if level is not None:
        df = df[df["level"] == level]
    if counter == no_counter:
        df = df[df["counter_id"].isna()]
    elif counter is not None:
        df = df[df["counter_id"] == counter]
    return df
