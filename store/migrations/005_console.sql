-- The supervisor's console: password logins, sessions, lockout, area scopes and the
-- configurable departments. District store only (created empty on devices).

-- A console session: the cookie carries a random token, only its SHA-256 is stored; the
-- CSRF token must come back in the X-CSRF-Token header of every state-changing request.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX console_sessions_user ON console_sessions (user_id);

-- Failed logins per username (known or not): 5 within 15 minutes lock it for 15 minutes.
CREATE TABLE login_failures (
    username        TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    first_failure_at INTEGER NOT NULL,
    locked_until    INTEGER
) STRICT;

-- Area scopes beyond user_grids: a community or street code; its grids are in scope.
CREATE TABLE user_areas (
    user_id   TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    area_code TEXT NOT NULL,
    PRIMARY KEY (user_id, area_code)
) STRICT;

-- Departments issues are dispatched to (configurable by admins).
CREATE TABLE departments (
    code TEXT PRIMARY KEY,
    zh   TEXT NOT NULL,
    en   TEXT NOT NULL
) STRICT;
INSERT INTO departments (code, zh, en) VALUES
    ('urban_management', '城管执法', 'Urban management'),
    ('sanitation', '环卫', 'Sanitation'),
    ('water', '水务', 'Water utility'),
    ('housing', '住建', 'Housing and construction'),
    ('civil_affairs', '民政', 'Civil affairs'),
    ('police', '派出所', 'Police station'),
    ('property', '物业', 'Property management');

-- Indicator queries: issues by state and period, visits by time.
CREATE INDEX issues_reported_at ON issues (reported_at);
CREATE INDEX visits_at ON visits (at);
