-- The Python step after this one (etl.clustering) rewrites the per-official tables in
-- official_id order. An official's rows then share a row group or two: found through the
-- row groups' min/max official_id, and quick to fetch, where in load order every official
-- was spread over all 250 row groups of the city's tasks.
--
-- The rollup tables below are rewritten on every load (a changed official-month is deleted
-- and inserted again), and DuckDB removes each deleted row from an ART index at commit by
-- fetching its key: their indexes cost a day's load 0.9 s at city scale. In official_id
-- order they need none (bench/queries.py). The facts keep theirs: insert-only ratings and
-- evaluations never pay that cost, and tasks need theirs for the rows appended after the
-- last rewrite.
DROP INDEX IF EXISTS official_month_official;
DROP INDEX IF EXISTS official_open_due_official;
DROP INDEX IF EXISTS eval_current_official;
