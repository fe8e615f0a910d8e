-- Administrators, their console sessions, the one-time setup link, sign-in throttling and
-- Events / Logs. Times are UTC milliseconds since the Unix epoch; ids are UUIDs as text.

CREATE TABLE admins (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL,
    -- email lower-cased in Rust, so uniqueness means the same on SQLite and PostgreSQL
    email_key       TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_sign_in_at BIGINT
);

CREATE TABLE admin_sessions (
    id         TEXT PRIMARY KEY,
    admin_id   TEXT REFERENCES admins (id) ON DELETE CASCADE,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX admin_sessions_expires_at ON admin_sessions (expires_at);
CREATE INDEX admin_sessions_admin_id ON admin_sessions (admin_id);

-- At most one live setup link, and only while no administrator exists.
CREATE TABLE setup_links (
    singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
    token_digest TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE sign_in_failures (
    throttle_key TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_key_time ON sign_in_failures (throttle_key, occurred_at);

CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    occurred_at BIGINT NOT NULL,
    category    TEXT NOT NULL,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT,
    target      TEXT,
    detail      TEXT
);
CREATE INDEX events_time ON events (occurred_at, id);
