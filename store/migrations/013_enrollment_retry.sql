-- Idempotent enrollment: the device proposes a key with its code; a retry of the same
-- code with the same key (the first reply was lost) gets the same device back. Only the
-- key's SHA-256 is stored.
ALTER TABLE enrollments ADD COLUMN device_key_hash TEXT;
