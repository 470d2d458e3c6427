-- Holds leave the ledger: a hold moves no money, so it is no longer a pair of ledger entries (hold, release)
-- next to each request's charge. credit_holds keeps only open holds (settling or expiring one deletes it), and
-- credit_accounts.held is the sum of their amounts. Earlier hold and release entries stay in the ledger as history.
DROP INDEX credit_holds_open_idx;
DELETE FROM credit_holds WHERE status <> 'open';
ALTER TABLE credit_holds DROP COLUMN status;
ALTER TABLE credit_holds DROP COLUMN closed_at;
CREATE INDEX credit_holds_expiry_idx ON credit_holds (expires_at);
