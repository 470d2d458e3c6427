-- Logical models: a name (e.g. `fast`) mapped to weighted, prioritised physical upstreams (provider + model).
-- org_id '' = global (managed by system administrators), else owned by that organisation.
CREATE TABLE logical_models (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    description TEXT,
    strategy TEXT NOT NULL DEFAULT 'balanced',
    price_multiplier_bp INTEGER NOT NULL DEFAULT 10000,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE logical_model_upstreams (
    id TEXT PRIMARY KEY,
    logical_model_id TEXT NOT NULL REFERENCES logical_models(id) ON DELETE CASCADE,
    provider_id TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    weight REAL NOT NULL DEFAULT 1,
    priority INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (logical_model_id, provider_id, model)
);
CREATE INDEX logical_model_upstreams_model_idx ON logical_model_upstreams (logical_model_id);
