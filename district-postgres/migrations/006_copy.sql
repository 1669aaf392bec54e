-- What `gridwalk-server store copy` needs to carry a district from the embedded store
-- whole: the key a device proposed at enrollment (store/migrations/013). The import
-- records (import_runs, import_bases) are migration 005's.

ALTER TABLE enrollments ADD COLUMN IF NOT EXISTS device_key_hash text;
