-- A large CSV or JSON Lines file is split into shards by byte ranges [byte_start,
-- byte_end) that begin and end where a row does; first_line is the file's line number
-- (from 1) at byte_start, so messages about bad rows name the line in the file.
-- byte_end 0 means the whole file (and Parquet shards, which split by row groups).
ALTER TABLE batch_shards ADD COLUMN byte_start BIGINT NOT NULL DEFAULT 0;
ALTER TABLE batch_shards ADD COLUMN byte_end BIGINT NOT NULL DEFAULT 0;
ALTER TABLE batch_shards ADD COLUMN first_line BIGINT NOT NULL DEFAULT 0;
