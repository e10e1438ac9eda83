"""Panel builds that every commit repeats, each beside its baseline in the same run, in process
on one database (read-only):

- charts: the unit page's three trend charts and the treemap as charts.py assembles them
  (plain data, unvalidated), against plotly's validated construction of the very same figures;
- "Cần chú ý" of a unit (the city's root by default, rebuilt after every commit under a
  stream): metrics.attention.attention, which reads the rule items once and counts the overdue
  officials in the pass that lists them, against the same parts called one by one as the panel
  did before (rule items read twice, a second pass for the count).

    python bench/panels.py --db data/city.duckdb [--unit HN] [--repeats 20]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

import duckdb  # noqa: E402
import plotly.graph_objects as go  # noqa: E402

from dashboard.components import charts  # noqa: E402
from dashboard.metrics import attention, lookups, trends  # noqa: E402
from dashboard.metrics.periods import is_running  # noqa: E402


def timed(fn, repeats: int) -> list[float]:
    fn()  # the first call warms DuckDB's buffers and plotly's imports for both sides alike
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def attention_in_parts(cur, unit_id: str, period: str, limit: int = 8) -> dict:
    """The panel's figures the way it gathered them before: each part reads for itself."""
    groups = attention.rule_groups(cur, unit_id, period)
    drops = [] if is_running(cur, period) else attention.drops(cur, unit_id, period)
    people = attention.officials_needing_attention(cur, unit_id, period, None, limit)
    return {"groups": groups, "drops": drops, "people": people,
            "overdue_officials": attention.overdue_count(cur, unit_id)}


def line(name: str, values: list[float], baseline: list[float], base_name: str) -> None:
    p50, base = statistics.median(values), statistics.median(baseline)
    print(f"  {name:<44} p50 {p50:7.1f} ms, max {max(values):7.1f} | {base_name}: p50 {base:7.1f} ms "
          f"= {base / p50:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=REPO / "data" / "city.duckdb")
    ap.add_argument("--unit", help="default: the tree's first root")
    ap.add_argument("--period", help="default: the last complete month")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    cur = duckdb.connect(str(args.db), read_only=True).cursor()
    unit = args.unit or lookups.roots(cur)[0]["unit_id"]
    period = args.period or lookups.default_period(cur)
    sizes = {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("units", "officials", "tasks")}
    print(f"database {args.db}: {sizes}; unit {unit}, period {period}, {args.repeats} repeats")

    df = trends.unit_trend(cur, unit, period)
    sub = lookups.subtree(cur, unit, period, max_depth=1)
    figures = {"three trend charts": lambda: (charts.trend_rates(df, "vi"), charts.trend_score(df, "vi"),
                                              charts.rating_distribution(df, "vi")),
               "treemap": lambda: (charts.treemap(sub, "vi"),)}
    print("charts: as assembled | baseline: plotly's validated construction of the same figures")
    for name, build in figures.items():
        specs = [f.to_plotly_json() for f in build()]
        line(name, timed(build, args.repeats), timed(lambda: [go.Figure(s) for s in specs], args.repeats),
             "validated")

    found, parts = attention.attention(cur, unit, period), attention_in_parts(cur, unit, period)
    assert found["overdue_officials"] == parts["overdue_officials"], "the two ways disagree"
    assert [p["official_id"] for p in found["sections"]["official"]] == [p["official_id"] for p in parts["people"]]
    print(f"'Cần chú ý' of {unit} | baseline: its parts called one by one (as before)")
    line("attention()", timed(lambda: attention.attention(cur, unit, period), args.repeats),
         timed(lambda: attention_in_parts(cur, unit, period), args.repeats), "in parts")


if __name__ == "__main__":
    main()
