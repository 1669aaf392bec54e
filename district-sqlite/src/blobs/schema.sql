-- The server's blob store (blobs.sqlite, beside district.sqlite): photo bytes by hash.
-- IF NOT EXISTS: two processes opening a new file at once both run this.
CREATE TABLE IF NOT EXISTS blobs (
    sha256    TEXT PRIMARY KEY,
    bytes     BLOB NOT NULL,
    -- Made by the server from the stored bytes; NULL until made (or not an image).
    thumb     BLOB,
    size      INTEGER NOT NULL,
    -- The device whose upload completed it (its quota counts it).
    device_id TEXT NOT NULL,
    stored_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS blobs_device ON blobs (device_id);
CREATE INDEX IF NOT EXISTS blobs_stored_at ON blobs (stored_at);

-- Uploads under way: the bytes so far, one per hash.
CREATE TABLE IF NOT EXISTS blob_parts (
    sha256     TEXT PRIMARY KEY,
    bytes      BLOB NOT NULL,
    total      INTEGER NOT NULL,
    device_id  TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS blob_parts_device ON blob_parts (device_id);
