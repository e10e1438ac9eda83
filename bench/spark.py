"""Scale-out benchmark (docs/scale-out.md): the full rollup computation on Spark against DuckDB's
rebuild_all() in the same run, the lake export's rows/s, the rollup import's time, and the unit
page served from imported rollups against the same page on the database that holds the facts.

    python bench/spark.py --db data/thuocdo.duckdb                 # demo scale (python -m etl demo)
    python bench/spark.py --db data/city.duckdb                    # city scale: ~10 minutes on 2 cores
    python bench/spark.py --scale city --times 2                   # builds a city with 2x the officials first
                                                                   # (python -m etl demo's generator; long)

The source database is copied (rebuild_all writes); Spark's output is checked equal to DuckDB's,
table by table (EXCEPT ALL both ways), before any figure is printed. Results also go to
bench/results/spark-<name>-<time>.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import numpy as np  # noqa: E402

from etl.db import connect  # noqa: E402
from etl.lake import export  # noqa: E402
from etl.rollup_import import import_rollups  # noqa: E402
from etl.rollups import ROLLUP_TABLES, rebuild_all  # noqa: E402


def _build(scale: str, times: int, work: Path) -> Path:
    """A demo-generator database with `times` × the scale's officials (same shape, more people)."""
    from etl.demo import SCALES, build_demo

    name = scale if times == 1 else f"{scale}{times}x"
    if name not in SCALES:
        SCALES[name] = dataclasses.replace(SCALES[scale], name=name, officials=SCALES[scale].officials * times)
    db = work / f"{name}.duckdb"
    build_demo(db, scale=name, out_dir=work / f"{name}-files", seed=42, progress=None,
               memory_limit=f"{3 * times}GB")  # the loader stages a month's tasks file whole
    shutil.rmtree(work / f"{name}-files", ignore_errors=True)
    return db


def _size(conn) -> dict:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("units", "officials", "tasks", "ratings", "evaluations")}


def _differences(national, source: Path) -> dict:
    national.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
    out = {}
    for t in (*ROLLUP_TABLES, "units", "officials"):
        cols = "* EXCLUDE (batch_id)" if t in ("units", "officials") else "*"
        out[t] = national.execute(
            f"SELECT (SELECT count(*) FROM (SELECT {cols} FROM {t} EXCEPT ALL SELECT {cols} FROM src.{t})) + "
            f"(SELECT count(*) FROM (SELECT {cols} FROM src.{t} EXCEPT ALL SELECT {cols} FROM {t}))").fetchone()[0]
    national.execute("DETACH src")
    return out


def _unit_page_ms(db: Path, refreshes: int) -> list[float]:
    """One unit-page refresh as bench/queries.py counts it (tiles and deltas, trend, children,
    ranking page 1 and its count), warm: the first refresh of each unit is not counted."""
    from queries import unit_page
    from dashboard.metrics import lookups

    conn = connect(db, read_only=True)
    cur = conn.cursor()
    rng = random.Random(1)
    periods = lookups.periods(cur)[-6:]
    as_of = lookups.period_bounds(periods[-1])[1]
    top = [r[0] for r in cur.execute("SELECT descendant FROM unit_closure c JOIN units u ON u.unit_id = c.ancestor "
                                     "WHERE u.parent_id IS NULL AND c.depth <= 1 ORDER BY descendant").fetchall()]
    units = [r[0] for r in cur.execute("SELECT unit_id FROM units ORDER BY unit_id").fetchall()]
    args = [(rng.choice(top if rng.random() < 0.5 else units), rng.choice(periods), as_of) for _ in range(refreshes)]
    unit_page(cur, *args[0])  # the subtree rollups of this data version, read once per process
    out = []
    for a in args:
        started = time.perf_counter()
        unit_page(cur, *a)
        out.append((time.perf_counter() - started) * 1000)
    conn.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="an existing database (copied; default: build --scale)")
    ap.add_argument("--scale", default="demo", help="demo generator scale to build when --db is not given")
    ap.add_argument("--times", type=int, default=1, help="multiply the scale's officials")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--shuffle-partitions", type=int, default=8)
    ap.add_argument("--driver-memory", default="4g")
    ap.add_argument("--refreshes", type=int, default=200)
    ap.add_argument("--work", type=Path, help="work folder (default: a temporary one, removed after)")
    ap.add_argument("--in-place", action="store_true",
                    help="use --db itself instead of a copy (a scratch database: rebuild_all writes to it); "
                         "four times city scale is some 17 GB")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="thuocdo-spark-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {"master": args.master}
    try:
        if args.db:
            source, name = args.db, args.db.stem
        else:
            started = time.perf_counter()
            source = _build(args.scale, args.times, work)
            name = source.stem
            result["generate_seconds"] = round(time.perf_counter() - started, 1)
        db = source if args.in_place and args.db else work / "facts.duckdb"
        if db != source:
            shutil.copy(source, db)
        conn = connect(db)
        result["size"] = _size(conn)
        print(f"{name}: {result['size']}", flush=True)

        result["lake_export"] = export(conn, work / "lake", "bench")
        print(f"lake export: {result['lake_export']['seconds']} s, "
              f"{result['lake_export']['rows_per_second']:,} rows/s", flush=True)

        started = time.perf_counter()
        rebuild_all(conn)
        result["duckdb_rebuild_all_seconds"] = round(time.perf_counter() - started, 2)
        conn.execute("CHECKPOINT")
        conn.close()
        print(f"DuckDB rebuild_all(): {result['duckdb_rebuild_all_seconds']} s", flush=True)

        from etl.spark.rollups import compute
        from etl.spark.session import spark_session

        started = time.perf_counter()
        spark = spark_session(args.master, args.shuffle_partitions, driver_memory=args.driver_memory)
        result["spark_start_seconds"] = round(time.perf_counter() - started, 2)
        try:
            started = time.perf_counter()
            manifest = compute(spark, work / "lake", work / "rollups")
            result["spark_rollups_seconds"] = round(time.perf_counter() - started, 2)
        finally:
            spark.stop()
        print(f"Spark {args.master}: {result['spark_rollups_seconds']} s (+ {result['spark_start_seconds']} s to "
              f"start the session)", flush=True)

        national_db = work / "national.duckdb"
        national = connect(national_db)
        imported = import_rollups(national, work / "rollups")
        result["import_seconds"] = imported["seconds"]
        result["imported_rows"] = sum(imported["db_rows"].values())
        result["differences"] = _differences(national, db)
        national.close()
        print(f"import: {result['import_seconds']} s for {result['imported_rows']:,} rows; "
              f"rows differing from DuckDB's: {sum(result['differences'].values())}", flush=True)
        if any(result["differences"].values()):
            print(f"NOT EQUAL: {result['differences']}")
            return 1

        for label, path in (("facts", db), ("national", national_db)):
            ms = _unit_page_ms(path, args.refreshes)
            result[f"unit_page_{label}_ms"] = {"p50": round(float(np.percentile(ms, 50)), 1),
                                               "p95": round(float(np.percentile(ms, 95)), 1), "n": len(ms)}
            print(f"unit page, {label} database: p50 {result[f'unit_page_{label}_ms']['p50']} ms, "
                  f"p95 {result[f'unit_page_{label}_ms']['p95']} ms", flush=True)
        result["disk_mb"] = {"facts_db": round(db.stat().st_size / 1e6), "national_db": round(national_db.stat().st_size / 1e6),
                             "lake": round(sum(p.stat().st_size for p in (work / "lake").rglob("*.parquet")) / 1e6)}
        out = REPO / "bench" / "results" / f"spark-{name}-{time.strftime('%Y%m%d-%H%M')}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=2), encoding="utf-8")
        print(json.dumps(result))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
