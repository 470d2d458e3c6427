-- Every charged request inserts a ledger entry, so each of its indexes is written on every settlement's commit.
-- The primary key becomes (org_id, id): it serves an organisation's ledger in id order and a lookup by id, so
-- ledger_entries_org_idx is no longer needed (ids stay unique: they are UUIDv7s). Same keys as the SQLite schema.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_pkey;
ALTER TABLE ledger_entries ADD PRIMARY KEY (org_id, id);
DROP INDEX ledger_entries_org_idx;
