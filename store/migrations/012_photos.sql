-- Photos (issue 13). Bytes never go into documents: a document holds each photo's
-- reference (hash, sizes, type); the bytes live here on the device and in the server's
-- blob store (a file of its own beside the district store, see store/src/blobs/).

-- Device: the content-addressed local store. A photo the worker took keeps its bytes
-- until the server confirmed them (uploaded_at); then they may be freed (bytes NULL, the
-- thumbnail stays). Photos downloaded for viewing are `cached` and trimmed to a cap.
CREATE TABLE photos (
    sha256      TEXT PRIMARY KEY,
    bytes       BLOB,
    thumb       BLOB,
    size        INTEGER NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    mime        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    uploaded_at INTEGER,
    cached      INTEGER NOT NULL DEFAULT 0,
    used_at     INTEGER NOT NULL,
    CHECK (bytes IS NOT NULL OR uploaded_at IS NOT NULL OR cached = 1)
) STRICT;

-- Device: the upload queue (gridwalk_core::upload::Entry); a row leaves only when the
-- server answered "stored" for its hash.
CREATE TABLE photo_uploads (
    sha256      TEXT PRIMARY KEY REFERENCES photos (sha256),
    total       INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  INTEGER NOT NULL DEFAULT 0,
    parked      TEXT
) STRICT;

-- Both: which documents reference which photo (a projection, rebuilt from documents).
-- The server checks a device's blob requests against it (scope) and collects blobs no
-- row names (garbage, after a grace period).
CREATE TABLE photo_refs (
    sha256  TEXT NOT NULL,
    doc_id  TEXT NOT NULL,
    grid_id TEXT NOT NULL,
    PRIMARY KEY (sha256, doc_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX photo_refs_grid ON photo_refs (grid_id, sha256);
