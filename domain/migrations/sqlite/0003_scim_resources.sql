-- Users and groups that identity providers provision over SCIM, and group membership.
-- `resource` holds the SCIM resource exactly as stored after validation (JSON text), so
-- what a client wrote comes back on GET; the other columns are extracted from it for
-- uniqueness, indexes and fast filters. *_key columns are lower-cased in Rust, so that
-- case-insensitive uniqueness means the same on SQLite and PostgreSQL.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    user_name     TEXT NOT NULL,
    user_name_key TEXT NOT NULL UNIQUE,
    external_id   TEXT,
    display_name  TEXT,
    primary_email TEXT,
    active        BOOLEAN NOT NULL,
    resource      TEXT NOT NULL,
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX users_external_id ON users (external_id);
CREATE INDEX users_primary_email ON users (primary_email);
CREATE INDEX users_updated_at ON users (updated_at, id);

CREATE TABLE user_groups (
    id               TEXT PRIMARY KEY,
    display_name     TEXT NOT NULL,
    display_name_key TEXT NOT NULL UNIQUE,
    external_id      TEXT,
    resource         TEXT NOT NULL,
    version          BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX user_groups_external_id ON user_groups (external_id);
CREATE INDEX user_groups_updated_at ON user_groups (updated_at, id);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);
