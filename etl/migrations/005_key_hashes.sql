-- The big fact tables get key_hash, a 64-bit hash of their key (etl/kinds.py, key_hash_sql).
-- A loaded file's stored rows are then found by an integer semi join, which DuckDB filters
-- inside the table scan: 0.2 s for a city's 30M tasks, where joining on the text task_id
-- read every column of every row and took 1.5 s (bench/queries.py, one city day).
-- The indexes go because DuckDB cannot make a column NOT NULL under one. Migration 6 makes
-- key_hash NOT NULL and builds them again: DuckDB does neither in the transaction that
-- updated the table.
DROP INDEX IF EXISTS tasks_official;
ALTER TABLE tasks ADD COLUMN key_hash UBIGINT;
UPDATE tasks SET key_hash = (md5_number(task_id) >> 64)::UBIGINT;

DROP INDEX IF EXISTS ratings_official;
ALTER TABLE ratings ADD COLUMN key_hash UBIGINT;
UPDATE ratings SET key_hash = (md5_number(rating_id) >> 64)::UBIGINT;

DROP INDEX IF EXISTS evaluations_official;
ALTER TABLE evaluations ADD COLUMN key_hash UBIGINT;
UPDATE evaluations SET key_hash = (md5_number(event_id) >> 64)::UBIGINT;
