-- Household ledger export: the projection columns an export needs that the console's
-- lists did not (filled by the projection rebuild that follows this migration, see
-- projection::VERSION), and the append-only audit log.

ALTER TABLE households ADD COLUMN household_phone TEXT;  -- the household's own phone only
ALTER TABLE households ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE households ADD COLUMN lon REAL;
ALTER TABLE households ADD COLUMN lat REAL;
ALTER TABLE persons ADD COLUMN disability_cert TEXT;
ALTER TABLE persons ADD COLUMN notes TEXT NOT NULL DEFAULT '';

-- Who exported what, viewed full PII, signed in, revoked a device, imported, changed users
-- or areas. Rows are only ever added: the triggers refuse any UPDATE or DELETE.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    user_id  TEXT NOT NULL,
    username TEXT NOT NULL,
    role     TEXT NOT NULL,
    kind     TEXT NOT NULL,
    detail   TEXT NOT NULL CHECK (json_valid(detail))
) STRICT;
CREATE INDEX audit_log_kind ON audit_log (kind, id);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be changed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be deleted');
END;
