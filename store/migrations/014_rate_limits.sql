-- Per-address rate limits (console sign-in, enrollment) kept in the district store, so
-- that several servers on one database share them (PostgreSQL) and a restart does not
-- forget them. A sliding-window counter: hits in this minute and the one before.
CREATE TABLE rate_limits (
    key           TEXT PRIMARY KEY,     -- "login:<address>", "enroll:<address>"
    window_start  INTEGER NOT NULL,     -- ms, a multiple of 60 000
    hits          INTEGER NOT NULL,
    previous_hits INTEGER NOT NULL
) STRICT;
CREATE INDEX rate_limits_window ON rate_limits (window_start);
