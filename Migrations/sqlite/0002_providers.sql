-- Upstream providers and their API keys. owner_org_id NULL = public (usable by every organisation).
CREATE TABLE providers (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    base_url TEXT NOT NULL,
    owner_org_id TEXT REFERENCES organizations(id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'active',
    approval TEXT NOT NULL DEFAULT 'approved',
    source TEXT NOT NULL DEFAULT 'api',
    weight REAL NOT NULL DEFAULT 1,
    region TEXT,
    models_path TEXT,
    static_models TEXT,
    max_qps INTEGER,
    retryable_status_codes TEXT,
    extra_headers TEXT,
    auth_header TEXT,
    chat_path TEXT,
    responses_path TEXT,
    messages_path TEXT,
    embeddings_path TEXT,
    images_path TEXT,
    connect_timeout_ms BIGINT,
    first_byte_timeout_ms BIGINT,
    read_timeout_ms BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX providers_owner_idx ON providers (owner_org_id);

CREATE TABLE provider_keys (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    secret TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    weight REAL NOT NULL DEFAULT 1,
    max_qps INTEGER,
    status TEXT NOT NULL DEFAULT 'active',
    created_at BIGINT NOT NULL,
    UNIQUE (provider_id, fingerprint)
);
