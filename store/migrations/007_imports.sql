-- Ledger imports: every run (dry run, refused or done) with its whole report, kept.
CREATE TABLE import_runs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    at                  INTEGER NOT NULL,
    user_id             TEXT NOT NULL,
    username            TEXT NOT NULL,
    file_name           TEXT NOT NULL,
    file_sha256         TEXT NOT NULL,
    mode                TEXT NOT NULL CHECK (mode IN ('dry_run', 'all_or_nothing', 'valid_only')),
    rows_total          INTEGER NOT NULL,
    rows_valid          INTEGER NOT NULL,
    problems            INTEGER NOT NULL,
    imported_households INTEGER,          -- NULL: nothing imported (dry run or refused)
    report              TEXT NOT NULL     -- the plan's report as JSON (no household bodies)
) STRICT;
CREATE INDEX import_runs_at ON import_runs (at);
