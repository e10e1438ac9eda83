"""One SparkSession, configured for this project's data and for a machine without network.

- Timestamps in the facts are naive local time (Asia/Ho_Chi_Minh): the session's time zone is
  UTC so that Spark shifts nothing, whatever the machine's zone.
- ANSI mode is off: DuckDB answers NULL for x / 0 and for a failed cast, and Spark must agree
  (the catalogue guards divisions with nullif, but a planner may evaluate a guarded division
  before its guard).
- Local mode binds to 127.0.0.1 and starts no web UI: nothing listens beyond loopback, nothing
  is fetched.
"""
from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

DEFAULT_MASTER = "local[2]"

# What the results depend on, on any master (etl/spark/submit.py sets them on a cluster too).
SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


def _java_home() -> None:
    """Spark's launcher needs java; find a JDK when JAVA_HOME is not set (Debian's openjdk-17)."""
    if os.environ.get("JAVA_HOME"):
        return
    java = shutil.which("java")
    if java:
        os.environ["JAVA_HOME"] = str(Path(os.path.realpath(java)).parent.parent)
        return
    found = sorted(glob.glob("/usr/lib/jvm/java-*-openjdk-*"))
    if found:
        os.environ["JAVA_HOME"] = found[-1]
        return
    from etl.errors import EtlError
    raise EtlError("Spark needs Java 17: install Debian's openjdk-17-jre-headless (`make test` does)")


def spark_session(master: str = DEFAULT_MASTER, shuffle_partitions: int | None = None, app: str = "thuocdo-rollups",
                  driver_memory: str = "2g"):
    """The session (getOrCreate: one per process). Local masters stay on loopback."""
    from pyspark.sql import SparkSession

    local = master.startswith("local")
    if local:
        _java_home()
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(app).master(master)
    for key, value in SQL_CONF.items():
        builder = builder.config(key, value)
    builder = builder.config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
    if local:
        builder = (builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.driver.memory", driver_memory)
                   .config("spark.sql.warehouse.dir", str(Path(os.environ.get("TMPDIR", "/tmp")) / "thuocdo-spark-warehouse"))
                   .config("spark.sql.shuffle.partitions", str(shuffle_partitions or 4)))
    elif shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
