-- The device's schema without what only the district's console reads (issue 14). Every
-- page a device writes is encrypted and MACed (SQLCipher), and an index whose keys arrive
-- in random order (a visit's time, an ID number) has most of its pages rewritten by each
-- page of a first download. The district runs no such migration (store/src/schema.rs):
-- it keeps every index and trigger below.

-- ID-number quality (008): duplicate holders are the console's indicator.
DROP TRIGGER persons_holder_in;
DROP TRIGGER persons_holder_out;
DROP TRIGGER persons_holder_change;
DROP TABLE id_number_holders;
DROP INDEX persons_living_id_number;
DROP INDEX persons_id_number;

-- The console's filters and indicators (002, 005): by community, by worker, by time
-- across a district. A device lists its grid's households by address and a household's
-- visits and issues; it sorts its grid's few thousand issues by time without an index.
DROP INDEX households_community;
DROP INDEX visits_grid_at;
DROP INDEX visits_worker_at;
DROP INDEX visits_at;
DROP INDEX issues_reported_at;

-- docs_grid_doc (015) answers every lookup by grid a device makes.
DROP INDEX docs_grid;
