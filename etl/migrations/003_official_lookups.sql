-- The official page looks one official up in tables of millions of rows. ART indexes on
-- official_id make those lookups a few milliseconds instead of full scans (measured in
-- bench/queries.py: 30M tasks, 742 ms -> 14 ms). DuckDB uses them only for a lone equality
-- filter, so the metrics read `WHERE official_id = ?` in a MATERIALIZED CTE first.
CREATE INDEX IF NOT EXISTS officials_id ON officials (official_id);
CREATE INDEX IF NOT EXISTS tasks_official ON tasks (official_id);
CREATE INDEX IF NOT EXISTS ratings_official ON ratings (official_id);
CREATE INDEX IF NOT EXISTS evaluations_official ON evaluations (official_id);
CREATE INDEX IF NOT EXISTS official_month_official ON official_month (official_id);
CREATE INDEX IF NOT EXISTS official_open_due_official ON official_open_due (official_id);
CREATE INDEX IF NOT EXISTS eval_current_official ON eval_current (official_id);

-- Each official's month in one row, for rankings: a subtree's officials ranked is one
-- join with the closure instead of three hash joins over 150,000 officials.
CREATE TABLE official_scores (
    period        VARCHAR NOT NULL,
    official_id   VARCHAR NOT NULL,
    unit_id       VARCHAR NOT NULL,
    full_name     VARCHAR NOT NULL,
    position      VARCHAR,
    is_head       BOOLEAN NOT NULL,
    active        BOOLEAN NOT NULL,
    tasks_due     BIGINT NOT NULL,
    tasks_done    BIGINT NOT NULL,
    tasks_on_time BIGINT NOT NULL,
    on_time_rate  DOUBLE,
    completion_rate DOUBLE,
    task_score    DOUBLE,
    ratings_count BIGINT NOT NULL,
    satisfaction_rate DOUBLE,
    satisfaction_mean DOUBLE,
    score         DOUBLE,
    rating        VARCHAR
);
