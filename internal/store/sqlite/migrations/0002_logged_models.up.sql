-- MLflow 3 logged models: what an experiment produced, with params, tags and metrics,
-- and the runs that output them.
CREATE TABLE logged_models (
    model_key        INTEGER PRIMARY KEY,
    model_id         TEXT NOT NULL UNIQUE,
    experiment_id    BIGINT NOT NULL REFERENCES experiments (experiment_id),
    name             TEXT NOT NULL,
    artifact_uri     TEXT NOT NULL,
    status           TEXT NOT NULL,
    status_message   TEXT NOT NULL DEFAULT '',
    model_type       TEXT NOT NULL DEFAULT '',
    source_run_id    TEXT NOT NULL DEFAULT '',
    creation_time    BIGINT NOT NULL,
    last_update_time BIGINT NOT NULL,
    lifecycle_stage  TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX logged_models_by_experiment ON logged_models (experiment_id, creation_time DESC);
CREATE INDEX logged_models_by_run ON logged_models (source_run_id);

CREATE TABLE logged_model_tags (
    model_key BIGINT NOT NULL REFERENCES logged_models (model_key),
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (model_key, key)
);

CREATE TABLE logged_model_params (
    model_key BIGINT NOT NULL REFERENCES logged_models (model_key),
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (model_key, key)
);

-- Every metric point logged with a model_id (log-batch copies a run's metrics here).
-- NaN is value 0 with is_nan 1, as in latest_metrics.
CREATE TABLE logged_model_metrics (
    model_key      BIGINT NOT NULL REFERENCES logged_models (model_key),
    key            TEXT NOT NULL,
    value          REAL NOT NULL,
    is_nan         INTEGER NOT NULL,
    timestamp      BIGINT NOT NULL,
    step           BIGINT NOT NULL,
    run_id         TEXT NOT NULL DEFAULT '',
    dataset_name   TEXT NOT NULL DEFAULT '',
    dataset_digest TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (model_key, key, step, timestamp, run_id, dataset_name, dataset_digest)
);

-- run_outputs: the logged models a run produced, at a step.
CREATE TABLE run_outputs (
    run_id    TEXT NOT NULL REFERENCES runs (run_id),
    model_key BIGINT NOT NULL REFERENCES logged_models (model_key),
    step      BIGINT NOT NULL,
    PRIMARY KEY (run_id, model_key)
);
