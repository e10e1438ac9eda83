-- No schema change: the Python step after this one (etl.clustering) rewrites the
-- per-official tables in official_id order. An official's rows then share a few row
-- groups, so both the official page's index lookups and the commit of a load that
-- deletes rows (DuckDB fetches each deleted row's official_id to remove it from the ART
-- index) read compact, well-compressed blocks: commit of 50,000 task updates at city
-- scale 2.3 s -> 0.3 s (bench/queries.py).
SELECT 1;
