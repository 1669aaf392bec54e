-- Projections: the listing tables derived from the documents (the embedded store's
-- store/migrations/002, 006, 009 in PostgreSQL's types), written from the merged document
-- in the transaction that stores it, with the rows `gridwalk_core::projection` computes.
-- Rebuildable at any time: a database that has documents and no rows yet (or rows of an
-- older projection version, meta 'projection.version') is filled at start from its
-- documents (district-postgres/src/projection.rs `rebuild_if_stale`).
-- Ids are text, as the rows a first download ships carry them.

CREATE TABLE households (
    doc_id          text PRIMARY KEY,
    grid_id         text NOT NULL,
    community_code  text NOT NULL,
    building_no     text NOT NULL,
    building_name   text NOT NULL,
    unit            text NOT NULL,
    floor           bigint NOT NULL,
    room            text NOT NULL,
    address         text NOT NULL,
    housing_use     text NOT NULL,
    household_type  text NOT NULL,
    head_name       text NOT NULL,
    phone           text,
    member_count    bigint NOT NULL,
    tags            text NOT NULL,     -- ' tag1 tag2 ' (care tags of living members)
    restricted      text NOT NULL,     -- ' tag ' (key-person tags)
    search          text NOT NULL,     -- '|'-separated search keys
    tails           text NOT NULL,     -- ' 1234 5678 ' last 4 digits of phones and IDs
    complete        boolean NOT NULL,
    conflicts       bigint NOT NULL,
    updated_at      bigint NOT NULL,
    household_phone text,              -- the household's own phone only
    notes           text NOT NULL,
    lon             double precision,
    lat             double precision
);
-- The console's household list: by grid, in address order.
CREATE INDEX households_addr ON households (grid_id, building_no, unit, floor, room);
CREATE INDEX households_community ON households (community_code);

CREATE TABLE persons (
    person_id       text NOT NULL,
    household_id    text NOT NULL REFERENCES households (doc_id) ON DELETE CASCADE,
    name            text NOT NULL,
    sex             text NOT NULL,
    birth_date      text,
    id_number       text,
    phone           text,
    relation        text NOT NULL,
    population_type text NOT NULL,
    status          text NOT NULL,
    tags            text NOT NULL,
    restricted      text NOT NULL,
    disability_cert text,
    notes           text NOT NULL,
    PRIMARY KEY (household_id, person_id)
);
CREATE INDEX persons_id_number ON persons (id_number);

CREATE TABLE visits (
    doc_id         text PRIMARY KEY,
    household_id   text NOT NULL,
    grid_id        text NOT NULL,
    worker_id      text NOT NULL,
    device_id      text NOT NULL,
    at             bigint NOT NULL,
    mode           text NOT NULL,
    findings       text NOT NULL,
    needs          text NOT NULL,
    follow_up      text,
    review_status  text,
    review_comment text
);
-- Visit review: newest first within the scope's grids, by worker, by household.
CREATE INDEX visits_household ON visits (household_id, at);
CREATE INDEX visits_grid_at ON visits (grid_id, at);
CREATE INDEX visits_worker_at ON visits (worker_id, at);

CREATE TABLE issues (
    doc_id         text PRIMARY KEY,
    grid_id        text NOT NULL,
    household_id   text,
    category       text NOT NULL,
    title          text NOT NULL,
    urgency        text NOT NULL,
    state          text,
    reported_by    text,
    reported_at    bigint,
    dispatched_at  bigint,
    deadline       bigint,
    department     text,
    closed_at      bigint,
    closed_on_time boolean,
    rework_count   bigint NOT NULL,
    satisfaction   bigint,
    conflicts      bigint NOT NULL
);
-- The issue desk: by grid and state, newest report first; a household's issues.
CREATE INDEX issues_grid_state ON issues (grid_id, state, reported_at);
CREATE INDEX issues_household ON issues (household_id);

-- Key-person documents: one row per household's document, its persons' restricted tags
-- as JSON text ({person_id: {tag: true}}), as the embedded store keeps them.
CREATE TABLE key_persons (
    doc_id       text PRIMARY KEY,
    household_id text NOT NULL,
    grid_id      text NOT NULL,
    persons      text NOT NULL
);
CREATE INDEX key_persons_household ON key_persons (household_id);
