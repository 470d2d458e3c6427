-- Organisation-wide limits (requests/tokens per minute, concurrency, monthly budget) as JSON, like api_keys.rate_limits.
CREATE TABLE organization_limits (
    org_id TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    limits TEXT NOT NULL,
    updated_by TEXT,
    updated_at BIGINT NOT NULL
);
