-- Projections: derived from the documents, rebuildable at any time (Store::rebuild_projections).
CREATE TABLE households (
    doc_id         TEXT PRIMARY KEY,
    grid_id        TEXT NOT NULL,
    community_code TEXT NOT NULL,
    building_no    TEXT NOT NULL,
    building_name  TEXT NOT NULL,
    unit           TEXT NOT NULL,
    floor          INTEGER NOT NULL,
    room           TEXT NOT NULL,
    address        TEXT NOT NULL,
    housing_use    TEXT NOT NULL,
    household_type TEXT NOT NULL,
    head_name      TEXT NOT NULL,
    phone          TEXT,
    member_count   INTEGER NOT NULL,
    tags           TEXT NOT NULL,   -- ' tag1 tag2 ' (care tags of living members)
    restricted     TEXT NOT NULL,   -- ' tag ' (key-person tags)
    search         TEXT NOT NULL,   -- '|'-separated search keys
    tails          TEXT NOT NULL,   -- ' 1234 5678 ' last 4 digits of phones and IDs
    complete       INTEGER NOT NULL,
    conflicts      INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX households_addr ON households (grid_id, building_no, unit, floor, room);
CREATE INDEX households_community ON households (community_code);

CREATE TABLE persons (
    person_id       TEXT NOT NULL,
    household_id    TEXT NOT NULL REFERENCES households (doc_id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    sex             TEXT NOT NULL,
    birth_date      TEXT,
    id_number       TEXT,
    phone           TEXT,
    relation        TEXT NOT NULL,
    population_type TEXT NOT NULL,
    status          TEXT NOT NULL,
    tags            TEXT NOT NULL,
    restricted      TEXT NOT NULL,
    PRIMARY KEY (household_id, person_id)
) STRICT;
CREATE INDEX persons_id_number ON persons (id_number);

CREATE TABLE visits (
    doc_id        TEXT PRIMARY KEY,
    household_id  TEXT NOT NULL,
    grid_id       TEXT NOT NULL,
    worker_id     TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    at            INTEGER NOT NULL,
    mode          TEXT NOT NULL,
    findings      TEXT NOT NULL,
    needs         TEXT NOT NULL,
    follow_up     TEXT,
    review_status TEXT,
    review_comment TEXT
) STRICT;
CREATE INDEX visits_household ON visits (household_id, at);
CREATE INDEX visits_grid_at ON visits (grid_id, at);
CREATE INDEX visits_worker_at ON visits (worker_id, at);

CREATE TABLE issues (
    doc_id         TEXT PRIMARY KEY,
    grid_id        TEXT NOT NULL,
    household_id   TEXT,
    category       TEXT NOT NULL,
    title          TEXT NOT NULL,
    urgency        TEXT NOT NULL,
    state          TEXT,
    reported_by    TEXT,
    reported_at    INTEGER,
    dispatched_at  INTEGER,
    deadline       INTEGER,
    department     TEXT,
    closed_at      INTEGER,
    closed_on_time INTEGER,
    rework_count   INTEGER NOT NULL,
    satisfaction   INTEGER,
    conflicts      INTEGER NOT NULL
) STRICT;
CREATE INDEX issues_grid_state ON issues (grid_id, state);
CREATE INDEX issues_household ON issues (household_id);
