-- Grant codes: single-use, expiring codes a system administrator issues and an organisation redeems for
-- credits. Only an HMAC-SHA-256 of the code is stored (code_hash), plus a short visible prefix for display.
-- amount is BIGINT micro-credits. A code is redeemable while redeemed_at and revoked_at are NULL and
-- expires_at (epoch ms) is in the future; redeeming claims the row with one conditional UPDATE.
CREATE TABLE grant_codes (
    id TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    code_prefix TEXT NOT NULL,
    amount BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    redeemed_at BIGINT,
    redeemed_by_org TEXT,
    redeemed_by_user TEXT,
    revoked_at BIGINT,
    note TEXT
);
