-- Thước đo schema, version 1. Applied by etl.db.migrate(); later changes go in
-- etl/migrations/NNN_name.sql and are applied in order on open.
-- Timestamps are stored as naive local time of Asia/Ho_Chi_Minh (UTC+7, no DST);
-- periods are 'YYYY-MM' strings in that local time.

CREATE TABLE units (
    unit_id    VARCHAR NOT NULL,
    parent_id  VARCHAR,            -- NULL = root
    name       VARCHAR NOT NULL,
    kind       VARCHAR,
    batch_id     BIGINT                    -- the ingest batch that wrote the row
);

-- Closure of the unit tree: every (ancestor, descendant) pair, depth 0 = itself.
CREATE TABLE unit_closure (
    ancestor   VARCHAR NOT NULL,
    descendant VARCHAR NOT NULL,
    depth      INTEGER NOT NULL
);

CREATE TABLE officials (
    official_id VARCHAR NOT NULL,
    unit_id     VARCHAR NOT NULL,
    full_name   VARCHAR NOT NULL,
    position    VARCHAR,
    is_head     BOOLEAN NOT NULL,
    active      BOOLEAN NOT NULL,
    batch_id     BIGINT                    -- the ingest batch that wrote the row
);

-- Keys are enforced by the loader, not by PRIMARY KEY constraints: an ART index on
-- 30M tasks costs gigabytes, and DuckDB's indexes dislike delete+insert of one key in
-- one transaction. Replacing rows is DELETE + INSERT on a hash join.
CREATE TABLE tasks (
    task_id          VARCHAR NOT NULL,
    official_id      VARCHAR NOT NULL,
    title            VARCHAR NOT NULL,
    origin           VARCHAR,
    assigned_at      DATE NOT NULL,
    due_at           DATE NOT NULL,
    completed_at     DATE,
    status           VARCHAR NOT NULL,
    quality_failures INTEGER NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    batch_id     BIGINT                    -- the ingest batch that wrote the row
);

CREATE TABLE ratings (
    rating_id      VARCHAR NOT NULL,
    official_id    VARCHAR NOT NULL,
    counter_id     VARCHAR,
    procedure_code VARCHAR,
    rated_at       TIMESTAMP NOT NULL,
    level          TINYINT NOT NULL,
    reason         VARCHAR,
    comment        VARCHAR,
    batch_id     BIGINT                    -- the ingest batch that wrote the row
);

CREATE TABLE evaluations (
    event_id    VARCHAR NOT NULL,
    official_id VARCHAR NOT NULL,
    period      VARCHAR NOT NULL,
    stage       VARCHAR NOT NULL,
    score       DOUBLE,
    rating      VARCHAR,            -- as given; NULL = the band of the score
    actor_id    VARCHAR,
    acted_at    TIMESTAMP NOT NULL,
    note        VARCHAR,
    batch_id     BIGINT                    -- the ingest batch that wrote the row
);

CREATE TABLE unit_evaluations (
    event_id    VARCHAR NOT NULL,
    unit_id     VARCHAR NOT NULL,
    period      VARCHAR NOT NULL,
    stage       VARCHAR NOT NULL,
    score       DOUBLE,
    rating      VARCHAR,
    actor_id    VARCHAR,
    acted_at    TIMESTAMP NOT NULL,
    note        VARCHAR,
    batch_id     BIGINT                    -- the ingest batch that wrote the row
);

CREATE TABLE objectives (
    objective_id        VARCHAR NOT NULL,
    unit_id             VARCHAR NOT NULL,
    period              VARCHAR NOT NULL,  -- 'YYYY' or 'YYYY-Qn'
    title               VARCHAR NOT NULL,
    parent_objective_id VARCHAR,
    batch_id     BIGINT                    -- the ingest batch that wrote the row
);

CREATE TABLE key_results (
    kr_id        VARCHAR NOT NULL,
    objective_id VARCHAR NOT NULL,
    title        VARCHAR NOT NULL,
    metric       VARCHAR NOT NULL,         -- 'manual' or a KPI key of metrics.md
    start_value  DOUBLE,
    target_value DOUBLE NOT NULL,
    direction    VARCHAR NOT NULL,         -- 'up' or 'down'
    batch_id     BIGINT                    -- the ingest batch that wrote the row
);

CREATE TABLE checkins (
    kr_id      VARCHAR NOT NULL,
    checked_at TIMESTAMP NOT NULL,
    value      DOUBLE NOT NULL,
    confidence DOUBLE,
    note       VARCHAR,
    batch_id     BIGINT                    -- the ingest batch that wrote the row
);

-- One row per file or batch the loader has seen.
CREATE SEQUENCE ingest_batch_seq;
CREATE TABLE ingest_ledger (
    batch_id     BIGINT PRIMARY KEY,
    file         VARCHAR NOT NULL,      -- base name, or 'replay' / an API batch name
    path         VARCHAR,
    kind         VARCHAR,
    format       VARCHAR,
    content_hash VARCHAR,
    status       VARCHAR NOT NULL,      -- loaded | partial | rejected | already_loaded | replay
    message      VARCHAR,
    duplicate_of BIGINT,
    rows_read    BIGINT NOT NULL DEFAULT 0,
    loaded       BIGINT NOT NULL DEFAULT 0,
    duplicates   BIGINT NOT NULL DEFAULT 0,
    quarantined  BIGINT NOT NULL DEFAULT 0,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    seconds      DOUBLE
);

-- Rows the loader could not accept, kept whole so that nothing is lost.
CREATE SEQUENCE quarantine_seq;
CREATE TABLE quarantine (
    quarantine_id BIGINT PRIMARY KEY,
    batch_id      BIGINT NOT NULL,
    file          VARCHAR NOT NULL,
    kind          VARCHAR,
    line          BIGINT,               -- 1-based line of the source file (header = 1)
    raw           VARCHAR,              -- the row as text
    record        JSON,                 -- the row's fields, for replay
    reason        VARCHAR NOT NULL,     -- machine code, e.g. unknown_official
    detail        VARCHAR,              -- human sentence
    resolved_by   BIGINT,               -- batch that later loaded it (replay)
    retried_by    BIGINT                -- the last replay batch that tried it and failed
);

-- Bumped in every loading transaction; dashboards poll it to know when to refresh.
CREATE TABLE data_version (
    version    BIGINT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
INSERT INTO data_version VALUES (0, now()::TIMESTAMP);

-- ---------------------------------------------------------------------------
-- Rollups: kept current by etl/rollups.py inside every loading transaction.
-- They hold numerators and denominators (never averages), so any scope or
-- period range adds up exactly.

-- Per official and month. Task columns count tasks whose due_at falls in the
-- month (cancelled excluded); rating columns count ratings by rated_at's month.
CREATE TABLE official_month (
    official_id   VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,
    tasks_due     BIGINT NOT NULL DEFAULT 0,
    tasks_done    BIGINT NOT NULL DEFAULT 0,
    tasks_on_time BIGINT NOT NULL DEFAULT 0,
    points4       BIGINT NOT NULL DEFAULT 0,   -- task points × 4 (points are multiples of 0.25)
    r_l1          BIGINT NOT NULL DEFAULT 0,   -- ratings per satisfaction level
    r_l2          BIGINT NOT NULL DEFAULT 0,
    r_l3          BIGINT NOT NULL DEFAULT 0,
    r_l4          BIGINT NOT NULL DEFAULT 0
);

-- Open tasks per official and due date: overdue_open for any as_of date.
CREATE TABLE official_open_due (
    official_id VARCHAR NOT NULL,
    due_at      DATE NOT NULL,
    n           BIGINT NOT NULL
);

-- The same sums per unit (officials' current unit) and per subtree (ancestor).
CREATE TABLE unit_month (
    unit_id VARCHAR NOT NULL, period VARCHAR NOT NULL,
    tasks_due BIGINT NOT NULL, tasks_done BIGINT NOT NULL, tasks_on_time BIGINT NOT NULL,
    points4 BIGINT NOT NULL, r_l1 BIGINT NOT NULL, r_l2 BIGINT NOT NULL,
    r_l3 BIGINT NOT NULL, r_l4 BIGINT NOT NULL
);
CREATE TABLE scope_month (
    unit_id VARCHAR NOT NULL, period VARCHAR NOT NULL,
    tasks_due BIGINT NOT NULL, tasks_done BIGINT NOT NULL, tasks_on_time BIGINT NOT NULL,
    points4 BIGINT NOT NULL, r_l1 BIGINT NOT NULL, r_l2 BIGINT NOT NULL,
    r_l3 BIGINT NOT NULL, r_l4 BIGINT NOT NULL
);
CREATE TABLE unit_open_due (
    unit_id VARCHAR NOT NULL, due_at DATE NOT NULL, n BIGINT NOT NULL
);
CREATE TABLE scope_open_due (
    unit_id VARCHAR NOT NULL, due_at DATE NOT NULL, n BIGINT NOT NULL
);

-- Each official's current evaluation result per period (data-contract.md: the
-- latest final unless a later cancel annuls it), with what the rules need.
CREATE TABLE eval_current (
    official_id        VARCHAR NOT NULL,
    period             VARCHAR NOT NULL,
    event_id           VARCHAR NOT NULL,
    score              DOUBLE,
    rating             VARCHAR NOT NULL,
    band               VARCHAR NOT NULL,   -- the rating of the score's band
    acted_at           TIMESTAMP NOT NULL,
    actor_id           VARCHAR,
    has_self_before    BOOLEAN NOT NULL,
    latest_self_rating VARCHAR             -- latest self event's rating, any time in the period
);
CREATE TABLE unit_eval_current (
    unit_id  VARCHAR NOT NULL,
    period   VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    score    DOUBLE,
    rating   VARCHAR NOT NULL,
    acted_at TIMESTAMP NOT NULL
);

-- Active officials per subtree (current units and flags).
CREATE TABLE scope_people (
    unit_id         VARCHAR NOT NULL,
    officials_total BIGINT NOT NULL
);

-- Current results per subtree and month: rating counts over all officials in scope, and
-- how many of the active ones are rated (pending = officials_total - rated_active).
CREATE TABLE scope_eval_month (
    unit_id      VARCHAR NOT NULL,
    period       VARCHAR NOT NULL,
    htxs         BIGINT NOT NULL,
    htt          BIGINT NOT NULL,
    ht           BIGINT NOT NULL,
    kht          BIGINT NOT NULL,
    rated_active BIGINT NOT NULL
);

-- Every rule of metrics.md that fires, per month; a subtree's items are those whose
-- unit_id is in it.
CREATE TABLE rule_hits (
    rule        VARCHAR NOT NULL,
    unit_id     VARCHAR NOT NULL,
    official_id VARCHAR,
    period      VARCHAR NOT NULL
);
