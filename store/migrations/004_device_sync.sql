-- Device side of sync: what the server refused, so the worker can see and fix it.
CREATE TABLE push_rejections (
    doc_id     TEXT PRIMARY KEY,
    code       TEXT NOT NULL,
    message    TEXT NOT NULL,
    at         INTEGER NOT NULL
) STRICT;
