-- Dashboard users (dashboard/users.py) and their server-side sessions.
-- A session row exists while a login is valid: logout, disabling the user or a new
-- password delete the rows, which ends those sessions at once, whatever cookies remain.

CREATE SEQUENCE users_seq;
CREATE TABLE users (
    user_id       BIGINT PRIMARY KEY,
    username      VARCHAR NOT NULL UNIQUE,
    password_hash VARCHAR NOT NULL,      -- werkzeug scrypt hash; the password itself is never stored
    role          VARCHAR NOT NULL,      -- admin | leader | analyst | official
    unit_id       VARCHAR,               -- scope root (leader, analyst); NULL = the whole tree
    official_id   VARCHAR,               -- the official this login belongs to (role official)
    active        BOOLEAN NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    token_hash  VARCHAR PRIMARY KEY,     -- sha256 of the random token in the signed cookie
    user_id     BIGINT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    client      VARCHAR                  -- address at login, for the admin's eyes only
);
