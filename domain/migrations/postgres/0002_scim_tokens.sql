-- API tokens that identity providers (Okta's provisioning engine) present on /scim/v2.
-- Only a SHA-256 digest of each token is stored.
CREATE TABLE scim_tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    token_digest  TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    last_used_ip  TEXT,
    expires_at    BIGINT,
    revoked_at    BIGINT
);
