-- Billing: one credit account per organisation, an append-only ledger, holds, and price overrides.
-- Amounts are BIGINT micro-credits (1 credit = 1,000,000). balance and held on the account are maintained in
-- the same transaction as the ledger rows that explain them (tests prove balance = SUM(amount),
-- held = SUM(hold_amount)).
CREATE TABLE credit_accounts (
    org_id TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    balance BIGINT NOT NULL DEFAULT 0,
    held BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE ledger_entries (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    hold_amount BIGINT NOT NULL DEFAULT 0,
    balance_after BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    reason TEXT,
    request_id TEXT,
    provider_id TEXT,
    model TEXT,
    api_key_id TEXT,
    user_id TEXT,
    input_tokens BIGINT,
    output_tokens BIGINT,
    cached_input_tokens BIGINT,
    reasoning_tokens BIGINT,
    estimated BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, idempotency_key)
);
CREATE INDEX ledger_entries_org_idx ON ledger_entries (org_id, id);
CREATE INDEX ledger_entries_request_idx ON ledger_entries (request_id);

CREATE TABLE credit_holds (
    request_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    api_key_id TEXT,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE INDEX credit_holds_open_idx ON credit_holds (status, expires_at);

CREATE TABLE model_prices (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    -- '' = any provider / the public price book (NULLs would not be unique).
    provider_id TEXT NOT NULL DEFAULT '',
    org_id TEXT NOT NULL DEFAULT '',
    input_per_million BIGINT NOT NULL,
    output_per_million BIGINT NOT NULL,
    cached_input_per_million BIGINT,
    reasoning_per_million BIGINT,
    per_image BIGINT NOT NULL DEFAULT 0,
    per_request BIGINT NOT NULL DEFAULT 0,
    source TEXT,
    updated_by TEXT,
    updated_at BIGINT NOT NULL,
    UNIQUE (model, provider_id, org_id)
);
