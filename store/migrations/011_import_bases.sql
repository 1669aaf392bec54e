-- Re-imports: what the ledger said about each household when it was last imported (the
-- household as JSON, person ids as in the document), the base of the three-way merge of
-- the next import, so that a field changed on a device since is not overwritten by a
-- ledger that did not change it.
CREATE TABLE import_bases (
    doc_id  TEXT PRIMARY KEY,
    ledger  TEXT NOT NULL,
    run_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
