-- Online-serving endpoints. A second target (canary or shadow) is present exactly when
-- secondary_model_uri is not NULL; its mode and percent are '' and 0 otherwise.
CREATE TABLE endpoints (
    name                TEXT PRIMARY KEY,
    model_uri           TEXT NOT NULL,
    secondary_model_uri TEXT,
    secondary_mode      TEXT NOT NULL DEFAULT '',
    secondary_percent   REAL NOT NULL DEFAULT 0,
    description         TEXT NOT NULL DEFAULT '',
    log_sample_rate     REAL NOT NULL DEFAULT 0,
    subject_field       TEXT NOT NULL DEFAULT '',
    creation_time       BIGINT NOT NULL,
    last_update_time    BIGINT NOT NULL,
    CHECK ((secondary_model_uri IS NULL) = (secondary_mode = ''))
) WITHOUT ROWID;
