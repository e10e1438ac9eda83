"""The scale-out commands of `python -m etl` (docs/scale-out.md):

    lake export    --db PATH --lake DIR [--source NAME]     the database's facts into the lake
    spark rollups  --lake DIR --out DIR [--master local[2]]  the rollups of the lake, on Spark
    rollups import DIR --db PATH                             a dashboard database from those rollups
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from etl.db import DEFAULT_DB, connect
from etl.errors import DatabaseBusy, EtlError


def add_parsers(sub) -> dict:
    """Register the three commands on `python -m etl`'s subparsers; their handlers by name."""
    p = sub.add_parser("lake", help="the lake of facts: partitioned Parquet for a cluster")
    lake = p.add_subparsers(dest="action", required=True)
    e = lake.add_parser("export", help="write the database's facts, unit tree and officials to the lake")
    e.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"database file (default {DEFAULT_DB})")
    e.add_argument("--lake", type=Path, required=True, help="the lake folder (shared storage, mounted)")
    e.add_argument("--source", default="local", help="this server's name in the lake, e.g. a province code")

    p = sub.add_parser("spark", help="the rollups on Apache Spark")
    spark = p.add_subparsers(dest="action", required=True)
    r = spark.add_parser("rollups", help="compute every rollup table from the lake (same SQL as rebuild_all)")
    r.add_argument("--lake", required=True, help="the lake folder or URL (s3a://…, hdfs://…)")
    r.add_argument("--out", required=True, help="folder or URL for the rollup tables")
    r.add_argument("--master", default="local[2]", help="Spark master (default local[2]; a cluster's URL)")
    r.add_argument("--shuffle-partitions", type=int, help="spark.sql.shuffle.partitions (default 4 in local mode)")

    p = sub.add_parser("rollups", help="serving from rollups computed elsewhere")
    rollups = p.add_subparsers(dest="action", required=True)
    i = rollups.add_parser("import", help="load a `spark rollups` output folder into a dashboard database "
                                          "that holds no facts (a national server)")
    i.add_argument("folder", type=Path, help="the --out folder of `python -m etl spark rollups`")
    i.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"database file (default {DEFAULT_DB})")
    return {"lake": _lake, "spark": _spark, "rollups": _rollups}


def _open(db: Path):
    try:
        return connect(db)
    except DatabaseBusy as busy:
        raise EtlError(f"{busy} (Exports and imports need the file to themselves; a running server "
                       "appends to the lake by itself when LAKE_DIR is set.)", 3) from None


def _lake(args) -> int:
    from etl.lake import export

    if not Path(args.db).exists():
        raise EtlError(f"no database at {args.db}")
    conn = _open(args.db)
    try:
        result = export(conn, args.lake, args.source)
    finally:
        conn.close()
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _spark(args) -> int:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise EtlError("pyspark is not installed: `.venv/bin/pip install -r requirements.txt`") from None
    from etl.spark.rollups import run

    print(json.dumps(run(args.lake, args.out, args.master, args.shuffle_partitions), ensure_ascii=False))
    return 0


def _rollups(args) -> int:
    from etl.rollup_import import import_rollups

    conn = _open(args.db)
    try:
        result = import_rollups(conn, args.folder)
    finally:
        conn.close()
    print(json.dumps(result, ensure_ascii=False), file=sys.stdout)
    return 0
