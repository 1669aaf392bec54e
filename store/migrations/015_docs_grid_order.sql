-- A first download reads a grid's documents page by page in id order
-- (`WHERE grid_id = ? AND doc_id > ? ORDER BY doc_id`). With only (grid_id, kind) to go
-- by, every page read the whole grid and sorted it, snapshots and all, in a temporary
-- B-tree: a download cost grew with the square of the grid (issue 11). This index hands
-- each page its rows in order, from where the last page ended.
CREATE INDEX docs_grid_doc ON docs (grid_id, doc_id);
