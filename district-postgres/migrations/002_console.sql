-- The console on PostgreSQL: sessions, login lockouts and rate limits shared by every
-- server on this database, area scopes, the audit log (append-only by trigger), and the
-- district's own settings (`meta`: the console's device id). The same tables as the
-- embedded store's (store/migrations/005, 006, 014) in PostgreSQL's types.

CREATE TABLE console_sessions (
    token_hash text PRIMARY KEY,       -- sha256 of the cookie token
    user_id    text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    csrf       text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- Failed logins per key ("user:<name>", "addr:<address>"), counted before the password
-- is verified (gridwalk-district console/lockout.rs decides).
CREATE TABLE login_failures (
    key              text PRIMARY KEY,
    failures         bigint NOT NULL,
    first_failure_at bigint NOT NULL,
    locked_until     bigint
);

-- Per-address rate limits: a sliding-window counter (this minute, the one before).
CREATE TABLE rate_limits (
    key           text PRIMARY KEY,
    window_start  bigint NOT NULL,
    hits          bigint NOT NULL,
    previous_hits bigint NOT NULL
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);

-- Area scopes beyond user_grids: a community or street code; its grids are in scope.
CREATE TABLE user_areas (
    user_id   text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    area_code text NOT NULL,
    PRIMARY KEY (user_id, area_code)
);

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE audit_log (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       bigint NOT NULL,
    user_id  text NOT NULL,
    username text NOT NULL,
    role     text NOT NULL,
    kind     text NOT NULL,
    detail   jsonb NOT NULL
);
CREATE INDEX audit_log_kind ON audit_log (kind, id);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
CREATE INDEX audit_log_at ON audit_log (at);

-- Append-only: any UPDATE, DELETE or TRUNCATE raises, whoever runs it.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: entries cannot be changed or deleted';
END;
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Departments issues are dispatched to (configurable by admins); the embedded store's
-- defaults.
CREATE TABLE departments (
    code text PRIMARY KEY,
    zh   text NOT NULL,
    en   text NOT NULL
);
INSERT INTO departments (code, zh, en) VALUES
    ('urban_management', '城管执法', 'Urban management'),
    ('sanitation', '环卫', 'Sanitation'),
    ('water', '水务', 'Water utility'),
    ('housing', '住建', 'Housing and construction'),
    ('civil_affairs', '民政', 'Civil affairs'),
    ('police', '派出所', 'Police station'),
    ('property', '物业', 'Property management');
