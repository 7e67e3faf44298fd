-- Batch inference jobs, their shards (the unit of work workers claim) and cron schedules.
-- Spec and inputs are JSON text: they are read whole with the job and never filtered on.
CREATE TABLE batch_jobs (
    -- seq orders jobs created in the same millisecond (newest first in listings).
    seq           INTEGER PRIMARY KEY,
    job_id        TEXT NOT NULL UNIQUE,
    job_key       TEXT NOT NULL DEFAULT '',
    spec          TEXT NOT NULL,
    model_name    TEXT NOT NULL DEFAULT '',
    model_version TEXT NOT NULL DEFAULT '',
    model_source  TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    error         TEXT NOT NULL DEFAULT '',
    actor         TEXT NOT NULL DEFAULT '',
    schedule_name TEXT NOT NULL DEFAULT '',
    generation    INTEGER NOT NULL DEFAULT 1,
    inputs        TEXT NOT NULL DEFAULT '[]',
    shards_total  INTEGER NOT NULL,
    shards_done   INTEGER NOT NULL DEFAULT 0,
    rows_in       BIGINT NOT NULL DEFAULT 0,
    rows_out      BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    manifest      TEXT NOT NULL DEFAULT '',
    creation_time BIGINT NOT NULL,
    start_time    BIGINT NOT NULL DEFAULT 0,
    end_time      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX batch_jobs_by_time ON batch_jobs (creation_time, seq);
CREATE INDEX batch_jobs_by_status ON batch_jobs (status, creation_time, seq);
CREATE INDEX batch_jobs_by_schedule ON batch_jobs (schedule_name, creation_time, seq);

-- The job an idempotency key stands for: the first one submitted with it, or the latest
-- forced one. Its primary key makes two concurrent submissions of one key agree.
CREATE TABLE batch_job_keys (
    job_key TEXT PRIMARY KEY,
    job_id  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE batch_shards (
    job_id          TEXT NOT NULL REFERENCES batch_jobs (job_id),
    idx             INTEGER NOT NULL,
    file            TEXT NOT NULL DEFAULT '',
    format          TEXT NOT NULL DEFAULT '',
    row_group_start INTEGER NOT NULL DEFAULT 0,
    row_group_end   INTEGER NOT NULL DEFAULT 0,
    first_row       BIGINT NOT NULL DEFAULT 0,
    num_rows        BIGINT NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    worker          TEXT NOT NULL DEFAULT '',
    heartbeat_time  BIGINT NOT NULL DEFAULT 0,
    rows_in         BIGINT NOT NULL DEFAULT 0,
    rows_out        BIGINT NOT NULL DEFAULT 0,
    rows_rejected   BIGINT NOT NULL DEFAULT 0,
    part            TEXT NOT NULL DEFAULT '',
    part_digest     TEXT NOT NULL DEFAULT '',
    part_bytes      BIGINT NOT NULL DEFAULT 0,
    rejects_part    TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT '',
    start_time      BIGINT NOT NULL DEFAULT 0,
    end_time        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;

-- Finds the shards of dead workers: RUNNING with an old heartbeat.
CREATE INDEX batch_shards_running ON batch_shards (status, heartbeat_time);

CREATE TABLE batch_schedules (
    name          TEXT PRIMARY KEY,
    cron          TEXT NOT NULL,
    spec          TEXT NOT NULL,
    actor         TEXT NOT NULL DEFAULT '',
    last_run_time BIGINT NOT NULL DEFAULT 0,
    last_job_id   TEXT NOT NULL DEFAULT '',
    creation_time BIGINT NOT NULL
) WITHOUT ROWID;
