"""Running a metrics query into a DataFrame cheaply.

DuckDB's `.df()` costs several milliseconds per call on small results (Arrow conversion);
page queries return tens or hundreds of rows, where building the frame from tuples is
about ten times cheaper.
"""
from __future__ import annotations

import pandas as pd


def frame(cur, sql: str, params=None) -> pd.DataFrame:
    """Rows of `sql` as a DataFrame with the query's column names."""
    rows = cur.execute(sql, params if params is not None else []).fetchall()
    return pd.DataFrame.from_records(rows, columns=[d[0] for d in cur.description], coerce_float=True)
