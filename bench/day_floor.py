"""How far the loader's city day is from what DuckDB itself needs to store the same day.

On one copy of the city database, in one process (a running server):
  day 1  through the loader, unmeasured: it brings the copy to a running server's state;
  day 2  through the loader, validation, verdicts and rollups included (the baseline);
  day 3  the bare storage work only: read the file, find the stored versions' row ids by
         key_hash, delete them, insert the new rows, commit; no validation, no rollups;
  day 4  the same with no delete: what a design that never removes the replaced version pays;
  day 5  the same as day 3 after dropping the tasks' official_id index.
Each day: 50,000 completed tasks and 30,000 new ones (80,000 task rows), and 30,000 ratings.
Between days 2 and 3, the loader also takes small files of 1,000 rows (task completions and
ratings), as an inbox gets them through the day: how long until each is on the dashboards.

    python bench/day_floor.py --db data/city.duckdb
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import pyarrow.parquet as pq  # noqa: E402
from queries import size_of, write_days  # noqa: E402

from etl.db import connect  # noqa: E402
from etl.kinds import kind_of_file  # noqa: E402
from etl.loader import load_file  # noqa: E402


class Clock:
    def __init__(self):
        self.steps: list[tuple[str, float]] = []

    def run(self, conn, label: str, sql: str) -> None:
        start = time.perf_counter()
        conn.execute(sql)
        self.steps.append((label, time.perf_counter() - start))

    @property
    def total(self) -> float:
        return sum(s for _, s in self.steps)


def loader_day(conn, paths) -> float:
    start = time.perf_counter()
    for path in paths:
        load_file(conn, path)
    return time.perf_counter() - start


def small_files(paths, rows: int, count: int) -> list:
    """The first `count` slices of `rows` rows of each file, as files of their own."""
    out = []
    for path in paths:
        table = pq.read_table(path)
        for n in range(count):
            part = path.with_name(f"{path.stem}_part{n:02d}.parquet")
            pq.write_table(table.slice(n * rows, rows), part)
            out.append(part)
    return out


def bare_day(conn, paths, delete: bool = True) -> Clock:
    """The storage work of one day's files, each in its own transaction, as the loader does."""
    clock = Clock()
    for path in paths:
        kind = kind_of_file(path.name)
        clock.run(conn, f"{kind.name}: read the file", f"CREATE OR REPLACE TEMP TABLE day AS SELECT *, "
                  f"0::BIGINT AS batch_id, {kind.key_hash_sql()} AS key_hash FROM read_parquet('{path}')")
        clock.run(conn, f"{kind.name}: BEGIN", "BEGIN")
        if delete:
            clock.run(conn, f"{kind.name}: find stored row ids", f"CREATE OR REPLACE TEMP TABLE hits AS "
                      f"SELECT rowid AS rid FROM {kind.table} WHERE key_hash IN (SELECT key_hash FROM day)")
            clock.run(conn, f"{kind.name}: delete them", f"DELETE FROM {kind.table} WHERE rowid IN (SELECT rid FROM hits)")
        clock.run(conn, f"{kind.name}: insert", f"INSERT INTO {kind.table} BY NAME SELECT * FROM day")
        clock.run(conn, f"{kind.name}: COMMIT", "COMMIT")
    conn.execute("DROP TABLE IF EXISTS day; DROP TABLE IF EXISTS hits")
    return clock


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=REPO / "data" / "city.duckdb")
    ap.add_argument("--work", type=Path, default=REPO / "data" / "bench")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    days = write_days(args.db, args.work, days=6)
    small = small_files(days[5], rows=1_000, count=20)
    copy = args.work / "floor.duckdb"
    shutil.copy(args.db, copy)
    conn = connect(copy)
    print(f"{copy}: {size_of(conn)}")
    loader_day(conn, days[0])
    loader = loader_day(conn, days[1])
    print(f"day 2, the loader (validation, verdicts, rollups): {loader:.2f} s")
    for prefix in ("tasks", "ratings"):
        times = [loader_day(conn, [p]) * 1000 for p in small if p.name.startswith(prefix)]
        print(f"small {prefix} files of 1,000 rows through the loader ({len(times)}): "
              f"median {statistics.median(times):.0f} ms, slowest {max(times):.0f} ms")
    results = [("bare storage work", bare_day(conn, days[2])),
               ("bare, never deleting the old version", bare_day(conn, days[3], delete=False))]
    conn.execute("DROP INDEX tasks_official")
    results.append(("bare, without the tasks' official_id index", bare_day(conn, days[4])))
    for n, (label, clock) in enumerate(results, start=3):
        print(f"day {n}, {label}: {clock.total:.2f} s ({clock.total / loader:.0%} of the loader's day)")
        for step, seconds in clock.steps:
            print(f"    {seconds * 1000:7.1f} ms  {step}")
    conn.close()
    copy.unlink()
    for path in small + [p for paths in days for p in paths]:
        path.unlink()


if __name__ == "__main__":
    main()
