-- Payments and auto top-up. Amounts are BIGINT micro-credits; provider_amount is in the provider's smallest
-- currency unit (cents). A payment that succeeds is credited by exactly one `top_up` ledger entry whose
-- idempotency key is `payment:<payment id>`; ledger_entry_id points at it.
CREATE TABLE billing_profiles (
    org_id TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    -- 'stripe' or 'manual'
    provider TEXT NOT NULL,
    provider_customer_id TEXT,
    provider_payment_method_id TEXT,
    auto_topup_enabled INTEGER NOT NULL DEFAULT 0,
    auto_topup_threshold BIGINT NOT NULL DEFAULT 0,
    auto_topup_amount BIGINT NOT NULL DEFAULT 0,
    auto_topup_max_per_day INTEGER NOT NULL DEFAULT 1,
    updated_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    -- The provider's id (Stripe PaymentIntent `pi_…`); NULL until the provider answered (and always for manual).
    provider_payment_id TEXT,
    amount BIGINT NOT NULL,
    provider_amount BIGINT,
    currency TEXT,
    -- pending | succeeded | failed | cancelled
    status TEXT NOT NULL,
    -- auto_topup | manual
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    requested_by_kind TEXT NOT NULL,
    requested_by_id TEXT,
    confirmed_by TEXT,
    ledger_entry_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX payments_provider_payment_idx ON payments (provider, provider_payment_id);
CREATE INDEX payments_org_idx ON payments (org_id, id);
CREATE INDEX payments_status_idx ON payments (status, updated_at);
