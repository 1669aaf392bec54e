-- A pushed document is stored as its saved form with the pushes since appended
-- (`snapshot || chunk`, each chunk Automerge's incremental save of what the push added),
-- as the embedded store keeps it: a push no longer saves the whole document. These
-- count what was appended since the last whole save, which is written again (and the
-- counters reset) when the appended bytes outgrow the saved form or after 64 chunks.
ALTER TABLE docs ADD COLUMN IF NOT EXISTS chunk_bytes bigint NOT NULL DEFAULT 0;
ALTER TABLE docs ADD COLUMN IF NOT EXISTS chunk_count integer NOT NULL DEFAULT 0;
