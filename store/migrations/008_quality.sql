-- Ledger quality (duplicate ID numbers among living persons) without touching the table:
-- a partial index the GROUP BY scans alone.
CREATE INDEX persons_living_id_number ON persons (id_number)
    WHERE status = 'Living' AND id_number IS NOT NULL;
