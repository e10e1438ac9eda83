"""The rollups of the metric catalogue (etl.rollups.FULL_BUILD) on Apache Spark, from the lake.

`python -m etl spark rollups --lake DIR --out DIR [--master local[2]]` here, or the same job
under `spark-submit` on a cluster (etl/spark/submit.py). The SQL is DuckDB's, translated by
SQLGlot (translate.py): there is no second copy to keep in step.
"""
