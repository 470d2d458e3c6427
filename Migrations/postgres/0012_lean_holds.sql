-- A hold is written before every request goes upstream, so its index entries are on the request path.
-- credit_holds now keeps only open holds (a few per request in flight), so the expiry sweep (every ≤15 s) can
-- scan it: placing or settling a hold maintains the primary key only.
DROP INDEX credit_holds_expiry_idx;
