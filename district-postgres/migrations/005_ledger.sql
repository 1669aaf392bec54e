-- The ledger's quality and exchange on PostgreSQL.
-- Duplicate ID numbers (an ID on two living persons): counted by an index-only scan of
-- this partial index, grouped by id_number, instead of SQLite's trigger-kept
-- id_number_holders (one counter row per ID would be a hot row that concurrent pushes
-- from several servers lock in turn).
CREATE INDEX persons_living_id ON persons (id_number)
    WHERE status = 'Living' AND id_number IS NOT NULL AND id_number <> '';

-- Ledger imports (the embedded store's migrations 007 and 011): every run with its report,
-- and each imported household's ledger image at its last import, the base of the next
-- re-import's three-way merge.
CREATE TABLE import_runs (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                  bigint NOT NULL,
    user_id             text NOT NULL,
    username            text NOT NULL,
    file_name           text NOT NULL,
    file_sha256         text NOT NULL,
    mode                text NOT NULL CHECK (mode IN ('dry_run', 'all_or_nothing', 'valid_only')),
    rows_total          bigint NOT NULL,
    rows_valid          bigint NOT NULL,
    problems            bigint NOT NULL,
    imported_households bigint,            -- NULL: nothing imported (dry run or refused)
    report              text NOT NULL      -- the plan's report as JSON (no household bodies)
);
CREATE INDEX import_runs_at ON import_runs (at);

CREATE TABLE import_bases (
    doc_id  text PRIMARY KEY,
    ledger  text NOT NULL,
    run_at  bigint NOT NULL
);
