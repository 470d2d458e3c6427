-- Provider billing factor in basis points (10000 = 1.0): a provider's prices are multiplied by it (e.g. a reseller margin).
ALTER TABLE providers ADD COLUMN billing_factor_bp INTEGER NOT NULL DEFAULT 10000;
