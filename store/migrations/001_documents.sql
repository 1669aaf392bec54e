-- Documents are the source of truth: a snapshot plus incremental chunks.
CREATE TABLE docs (
    doc_id      TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('household', 'visit', 'issue')),
    grid_id     TEXT NOT NULL,
    snapshot    BLOB NOT NULL,
    heads       TEXT NOT NULL,        -- current heads, hex, sorted, comma-separated
    chunk_bytes INTEGER NOT NULL DEFAULT 0,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX docs_grid ON docs (grid_id, kind);

CREATE TABLE doc_chunks (
    doc_id TEXT NOT NULL REFERENCES docs (doc_id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
) STRICT;

-- Local changes the district has not acknowledged yet (device side).
CREATE TABLE outbox (
    hash       TEXT PRIMARY KEY,
    doc_id     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    grid_id    TEXT NOT NULL,
    bytes      BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_doc ON outbox (doc_id);

-- Small key/value settings: device identity, sync cursor, server address.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
