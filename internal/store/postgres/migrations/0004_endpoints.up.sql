-- Online-serving endpoints. A second target (canary or shadow) is present exactly when
-- secondary_model_uri is not NULL; its mode and percent are '' and 0 otherwise.
CREATE TABLE endpoints (
    name                TEXT COLLATE "C" PRIMARY KEY,
    model_uri           TEXT COLLATE "C" NOT NULL,
    secondary_model_uri TEXT COLLATE "C",
    secondary_mode      TEXT COLLATE "C" NOT NULL DEFAULT '',
    secondary_percent   DOUBLE PRECISION NOT NULL DEFAULT 0,
    description         TEXT COLLATE "C" NOT NULL DEFAULT '',
    log_sample_rate     DOUBLE PRECISION NOT NULL DEFAULT 0,
    subject_field       TEXT COLLATE "C" NOT NULL DEFAULT '',
    creation_time       BIGINT NOT NULL,
    last_update_time    BIGINT NOT NULL,
    CHECK ((secondary_model_uri IS NULL) = (secondary_mode = ''))
);
