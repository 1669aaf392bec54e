-- The district store on PostgreSQL: documents, every change with its server sequence
-- number, who may sync, the sync log and handovers. The same tables as the embedded
-- store's (store/migrations/003, 009, 010) in PostgreSQL's types.

-- A document: its whole saved form (Automerge `save()`, ~650 B for a household),
-- rewritten by every write that changes it. `heads`: its sorted change hashes, comma
-- separated, for digests and repair.
CREATE TABLE docs (
    doc_id     uuid PRIMARY KEY,
    kind       text NOT NULL,
    grid_id    text NOT NULL,
    snapshot   bytea NOT NULL,
    heads      text NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX docs_grid ON docs (grid_id, doc_id);

-- Every change with its sequence number. The cursor rule (docs/sync-protocol.md,
-- "cursor"): `seq` is taken from changes_seq only under the transaction-scoped advisory
-- lock CHANGES_SEQ_LOCK, as the transaction's last statements before COMMIT, so numbers
-- become visible in the order they were handed out, across every server process.
CREATE SEQUENCE changes_seq AS bigint;
CREATE TABLE changes (
    seq           bigint PRIMARY KEY,
    hash          text NOT NULL UNIQUE,
    doc_id        uuid NOT NULL,
    kind          text NOT NULL,
    grid_id       text NOT NULL,
    bytes         bytea NOT NULL,
    author_user   text,
    author_device text,
    pushed_by     text,            -- the device that pushed it; NULL for server-made changes
    received_at   bigint NOT NULL
);
CREATE INDEX changes_grid_seq ON changes (grid_id, seq);
CREATE INDEX changes_doc ON changes (doc_id, seq);

CREATE TABLE users (
    user_id       text PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    display_name  text NOT NULL,
    role          text NOT NULL CHECK (role IN ('worker', 'supervisor', 'admin')),
    password_hash text,
    key_persons   boolean NOT NULL DEFAULT false,
    created_at    bigint NOT NULL
);

CREATE TABLE user_grids (
    user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    grid_id text NOT NULL,
    PRIMARY KEY (user_id, grid_id)
);

CREATE TABLE enrollments (
    code_hash  text PRIMARY KEY,   -- sha256 of the code; the code itself is never stored
    user_id    text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    used_at    bigint,
    device_id  text
);

CREATE TABLE devices (
    device_id    text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (user_id),
    name         text NOT NULL,
    token_hash   text NOT NULL UNIQUE, -- sha256 of the bearer token
    enrolled_at  bigint NOT NULL,
    revoked_at   bigint,
    last_sync_at bigint
);

CREATE TABLE sync_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id   text NOT NULL,
    user_id     text NOT NULL,
    started_at  bigint NOT NULL,
    duration_ms bigint NOT NULL,
    docs_in     bigint NOT NULL,
    changes_in  bigint NOT NULL,
    docs_out    bigint NOT NULL,
    changes_out bigint NOT NULL,
    bytes_in    bigint NOT NULL,
    bytes_out   bigint NOT NULL,
    conflicts   bigint NOT NULL,
    rejected    bigint NOT NULL,
    errors      jsonb NOT NULL     -- [{doc_id, code, message}]
);
CREATE INDEX sync_log_device ON sync_log (device_id, started_at);
CREATE INDEX sync_log_user ON sync_log (user_id, started_at);

-- Unsynced edits of a worker moved to another grid, kept for a supervisor, never applied.
CREATE TABLE handovers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id    text NOT NULL,
    user_id      text NOT NULL,
    doc_id       uuid NOT NULL,
    kind         text NOT NULL,
    grid_id      text NOT NULL,
    hashes       text NOT NULL,     -- comma-separated: the same handover twice is kept once
    changes      bytea NOT NULL,    -- the raw changes, concatenated
    change_count bigint NOT NULL,
    fields       jsonb NOT NULL,    -- the dotted field paths the changes write
    received_at  bigint NOT NULL,
    UNIQUE (doc_id, hashes)
);
CREATE INDEX handovers_grid ON handovers (grid_id, received_at);

-- The area tree (streets, communities, grids, buildings) as one JSON document; sent to
-- devices at enrollment.
CREATE TABLE area_tree (
    id         integer PRIMARY KEY CHECK (id = 1),
    tree       jsonb NOT NULL,
    updated_at bigint NOT NULL
);
