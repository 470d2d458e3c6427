-- A hold is written before every request goes upstream, so its pages are on the request path. credit_holds now
-- keeps only open holds (a few per request in flight), so the expiry sweep (every ≤15 s) can scan it, and the
-- table is keyed by its primary key alone (WITHOUT ROWID): placing or settling a hold touches one B-tree instead
-- of three.
CREATE TABLE credit_holds_lean (
    request_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    api_key_id TEXT,
    amount BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO credit_holds_lean (request_id, org_id, api_key_id, amount, created_at, expires_at)
    SELECT request_id, org_id, api_key_id, amount, created_at, expires_at FROM credit_holds;
DROP TABLE credit_holds;
ALTER TABLE credit_holds_lean RENAME TO credit_holds;
