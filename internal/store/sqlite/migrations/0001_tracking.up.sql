-- Experiment tracking: experiments, runs, their params, tags, metrics and dataset inputs.
CREATE TABLE experiments (
    experiment_id     INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL UNIQUE,
    artifact_location TEXT    NOT NULL,
    lifecycle_stage   TEXT    NOT NULL DEFAULT 'active',
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL
);

CREATE TABLE experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
    key           TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    PRIMARY KEY (experiment_id, key)
) WITHOUT ROWID;

-- run_key is a compact integer that the high-volume metric tables use instead of run_id.
CREATE TABLE runs (
    run_key         INTEGER PRIMARY KEY,
    run_id          TEXT    NOT NULL UNIQUE,
    experiment_id   INTEGER NOT NULL REFERENCES experiments (experiment_id),
    name            TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    start_time      INTEGER NOT NULL,
    end_time        INTEGER,
    artifact_uri    TEXT    NOT NULL,
    lifecycle_stage TEXT    NOT NULL DEFAULT 'active',
    deleted_time    INTEGER
);
CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time DESC, run_id);

CREATE TABLE run_tags (
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

CREATE TABLE params (
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

-- Every point of every metric, in blocks: one row per key per logged batch, the points
-- packed in a binary blob (see sqlstore/blocks.go). One row instead of one per point is
-- what makes ingest fast; exact repeats are dropped when the history is read, as MLflow does.
CREATE TABLE metric_blocks (
    block_id INTEGER PRIMARY KEY,
    run_key  INTEGER NOT NULL,
    key      TEXT    NOT NULL,
    min_step INTEGER NOT NULL,
    max_step INTEGER NOT NULL,
    points   BLOB    NOT NULL
);
CREATE INDEX metric_blocks_by_metric ON metric_blocks (run_key, key, min_step);

-- The latest point of each metric of each run, which search filters and sorts on. NaN is
-- stored as value 0 with is_nan = 1 because SQLite turns NaN into NULL (kept the same on
-- both backends).
CREATE TABLE latest_metrics (
    run_key   INTEGER NOT NULL,
    key       TEXT    NOT NULL,
    value     REAL    NOT NULL,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    is_nan    INTEGER NOT NULL,
    PRIMARY KEY (run_key, key)
) WITHOUT ROWID;
CREATE INDEX latest_metrics_by_key ON latest_metrics (key, value);

-- Datasets are tracked by reference and digest, once per experiment.
CREATE TABLE datasets (
    dataset_id    INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
    name          TEXT    NOT NULL,
    digest        TEXT    NOT NULL,
    source_type   TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    schema        TEXT    NOT NULL,
    profile       TEXT    NOT NULL,
    UNIQUE (experiment_id, name, digest)
);

CREATE TABLE inputs (
    run_id     TEXT    NOT NULL REFERENCES runs (run_id),
    dataset_id INTEGER NOT NULL REFERENCES datasets (dataset_id),
    PRIMARY KEY (run_id, dataset_id)
) WITHOUT ROWID;

CREATE TABLE input_tags (
    run_id     TEXT    NOT NULL,
    dataset_id INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    PRIMARY KEY (run_id, dataset_id, key)
) WITHOUT ROWID;
