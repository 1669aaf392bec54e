-- The ledger's quality and exchange on PostgreSQL.
-- Duplicate ID numbers (an ID on two living persons): counted by an index-only scan of
-- this partial index, grouped by id_number, instead of SQLite's trigger-kept
-- id_number_holders (one counter row per ID would be a hot row that concurrent pushes
-- from several servers lock in turn).
CREATE INDEX persons_living_id ON persons (id_number)
    WHERE status = 'Living' AND id_number IS NOT NULL AND id_number <> '';
