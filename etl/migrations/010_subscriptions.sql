-- E-mail digests (dashboard/digests): who subscribed, and every delivery's outcome.
-- One subscription per login (the scope is the login's, read at each send, never stored here).
-- No primary key: DuckDB refuses some updates of rows under an index; dashboard/digests/store.py
-- replaces a login's row inside one transaction instead.
-- IF NOT EXISTS: tests/test_migrations.py rewinds schema_migrations without dropping tables.

CREATE TABLE IF NOT EXISTS digest_subscriptions (
    username     VARCHAR NOT NULL,       -- users.username
    email        VARCHAR NOT NULL,
    frequency    VARCHAR NOT NULL,       -- daily | weekly
    created_at   TIMESTAMP NOT NULL,     -- local Asia/Ho_Chi_Minh time, as every timestamp here
    updated_at   TIMESTAMP NOT NULL,
    updated_by   VARCHAR,                -- the user themself, an admin, or cli:<os user>
    last_run_on  DATE,                   -- the last day a digest was considered (sent, skipped or failed)
    last_sent_at TIMESTAMP,              -- the last digest that went out
    sent_keys    VARCHAR                 -- JSON list of the items already sent: "new" is what is not in it
);

CREATE SEQUENCE IF NOT EXISTS digest_deliveries_seq;
CREATE TABLE IF NOT EXISTS digest_deliveries (
    id         BIGINT NOT NULL DEFAULT nextval('digest_deliveries_seq'),
    "at"       TIMESTAMP NOT NULL,
    username   VARCHAR NOT NULL,
    email      VARCHAR,
    status     VARCHAR NOT NULL,       -- sent | skipped | failed
    reason     VARCHAR,                -- why skipped or failed ("nothing new", the SMTP error, …)
    items      INTEGER,                -- new items in the digest
    attempts   INTEGER,                -- SMTP attempts made (retries with backoff)
    subject    VARCHAR,
    attachment VARCHAR                 -- the monthly report's file name, when attached
);
