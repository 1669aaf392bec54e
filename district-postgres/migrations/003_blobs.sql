-- Photo bytes by hash (the BlobStore on PostgreSQL), and which documents reference
-- which photos (the scope of blob requests, the roots of garbage collection).
CREATE TABLE blobs (
    sha256    text PRIMARY KEY,
    bytes     bytea NOT NULL,
    -- Made by the server from the stored bytes; NULL until made (or not an image).
    thumb     bytea,
    size      bigint NOT NULL,
    -- The device whose upload completed it (its quota counts it).
    device_id text NOT NULL,
    stored_at bigint NOT NULL
);
CREATE INDEX blobs_device ON blobs (device_id);
CREATE INDEX blobs_stored_at ON blobs (stored_at);

-- Uploads under way: the bytes so far, one per hash.
CREATE TABLE blob_parts (
    sha256     text PRIMARY KEY,
    bytes      bytea NOT NULL,
    total      bigint NOT NULL,
    device_id  text NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX blob_parts_device ON blob_parts (device_id);
CREATE INDEX blob_parts_updated ON blob_parts (updated_at);

-- Written with each document (photos are append-only: rows are only added).
CREATE TABLE photo_refs (
    sha256  text NOT NULL,
    doc_id  uuid NOT NULL,
    grid_id text NOT NULL,
    PRIMARY KEY (sha256, doc_id)
);
CREATE INDEX photo_refs_grid ON photo_refs (grid_id, sha256);
