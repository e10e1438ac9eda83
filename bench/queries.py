"""Query benchmark: the unit and official pages from the rollups, against pandas on the raw
facts (the baseline), measured in the same run on the same database.

One unit-page refresh = tiles with previous-month deltas (every KPI and rule), the 13-month
trend, the children side by side, the officials ranked. One official-page refresh = the
official's tiles and deltas, 13-month trend, tasks due this month (late first), latest
ratings and evaluation history. Also: two city days of new data (task updates and ratings)
applied through the loader, rollups included; and the refresh time on the demo database,
to show how it grows with the data.

    python -m etl demo --scale city --db data/city.duckdb     # once (about 5 minutes)
    python -m etl demo --scale demo --db data/thuocdo.duckdb
    python bench/queries.py --db data/city.duckdb --small-db data/thuocdo.duckdb
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from dashboard.metrics import lookups  # noqa: E402
from dashboard.components.unit_view import RANKING_PAGE  # noqa: E402
from dashboard.metrics.compare import children, officials_ranking, ranking_size  # noqa: E402
from dashboard.metrics.definitions import previous_period  # noqa: E402
from dashboard.metrics.kpis import official_kpis_with_previous, unit_kpis, unit_kpis_with_previous  # noqa: E402
from dashboard.metrics.trends import official_trend, unit_trend  # noqa: E402
from etl.clustering import compact  # noqa: E402
from etl.db import connect  # noqa: E402
from etl.loader import load_file  # noqa: E402


def unit_page(cur, unit_id, period, as_of):
    """What the unit page's callbacks ask the metrics layer for."""
    return (unit_kpis_with_previous(cur, unit_id, period, as_of), unit_trend(cur, unit_id, period),
            children(cur, unit_id, period, as_of), ranking_size(cur, unit_id, period),
            officials_ranking(cur, unit_id, period, limit=RANKING_PAGE))


def official_page(cur, official_id, period, as_of):
    return (official_kpis_with_previous(cur, official_id, period, as_of), official_trend(cur, official_id, period),
            lookups.official_tasks(cur, official_id, period, as_of),
            lookups.latest_ratings(cur, official_id), lookups.evaluation_history(cur, official_id))


# --- the pandas baseline: the same numbers from the raw facts held in memory ------------------

RANK = {"HTXS": 4, "HTT": 3, "HT": 2, "KHT": 1}


def _band(score):
    return np.select([score >= 90, score >= 70, score >= 50], ["HTXS", "HTT", "HT"], "KHT")


class PandasBaseline:
    def __init__(self, cur):
        self.units = cur.execute("SELECT unit_id, parent_id, name FROM units").df()
        self.officials = cur.execute("SELECT * FROM officials").df()
        self.tasks = cur.execute("SELECT task_id, official_id, due_at, completed_at, status, quality_failures "
                                 "FROM tasks").df()
        self.tasks["period"] = self.tasks["due_at"].dt.strftime("%Y-%m")
        self.ratings = cur.execute("SELECT official_id, rated_at, level, comment FROM ratings").df()
        self.ratings["period"] = self.ratings["rated_at"].dt.strftime("%Y-%m")
        self.events = cur.execute("SELECT * FROM evaluations").df()
        self.unit_events = cur.execute("SELECT * FROM unit_evaluations").df()
        self.kids = self.units.groupby("parent_id")["unit_id"].apply(list).to_dict()

    def subtree(self, unit_id):
        out, stack = [], [unit_id]
        while stack:
            u = stack.pop()
            out.append(u)
            stack.extend(self.kids.get(u, []))
        return out

    @staticmethod
    def current(events, owner, period):
        ev = events[events["period"] == period].sort_values(["acted_at", "event_id"]).copy()
        ev["effective"] = ev["rating"].fillna(pd.Series(_band(ev["score"].fillna(0)), index=ev.index))
        ev["seq"] = ev.groupby(owner).cumcount()
        finals = ev[ev.stage == "final"].groupby(owner).tail(1).set_index(owner)
        cancels = ev[ev.stage == "cancel"].groupby(owner)["seq"].max()
        finals = finals[~(cancels.reindex(finals.index) > finals["seq"]).fillna(False)]
        first_self = ev[ev.stage == "self"].groupby(owner)["seq"].min()
        last_self = ev[ev.stage == "self"].groupby(owner).tail(1).set_index(owner)["effective"]
        finals["has_self_before"] = (first_self.reindex(finals.index) < finals["seq"]).fillna(False)
        finals["latest_self"] = last_self.reindex(finals.index)
        return finals

    def kpis(self, officials, period, as_of):
        ids = officials["official_id"]
        t = self.tasks[self.tasks["official_id"].isin(ids)]
        due = t[(t.period == period) & (t.status != "cancelled")]
        done = due[due.status == "done"]
        late = (done["completed_at"] > done["due_at"]).astype(int)
        points = np.maximum(0, 1 - 0.25 * late - 0.25 * done["quality_failures"])
        r = self.ratings[self.ratings["official_id"].isin(ids) & (self.ratings.period == period)]
        cur_results = self.current(self.events[self.events["official_id"].isin(ids)], "official_id", period)
        n = len(due)
        return {"tasks_due": n, "tasks_done": len(done),
                "on_time_rate": (done["completed_at"] <= done["due_at"]).sum() / n if n else None,
                "task_score": 70 * points.sum() / n if n else None,
                "overdue_open": int(((t.status == "open") & (t["due_at"] < pd.Timestamp(as_of))).sum()),
                "ratings_count": len(r), "satisfaction_rate": (r.level >= 3).mean() if len(r) else None,
                "rating_counts": cur_results["effective"].value_counts().to_dict(),
                "rules": self.rules(officials, cur_results, due, period)}

    def rules(self, officials, results, due, period):
        o = officials.set_index("official_id")
        res = results.join(o[["unit_id", "is_head"]], how="inner")
        on_time = due.assign(ok=(due.completed_at <= due.due_at) & (due.status == "done")).groupby(
            "official_id")["ok"].mean()
        items = [("rating_outside_band", res.index[res["effective"] != _band(res["score"])])]
        items.append(("final_without_self", res.index[~res["has_self_before"].astype(bool)]))
        rate = on_time.reindex(res.index)
        items.append(("rating_not_supported", res.index[res["effective"].isin(["HTXS", "HTT"]) & (rate < 0.5)]))
        gap = res["latest_self"].map(RANK).astype(float) - res["effective"].map(RANK).astype(float)
        items.append(("self_inflation", res.index[gap >= 2]))
        quota = res.groupby("unit_id")["effective"].apply(lambda s: (s == "HTXS").sum() > 0.3 * len(s))
        collective = self.current(self.unit_events, "unit_id", period)["effective"]
        heads = res[res["is_head"].astype(bool)]
        above = heads[heads["effective"].map(RANK).astype(float)
                      > heads["unit_id"].map(collective).map(RANK).astype(float)]
        return sum(len(i) for _, i in items) + int(quota.astype(bool).sum()) + len(above)

    def unit_page(self, unit_id, period, as_of):
        scope = self.subtree(unit_id)
        people = self.officials[self.officials["unit_id"].isin(scope)]
        tiles = (self.kpis(people, period, as_of), self.kpis(people, previous_period(period), as_of))
        t = self.tasks[self.tasks["official_id"].isin(people["official_id"])]
        trend = t[t.status != "cancelled"].groupby("period").agg(due=("task_id", "size"))
        kids = {}
        for kid in self.kids.get(unit_id, []):
            kid_people = people[people["unit_id"].isin(self.subtree(kid))]
            kids[kid] = self.kpis(kid_people, period, as_of)
        month = t[(t.period == period) & (t.status != "cancelled")]
        ranking = month.groupby("official_id").agg(due=("task_id", "size")).nlargest(200, "due")
        return tiles, trend, kids, ranking

    def official_page(self, official_id, period, as_of):
        person = self.officials[self.officials["official_id"] == official_id]
        tiles = (self.kpis(person, period, as_of), self.kpis(person, previous_period(period), as_of))
        t = self.tasks[self.tasks["official_id"] == official_id]
        late_first = t[t.period == period].sort_values("due_at")
        ratings = self.ratings[self.ratings["official_id"] == official_id].nlargest(10, "rated_at")
        history = self.events[self.events["official_id"] == official_id].sort_values("acted_at")
        return tiles, t.groupby("period").size(), late_first, ratings, history


# --- measuring -----------------------------------------------------------------------------------

def timed(fn, args_list):
    out = []
    for args in args_list:
        start = time.perf_counter()
        fn(*args)
        out.append((time.perf_counter() - start) * 1000)
    return out


def pct(values, q):
    return float(np.percentile(values, q))


def line(label, values):
    return f"{label:<44} p50 {pct(values, 50):9.1f} ms   p95 {pct(values, 95):9.1f} ms   (n={len(values)})"


def workload(cur, refreshes, seed=1):
    rng = random.Random(seed)
    periods = lookups.periods(cur)[-6:]
    units = [r[0] for r in cur.execute("SELECT unit_id FROM units ORDER BY unit_id").fetchall()]
    # leaders look mostly at the top of the tree: weight the root and departments up
    top = [r[0] for r in cur.execute("SELECT descendant FROM unit_closure c JOIN units u ON u.unit_id = c.ancestor "
                                     "WHERE u.parent_id IS NULL AND c.depth <= 1 ORDER BY descendant").fetchall()]
    # The same units and officials in every run: an unseeded sample drew different officials,
    # and a counter's official (thousands of ratings) costs more than most.
    officials = rng.sample([r[0] for r in cur.execute("SELECT official_id FROM officials ORDER BY official_id")
                            .fetchall()], 2000)
    as_of = lookups.period_bounds(periods[-1])[1]
    unit_args = [(rng.choice(top if rng.random() < 0.5 else units), rng.choice(periods), as_of)
                 for _ in range(refreshes)]
    official_args = [(rng.choice(officials), rng.choice(periods), as_of) for _ in range(refreshes)]
    return unit_args, official_args


def size_of(cur):
    counts = {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("units", "officials", "tasks", "ratings", "evaluations")}
    return ", ".join(f"{v:,} {k}" for k, v in counts.items())


class StatementTimer:
    """A connection that times every statement the loader sends (`--statements`)."""

    def __init__(self, conn):
        self._conn, self.times = conn, []

    def execute(self, sql, params=None):
        start = time.perf_counter()
        result = self._conn.execute(sql) if params is None else self._conn.execute(sql, params)
        self.times.append((time.perf_counter() - start, " ".join(sql.split())))
        return result

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def report(self, top: int) -> None:
        total = sum(t for t, _ in self.times)
        print(f"    {len(self.times)} statements, {total:.2f} s; the slowest:")
        for seconds, sql in sorted(self.times, reverse=True)[:top]:
            print(f"    {seconds * 1000:8.1f} ms  {sql[:110]}")
        self.times.clear()


def write_days(db: Path, work: Path, days: int = 2) -> list[list[Path]]:
    """`days` days of new city data, read from `db` before the benchmark opens its copy (so
    that sampling does not warm the copy): each day completes 50,000 open tasks, adds 30,000
    new tasks (80,000 task rows) and 30,000 ratings, as the Parquet files a unit would send."""
    conn = connect(db, read_only=True)
    last = pd.Timestamp(conn.execute("SELECT max(updated_at) FROM tasks").fetchone()[0]).normalize()
    open_tasks = conn.execute(
        "SELECT * FROM (SELECT * EXCLUDE (batch_id, key_hash) FROM tasks WHERE status = 'open') "
        f"USING SAMPLE {50_000 * days} ROWS (reservoir, 7)").df()
    out = []
    for n in range(1, days + 1):
        day = last + pd.Timedelta(days=n)
        done = open_tasks.iloc[(n - 1) * 50_000:n * 50_000].assign(
            status="done", completed_at=day.date(), updated_at=day + pd.Timedelta(hours=10))
        officials = conn.execute(f"SELECT official_id FROM officials USING SAMPLE 30000 ROWS (reservoir, {n})"
                                 ).fetchall()
        new = pd.DataFrame({
            "task_id": [f"DAY{n}-{i:06d}" for i in range(30_000)],
            "official_id": [officials[i % len(officials)][0] for i in range(30_000)],
            "title": "Nhiệm vụ mới", "origin": "assigned", "assigned_at": day.date(),
            "due_at": (day + pd.Timedelta(days=7)).date(), "completed_at": None, "status": "open",
            "quality_failures": 0, "updated_at": day + pd.Timedelta(hours=9)})
        tasks = pd.concat([done, new], ignore_index=True)
        for col in ("assigned_at", "due_at", "completed_at", "updated_at"):
            tasks[col] = pd.to_datetime(tasks[col])
        ratings = pd.DataFrame({
            "rating_id": [f"DAY{n}R{i:06d}" for i in range(30_000)],
            "official_id": [officials[(i * 7) % len(officials)][0] for i in range(30_000)],
            "counter_id": "Q01", "procedure_code": "TTHC-1.001",
            "rated_at": [day + pd.Timedelta(minutes=8 * 60 + i % 540) for i in range(30_000)],
            "level": [(i % 4) + 1 for i in range(30_000)]})
        paths = [work / f"tasks_day{n}.parquet", work / f"ratings_day{n}.parquet"]
        pq.write_table(pa.Table.from_pandas(tasks, preserve_index=False), paths[0])
        pq.write_table(pa.Table.from_pandas(ratings, preserve_index=False), paths[1])
        out.append(paths)
    conn.close()
    return out


def day_of_data(db: Path, work: Path, statements: int = 0) -> None:
    """Two city days, each file loaded through the loader with its rollup update, on a copy
    of the database. Day 1 is the first load of a freshly opened file (nothing of it in
    DuckDB's memory yet); day 2 is what a running server, which already ingests, pays every day."""
    days = write_days(db, work)
    copy = work / "day.duckdb"
    shutil.copy(db, copy)
    conn = connect(copy)
    loader_conn = StatementTimer(conn) if statements else conn
    for n, (label, paths) in enumerate(zip(("freshly opened file", "running server"), days), start=1):
        total = 0.0
        for path in paths:
            start = time.perf_counter()
            entry = load_file(loader_conn, path)
            seconds = time.perf_counter() - start
            total += seconds
            print(f"day {n}: {path.name:<21} {entry['rows_read']:>7,} rows  loaded {entry['loaded']:>7,}  "
                  f"{seconds:6.2f} s including the rollup update")
            if statements:
                loader_conn.report(statements)
            path.unlink()
        print(f"day {n} ({label}): {total:.2f} s in all")
    start = time.perf_counter()
    done = compact(conn)  # what `etl load` does after its files
    print(f"then compaction (etl load does it after its files): {time.perf_counter() - start:.2f} s "
          f"({', '.join(d['table'] for d in done) or 'nothing to do'})")
    conn.close()
    copy.unlink()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=REPO / "data" / "city.duckdb")
    ap.add_argument("--small-db", type=Path, default=REPO / "data" / "thuocdo.duckdb")
    ap.add_argument("--refreshes", type=int, default=200)
    ap.add_argument("--baseline-refreshes", type=int, default=10, help="pandas is slow: fewer refreshes")
    ap.add_argument("--work", type=Path, default=REPO / "data" / "bench")
    ap.add_argument("--day-only", action="store_true", help="only the days of new data")
    ap.add_argument("--statements", type=int, default=0, metavar="N",
                    help="after each day's file, the N slowest statements the loader sent")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    results = {}
    for label, db in () if args.day_only else (("small", args.small_db), ("city", args.db)):
        if not db.exists():
            print(f"skip {label}: no database at {db} (see the module docstring)")
            continue
        conn = connect(db, read_only=True)
        cur = conn.cursor()
        print(f"\n[{label}] {db}: {size_of(cur)}")
        unit_args, official_args = workload(cur, args.refreshes)
        # First visits (each unit and official read from the file for the first time since the
        # process started), then the same refreshes again (a server that has been running).
        first_unit = timed(lambda *a: unit_page(cur, *a), unit_args)
        first_official = timed(lambda *a: official_page(cur, *a), official_args)
        results[label] = timed(lambda *a: unit_page(cur, *a), unit_args)
        print(line("unit page (rollups), first visits", first_unit))
        print(line("unit page (rollups), running server", results[label]))
        print(line("official page (rollups), first visits", first_official))
        print(line("official page (rollups), running server", timed(lambda *a: official_page(cur, *a),
                                                                     official_args)))
        if label == "city":
            start = time.perf_counter()
            base = PandasBaseline(cur)
            print(f"pandas baseline: raw facts loaded in {time.perf_counter() - start:.1f} s")
            n = args.baseline_refreshes
            b_unit = timed(base.unit_page, unit_args[:n])
            b_official = timed(base.official_page, official_args[:n])
            print(line("unit page (pandas on raw facts)", b_unit))
            print(line("official page (pandas on raw facts)", b_official))
            print(f"unit page: rollups are {pct(b_unit, 50) / pct(results[label], 50):.0f}x faster at p50, "
                  f"{pct(b_unit, 95) / pct(results[label], 95):.0f}x at p95")
            check = unit_kpis(cur, unit_args[0][0], unit_args[0][1], unit_args[0][2])
            mine = base.kpis(base.officials[base.officials.unit_id.isin(base.subtree(unit_args[0][0]))],
                             unit_args[0][1], unit_args[0][2])
            assert check["tasks_due"] == mine["tasks_due"] and check["ratings_count"] == mine["ratings_count"]
            assert len(check["violations"]) + len(check["warnings"]) == mine["rules"], "baseline disagrees"
            del base
        conn.close()
    if "small" in results and "city" in results:
        print(f"\ngrowth from small to city: unit page p50 x{statistics.median(results['city']) / statistics.median(results['small']):.1f}")
    if args.db.exists():
        day_of_data(args.db, args.work, args.statements)


if __name__ == "__main__":
    main()
