-- SAML authentication profiles, their assignment to user groups, and the state of end-user
-- sign-in that every replica must share: outstanding AuthnRequests, assertion ids already
-- used (the replay cache) and end-user sessions. Times are UTC milliseconds since the Unix
-- epoch; ids are UUIDs as text; name_key is the name lower-cased in Rust.

CREATE TABLE auth_profiles (
    id                       TEXT PRIMARY KEY,
    name                     TEXT NOT NULL,
    name_key                 TEXT NOT NULL UNIQUE,
    description              TEXT NOT NULL DEFAULT '',
    kind                     TEXT NOT NULL DEFAULT 'saml' CHECK (kind IN ('saml')),
    -- Lower wins when a user's groups map to several profiles; unique, so the rule is
    -- deterministic.
    priority                 INTEGER NOT NULL UNIQUE,
    -- The SP's PKCS#8 private key, sealed (AES-256-GCM) with the operator's secret key.
    sp_private_key_sealed    TEXT NOT NULL,
    -- The SP's self-signed certificate, DER in base64.
    sp_certificate_der       TEXT NOT NULL,
    sp_certificate_not_after BIGINT NOT NULL,
    idp_entity_id            TEXT,
    idp_sso_url              TEXT,
    idp_sso_post_url         TEXT,
    -- JSON: [{"der_base64", "subject", "sha256_fingerprint", "not_after_ms"}]
    idp_certificates         TEXT NOT NULL DEFAULT '[]',
    idp_metadata_xml         TEXT,
    idp_metadata_url         TEXT,
    idp_metadata_fetched_at  BIGINT,
    match_attribute          TEXT NOT NULL DEFAULT 'user_name' CHECK (match_attribute IN ('user_name', 'email')),
    -- NULL: match the NameID; otherwise the name of a SAML attribute.
    match_saml_attribute     TEXT,
    clock_skew_seconds       INTEGER NOT NULL DEFAULT 120 CHECK (clock_skew_seconds BETWEEN 0 AND 600),
    sign_authn_requests      BOOLEAN NOT NULL DEFAULT FALSE,
    allow_idp_initiated      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    version                  BIGINT NOT NULL
);

-- No ON DELETE action: deleting a profile that groups still use is refused by the database
-- too; the store reassigns or unassigns the groups first, in the same transaction.
ALTER TABLE user_groups ADD COLUMN auth_profile_id TEXT REFERENCES auth_profiles (id);
CREATE INDEX user_groups_auth_profile ON user_groups (auth_profile_id);

-- AuthnRequests sent and not yet answered. The id is the AuthnRequest's ID, which the IdP
-- returns as InResponseTo.
CREATE TABLE saml_requests (
    id              TEXT PRIMARY KEY,
    profile_id      TEXT NOT NULL REFERENCES auth_profiles (id) ON DELETE CASCADE,
    -- SHA-256 (hex) of a random nonce kept in a short-lived cookie of the browser that
    -- started sign-in, so a response cannot be completed in another browser.
    browser_binding TEXT NOT NULL,
    relay_state     TEXT NOT NULL,
    user_id         TEXT REFERENCES users (id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    consumed_at     BIGINT
);
CREATE INDEX saml_requests_expires_at ON saml_requests (expires_at);

-- Assertion ids already accepted, until the assertion could no longer be accepted anyway.
-- The primary key makes "first use wins" hold across connections and replicas.
CREATE TABLE saml_assertions_seen (
    assertion_id TEXT PRIMARY KEY,
    profile_id   TEXT NOT NULL REFERENCES auth_profiles (id) ON DELETE CASCADE,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX saml_assertions_seen_expires_at ON saml_assertions_seen (expires_at);

-- End users signed in through a profile. Only the SHA-256 of the cookie secret is stored;
-- `id` is a handle that is safe to show and to put in events.
CREATE TABLE end_user_sessions (
    id_hash       TEXT PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    profile_id    TEXT NOT NULL REFERENCES auth_profiles (id) ON DELETE CASCADE,
    name_id       TEXT NOT NULL,
    session_index TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL
);
CREATE INDEX end_user_sessions_user ON end_user_sessions (user_id, expires_at);
CREATE INDEX end_user_sessions_profile ON end_user_sessions (profile_id);
CREATE INDEX end_user_sessions_expires_at ON end_user_sessions (expires_at);
