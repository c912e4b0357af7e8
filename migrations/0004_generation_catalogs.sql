-- The product catalogue (PRODUCTS_FILE) each read-model generation is built with.
--
-- Invariant: every event a generation holds was mapped with this one catalogue, so a live read
-- model always equals a rebuild from the log with the same catalogue. NULL until the
-- generation's first live step (or its rebuild) records one. A live worker whose PRODUCTS_FILE
-- differs keeps mapping with the recorded catalogue and says so; a rebuild records the new one
-- in the new generation, so changing the file takes effect exactly at the swap.
ALTER TABLE hookledger_checkpoints ADD COLUMN catalog jsonb;
