-- Handovers: unsynced edits of a worker who was moved to another grid (issue 9 §4).
-- The device may no longer write its old grid, so it hands the changes over instead of
-- losing them; they are kept here for a supervisor of that grid, never applied.
CREATE TABLE handovers (
    id          INTEGER PRIMARY KEY,
    device_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    doc_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    -- The grid the document belongs to (the stored one, else the one it names).
    grid_id     TEXT NOT NULL,
    -- Comma-separated change hashes: the same handover sent twice is kept once.
    hashes      TEXT NOT NULL,
    -- The raw Automerge changes, concatenated (Automerge's load_incremental reads them).
    changes     BLOB NOT NULL,
    change_count INTEGER NOT NULL,
    -- JSON array of the dotted field paths the changes write (no values).
    fields      TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (doc_id, hashes)
) STRICT;
CREATE INDEX handovers_grid ON handovers (grid_id, received_at);
