-- Model aliases per provider: a JSON object mapping a name clients use to the provider's own model id.
ALTER TABLE providers ADD COLUMN model_aliases TEXT;
