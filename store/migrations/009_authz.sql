-- Key-person data (重点人员) is held only by roles granted it: a supervisor needs this
-- grant (workers never hold it, admins always do; see core/src/authorize.rs).
ALTER TABLE users ADD COLUMN key_persons INTEGER NOT NULL DEFAULT 0 CHECK (key_persons IN (0, 1));

-- Projection of key-person documents (DocKind::KeyPersons): one row per household's
-- document, its persons' restricted tags as JSON ({person_id: {tag: true}}). Filled only
-- where such documents are held: the district store, and devices of granted users.
CREATE TABLE key_persons (
    doc_id       TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    grid_id      TEXT NOT NULL,
    persons      TEXT NOT NULL
) STRICT;
CREATE INDEX key_persons_household ON key_persons (household_id);

-- A new document kind, key_persons: the CHECK on docs.kind is widened by rebuilding the
-- table (SQLite's documented procedure; foreign keys are off while migrations run, see
-- Store::init, so doc_chunks keeps its rows).
CREATE TABLE docs_new (
    doc_id      TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('household', 'visit', 'issue', 'key_persons')),
    grid_id     TEXT NOT NULL,
    snapshot    BLOB NOT NULL,
    heads       TEXT NOT NULL,
    chunk_bytes INTEGER NOT NULL DEFAULT 0,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
) STRICT;
INSERT INTO docs_new SELECT doc_id, kind, grid_id, snapshot, heads, chunk_bytes, chunk_count,
    updated_at FROM docs;
DROP TABLE docs;
ALTER TABLE docs_new RENAME TO docs;
CREATE INDEX docs_grid ON docs (grid_id, kind);
