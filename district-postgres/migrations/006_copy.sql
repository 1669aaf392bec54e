-- What `gridwalk-server store copy` needs to carry a district from the embedded store
-- whole: the embedded store's import records (store/migrations/007, 011) and the key a
-- device proposed at enrollment (013), in PostgreSQL's types. IF NOT EXISTS: the console's
-- imports on PostgreSQL may have made them already.

ALTER TABLE enrollments ADD COLUMN IF NOT EXISTS device_key_hash text;

-- Ledger imports: every run (dry run, refused or done) with its whole report.
CREATE TABLE IF NOT EXISTS import_runs (
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
    imported_households bigint,          -- NULL: nothing imported (dry run or refused)
    report              jsonb NOT NULL   -- the plan's report (no household bodies)
);
CREATE INDEX IF NOT EXISTS import_runs_at ON import_runs (at);

-- Re-imports: what the ledger said about each household when last imported (the base of
-- the next import's three-way merge).
CREATE TABLE IF NOT EXISTS import_bases (
    doc_id uuid PRIMARY KEY,
    ledger jsonb NOT NULL,
    run_at bigint NOT NULL
);
