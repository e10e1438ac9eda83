-- Machines that talk to the server without a person's login (dashboard/tokens.py).
-- Each holds a random bearer token; only its sha256 is stored, so a copy of the database
-- gives nobody a working token. Rows are revoked, never deleted: the names, the duty history
-- and the last heartbeat stay readable for whoever looks into a past problem.
-- IF NOT EXISTS: a database upgraded from an older version may have been at this one before
-- (tests/test_migrations.py rewinds schema_migrations without dropping these tables).

-- Counter devices (rating kiosks) and system integrations (the task software, the queue
-- system). counter_id NULL = a system token: may post tasks, ratings and evaluations and set
-- any counter's duty. Otherwise a counter device: posts ratings of its own counter only and
-- reads its own counter's duty.
CREATE TABLE IF NOT EXISTS devices (
    name            VARCHAR PRIMARY KEY,         -- ^[A-Za-z0-9._-]{1,64}$
    token_hash      VARCHAR NOT NULL UNIQUE,     -- sha256 hex of the token, shown once by `devices add`
    counter_id      VARCHAR,                     -- NULL = system token
    created_at      TIMESTAMP NOT NULL,
    revoked_at      TIMESTAMP,                   -- set: the token no longer works
    last_seen_at    TIMESTAMP,
    heartbeat       VARCHAR,                     -- JSON text of the last heartbeat
    ignored_repeats BIGINT NOT NULL DEFAULT 0    -- offline-buffered posts it sent again, summed
);

-- Who sits at a counter, as a history: the current duty is the row with the latest `since`.
-- Kept whole because a device's offline-buffered ratings may name an earlier duty official.
CREATE TABLE IF NOT EXISTS counter_duty (
    counter_id  VARCHAR NOT NULL,
    official_id VARCHAR NOT NULL,
    since       TIMESTAMP NOT NULL,
    set_by      VARCHAR                          -- device name or `cli:<os user>`
);

-- Wall screens: a read-only, rotating view of one unit, opened as /display/<token>.
CREATE TABLE IF NOT EXISTS displays (
    name           VARCHAR PRIMARY KEY,
    token_hash     VARCHAR NOT NULL UNIQUE,
    unit_id        VARCHAR NOT NULL,
    panels         VARCHAR NOT NULL,             -- comma-separated: tiles,children,ratings,attention,okr
    rotate_seconds INTEGER NOT NULL DEFAULT 15,
    created_at     TIMESTAMP NOT NULL,
    revoked_at     TIMESTAMP,
    last_seen_at   TIMESTAMP,
    heartbeat      VARCHAR,                      -- JSON text: client build, screen size, last data version
    heartbeat_at   TIMESTAMP
);
