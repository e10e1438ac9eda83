-- The audit log (dashboard/audit.py): who signed in or failed to, what was refused, what was
-- exported, which device and display tokens were used or refused, and every change to users,
-- devices and displays. Rows are appended in batches by the server's audit thread (and by the
-- `users` / `devices` / `displays` commands), deleted only by the retention setting
-- (AUDIT_RETENTION_DAYS). Every value is bound as a parameter, cut to its column's length and
-- stripped of control characters before it is stored: a request cannot forge a row or a line.
-- IF NOT EXISTS: tests/test_migrations.py rewinds schema_migrations without dropping tables.

CREATE SEQUENCE IF NOT EXISTS audit_log_seq;
CREATE TABLE IF NOT EXISTS audit_log (
    id        BIGINT NOT NULL DEFAULT nextval('audit_log_seq'),  -- newest first by id
    "at"      TIMESTAMP NOT NULL,     -- server local time, as every other timestamp here (AT is a
                                      -- keyword: always write it quoted)
    kind      VARCHAR NOT NULL,       -- login | login_failed | logout | denied | export | token_use |
                                      -- token_refused | user_change | device_change | display_change
    username  VARCHAR,                -- the signed-in user, the name tried at /login, or cli:<os user>
    role      VARCHAR,                -- the user's role at the time, when signed in
    client    VARCHAR,                -- the client address (NULL from the command line)
    path      VARCHAR,                -- the request path (at most 200 characters)
    target    VARCHAR,                -- what it concerns: unit, page, callback, csv, device:NAME, user:NAME, …
    detail    VARCHAR                 -- JSON object text: the value asked for, the reason, counts
);
