-- Ledger quality: duplicate ID numbers among living persons.
--
-- For a grid or community the GROUP BY over this partial index is quick. For the whole
-- district (300,000 persons) it is not, so each ID number's count of living holders is
-- kept up to date by triggers on the projection, and the district-wide count is a
-- lookup in the partial index on counts above one.
CREATE INDEX persons_living_id_number ON persons (id_number)
    WHERE status = 'Living' AND id_number IS NOT NULL;

CREATE TABLE id_number_holders (
    id_number TEXT PRIMARY KEY,
    living    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX id_number_holders_dup ON id_number_holders (living) WHERE living > 1;

INSERT INTO id_number_holders (id_number, living)
    SELECT id_number, count(*) FROM persons
    WHERE status = 'Living' AND id_number IS NOT NULL AND id_number <> ''
    GROUP BY id_number;

CREATE TRIGGER persons_holder_in AFTER INSERT ON persons
    WHEN NEW.status = 'Living' AND NEW.id_number IS NOT NULL AND NEW.id_number <> ''
BEGIN
    INSERT INTO id_number_holders (id_number, living) VALUES (NEW.id_number, 1)
        ON CONFLICT (id_number) DO UPDATE SET living = living + 1;
END;

CREATE TRIGGER persons_holder_out AFTER DELETE ON persons
    WHEN OLD.status = 'Living' AND OLD.id_number IS NOT NULL AND OLD.id_number <> ''
BEGIN
    UPDATE id_number_holders SET living = living - 1 WHERE id_number = OLD.id_number;
END;

CREATE TRIGGER persons_holder_change AFTER UPDATE OF status, id_number ON persons
BEGIN
    UPDATE id_number_holders SET living = living - 1
        WHERE OLD.status = 'Living' AND id_number = OLD.id_number;
    INSERT INTO id_number_holders (id_number, living)
        SELECT NEW.id_number, 1
        WHERE NEW.status = 'Living' AND NEW.id_number IS NOT NULL AND NEW.id_number <> ''
        ON CONFLICT (id_number) DO UPDATE SET living = living + 1;
END;
