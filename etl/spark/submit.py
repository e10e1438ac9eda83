"""The rollup job as a spark-submit application (the cluster's session, master and resources):

    cd /path/to/thuocdo && zip -qr /tmp/thuocdo-etl.zip etl
    spark-submit --master spark://host:7077 --py-files /tmp/thuocdo-etl.zip \\
        etl/spark/submit.py --lake s3a://lake/thuocdo --out s3a://lake/rollups/$(date +%Y%m%dT%H%M)

The executors need nothing of this project but the zip (duckdb and sqlglot run on the driver
only: the schema and the SQL translation); `python -m etl spark rollups` is the same job here.
"""
from __future__ import annotations

import argparse
import json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lake", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from pyspark.sql import SparkSession

    from etl.spark.rollups import compute

    from etl.spark.session import SQL_CONF

    builder = SparkSession.builder.appName("thuocdo-rollups")
    for key, value in SQL_CONF.items():  # UTC: naive local timestamps shift nowhere; no ANSI: x / 0 is NULL
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        print(json.dumps(compute(spark, args.lake, args.out)))
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
