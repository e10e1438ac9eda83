"""The Spark job: the lake's facts → every rollup table of rebuild_all(), as Parquet.

    out/<table>/part-*.parquet   one folder per rollup table (etl.rollups.ROLLUP_TABLES),
                                 plus units/ and officials/ (the snapshots the pages need)
    out/_manifest.json           written last: the tables, their rows, the lake's state

Each step of the catalogue (etl.rollups.FULL_BUILD) is DuckDB SQL translated by SQLGlot; its
result is written, then read back as the view the next steps name, so no step is computed
twice. Columns are renamed and cast to the DuckDB table's, so `etl rollups import` loads them
as they are.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

from etl import lake as lakes
from etl import rollups
from etl.errors import EtlError
from etl.spark.translate import to_spark

# DuckDB column types of the schema → Spark's (key_hash, DuckDB's own lookup aid, stays out).
_SPARK_TYPES = {"VARCHAR": "string", "BIGINT": "bigint", "INTEGER": "int", "TINYINT": "tinyint",
                "DOUBLE": "double", "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp_ntz"}


def table_schemas(tables) -> dict[str, list[tuple[str, str]]]:
    """(column, Spark type) of each table, in order, from the DuckDB schema itself."""
    from etl.db import connect

    conn = connect(":memory:")
    try:
        return {t: [(name, _SPARK_TYPES[kind]) for name, kind in
                    conn.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = ? AND column_name <> 'key_hash' ORDER BY ordinal_position",
                                 [t]).fetchall()]
                for t in tables}
    finally:
        conn.close()


def _conform(df, columns: list[tuple[str, str]]):
    """A step's result with the table's column names and types, by position."""
    if len(df.columns) != len(columns):
        raise EtlError(f"a catalogue step gives {len(df.columns)} columns where the table has {len(columns)}")
    from pyspark.sql import functions as F
    return df.select([F.col(f"`{have}`").cast(kind).alias(name) for have, (name, kind) in zip(df.columns, columns)])


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def _read_kind(spark, lake: str, kind: str, schema: list[tuple[str, str]]):
    """Every complete file of a kind (Spark skips names starting with '.' or '_'); an empty
    frame of the right columns when the lake has none."""
    path = f"{lake.rstrip('/')}/{kind}"
    if _is_local(lake) and not lakes.lake_files(Path(lake.removeprefix("file://")), kind):
        return spark.createDataFrame([], ", ".join(f"`{n}` {t}" for n, t in schema))
    df = spark.read.option("recursiveFileLookup", "true").option("pathGlobFilter", "*.parquet").parquet(path)
    return df.select([f"`{n}`" for n, _ in schema])


def compute(spark, lake: str | Path, out: str | Path) -> dict:
    """Run the catalogue on `spark` over `lake`; write the tables to `out`. Seconds and rows."""
    lake, out = str(lake), str(out)
    started = time.perf_counter()
    inputs = {k: lakes.columns(k) for k in (*lakes.SNAPSHOTS, *lakes.FACTS)}
    schemas = table_schemas((*inputs, *rollups.ROLLUP_TABLES))
    lake_schemas = {k: [c for c in schemas[k] if c[0] in inputs[k]] for k in inputs}
    for kind in lakes.SNAPSHOTS:
        if _is_local(lake) and not lakes.lake_files(Path(lake.removeprefix("file://")), kind):
            raise EtlError(f"the lake {lake} has no {kind} snapshot; run `python -m etl lake export` first")
    if _is_local(out):  # an output being rewritten is not importable until its new manifest
        Path(out.removeprefix("file://"), "_manifest.json").unlink(missing_ok=True)
    rows: dict[str, int] = {}

    def publish(table: str, df):
        """Write a table, then name the written files as the view later steps read: one Spark job
        a table, and nothing computed twice (the Parquet footers give the row count)."""
        target = f"{out.rstrip('/')}/{table}"
        df.write.mode("overwrite").parquet(target)
        spark.read.parquet(target).createOrReplaceTempView(table)
        rows[table] = _written_rows(target) if _is_local(target) else None

    for kind in lakes.SNAPSHOTS:
        publish(kind, _conform(_read_kind(spark, lake, kind, lake_schemas[kind]), lake_schemas[kind]))
    cached = []
    for kind in lakes.FACTS:
        _read_kind(spark, lake, kind, lake_schemas[kind]).createOrReplaceTempView(f"{kind}_lake")
        current = spark.sql(to_spark(lakes.latest_sql(kind, f"{kind}_lake"))).cache()  # tasks feed two steps
        current.createOrReplaceTempView(kind)
        cached.append(current)
    publish("unit_closure", _conform(_closure(spark), schemas["unit_closure"]))
    for step in rollups.FULL_BUILD:
        publish(step.table, _conform(spark.sql(to_spark(step.sql)), schemas[step.table]))
    for frame in cached:
        frame.unpersist()
    manifest = {"tables": rows, "lake": lake, "lake_state": _lake_state(lake),
                "computed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "engine": f"spark {spark.version}", "seconds": round(time.perf_counter() - started, 3)}
    if _is_local(out):
        _write_manifest(Path(out.removeprefix("file://")), manifest)
    else:
        spark.createDataFrame([(json.dumps(manifest),)], "value string").coalesce(1).write.mode("overwrite").text(
            f"{out.rstrip('/')}/_manifest")
    return manifest


def _written_rows(folder: str) -> int:
    """Rows of a written table, from its Parquet footers (no Spark job)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in Path(folder.removeprefix("file://")).glob("*.parquet"))


def _closure(spark):
    """unit_closure: CLOSURE_SEED, then CLOSURE_STEP from the level before until a level is empty
    (the recursive CTE DuckDB runs, unrolled; depth ≤ 64 as there)."""
    level = spark.sql(to_spark(rollups.CLOSURE_SEED)).cache()
    levels = [level]
    step = to_spark(rollups.CLOSURE_STEP)
    while True:
        level.createOrReplaceTempView("walk")
        level = spark.sql(step).cache()
        if level.isEmpty():
            break
        levels.append(level)
    result = levels[0]
    for more in levels[1:]:
        result = result.unionAll(more)
    return result


def _lake_state(lake: str) -> dict:
    if not _is_local(lake):
        return {}
    state_dir = Path(lake.removeprefix("file://")) / "_state"
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(state_dir.glob("*.json"))}


def _write_manifest(out: Path, manifest: dict) -> None:
    tmp = out / "._manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(tmp, out / "_manifest.json")


def run(lake: Path | str, out: Path | str, master: str, shuffle_partitions: int | None = None) -> dict:
    """`python -m etl spark rollups`: a session, the job, the session stopped."""
    from etl.spark.session import spark_session

    spark = spark_session(master, shuffle_partitions)
    try:
        return compute(spark, lake, out)
    finally:
        spark.stop()
