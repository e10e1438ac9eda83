"""Running metrics queries: into a DataFrame cheaply, and several on one snapshot of the data.

DuckDB's `.df()` costs several milliseconds per call on small results (Arrow conversion);
page queries return tens or hundreds of rows, where building the frame from tuples is
about ten times cheaper.
"""
from __future__ import annotations

from contextlib import contextmanager

import pandas as pd


def frame(cur, sql: str, params=None) -> pd.DataFrame:
    """Rows of `sql` as a DataFrame with the query's column names."""
    rows = cur.execute(sql, params if params is not None else []).fetchall()
    return pd.DataFrame.from_records(rows, columns=[d[0] for d in cur.description], coerce_float=True)


@contextmanager
def one_snapshot(cur):
    """A cursor of its own inside one transaction: statements run on it see the same data
    even when a load commits meanwhile (row ids read by one stay valid for the next)."""
    own = cur.cursor()
    own.execute("BEGIN TRANSACTION")
    try:
        yield own
    finally:
        own.execute("COMMIT")
        own.close()
