-- Every charged request inserts a ledger entry, so the entry's B-trees are written on every settlement's commit.
-- The table is now keyed by (org_id, id) alone (WITHOUT ROWID): the table itself serves an organisation's ledger
-- in id order and a lookup by id, so neither the separate primary-key index on id nor ledger_entries_org_idx is
-- needed. An insert touches three B-trees (the table, the idempotency key, request_id) instead of five.
CREATE TABLE ledger_entries_lean (
    id TEXT NOT NULL,
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
    estimated INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, idempotency_key)
) WITHOUT ROWID;
INSERT INTO ledger_entries_lean (id, org_id, kind, amount, hold_amount, balance_after, idempotency_key, actor_kind, actor_id,
    reason, request_id, provider_id, model, api_key_id, user_id, input_tokens, output_tokens, cached_input_tokens,
    reasoning_tokens, estimated, created_at)
    SELECT id, org_id, kind, amount, hold_amount, balance_after, idempotency_key, actor_kind, actor_id, reason, request_id,
        provider_id, model, api_key_id, user_id, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, estimated,
        created_at
    FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_lean RENAME TO ledger_entries;
CREATE INDEX ledger_entries_request_idx ON ledger_entries (request_id);
