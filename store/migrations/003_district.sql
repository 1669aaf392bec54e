-- The district store: every change with its server sequence number, who may sync, and
-- the log of every sync session. Unused on a device.

-- Sequence numbers are assigned inside the single writer's transaction, so they commit
-- in order and a cursor never skips a change (see docs/sync-protocol.md, "cursor").
CREATE TABLE changes (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    hash           TEXT NOT NULL UNIQUE,
    doc_id         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    grid_id        TEXT NOT NULL,
    bytes          BLOB NOT NULL,
    author_user    TEXT,
    author_device  TEXT,
    pushed_by      TEXT,            -- device id that pushed it; NULL for server-made changes
    received_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX changes_grid_seq ON changes (grid_id, seq);
CREATE INDEX changes_doc ON changes (doc_id, seq);

CREATE TABLE users (
    user_id       TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('worker', 'supervisor', 'admin')),
    password_hash TEXT,
    created_at    INTEGER NOT NULL
) STRICT;

-- Scope: the grids a user's devices may pull and push.
CREATE TABLE user_grids (
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    grid_id TEXT NOT NULL,
    PRIMARY KEY (user_id, grid_id)
) STRICT;

CREATE TABLE enrollments (
    code_hash   TEXT PRIMARY KEY,   -- sha256 of the code; the code itself is never stored
    user_id     TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    device_id   TEXT
) STRICT;

CREATE TABLE devices (
    device_id    TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (user_id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE, -- sha256 of the bearer token
    enrolled_at  INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_sync_at INTEGER
) STRICT;

CREATE TABLE sync_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    docs_in      INTEGER NOT NULL,
    changes_in   INTEGER NOT NULL,
    docs_out     INTEGER NOT NULL,
    changes_out  INTEGER NOT NULL,
    bytes_in     INTEGER NOT NULL,
    bytes_out    INTEGER NOT NULL,
    conflicts    INTEGER NOT NULL,
    rejected     INTEGER NOT NULL,
    errors       TEXT NOT NULL       -- JSON array of {doc_id, code, message}
) STRICT;
CREATE INDEX sync_log_device ON sync_log (device_id, started_at);
CREATE INDEX sync_log_user ON sync_log (user_id, started_at);

-- The area tree (streets, communities, grids, buildings) as one JSON document; small,
-- edited by admins, sent to devices at enrollment.
CREATE TABLE area_tree (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    tree       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
