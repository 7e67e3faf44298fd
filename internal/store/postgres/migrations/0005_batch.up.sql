-- Batch inference jobs, their shards (the unit of work workers claim) and cron schedules.
-- Spec and inputs are JSON text: they are read whole with the job and never filtered on.
CREATE TABLE batch_jobs (
    -- seq orders jobs created in the same millisecond (newest first in listings).
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id        TEXT COLLATE "C" NOT NULL UNIQUE,
    job_key       TEXT COLLATE "C" NOT NULL DEFAULT '',
    spec          TEXT COLLATE "C" NOT NULL,
    model_name    TEXT COLLATE "C" NOT NULL DEFAULT '',
    model_version TEXT COLLATE "C" NOT NULL DEFAULT '',
    model_source  TEXT COLLATE "C" NOT NULL DEFAULT '',
    status        TEXT COLLATE "C" NOT NULL,
    error         TEXT COLLATE "C" NOT NULL DEFAULT '',
    actor         TEXT COLLATE "C" NOT NULL DEFAULT '',
    schedule_name TEXT COLLATE "C" NOT NULL DEFAULT '',
    generation    INTEGER NOT NULL DEFAULT 1,
    inputs        TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    shards_total  INTEGER NOT NULL,
    shards_done   INTEGER NOT NULL DEFAULT 0,
    rows_in       BIGINT NOT NULL DEFAULT 0,
    rows_out      BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    manifest      TEXT COLLATE "C" NOT NULL DEFAULT '',
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
    job_key TEXT COLLATE "C" PRIMARY KEY,
    job_id  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE batch_shards (
    job_id          TEXT COLLATE "C" NOT NULL REFERENCES batch_jobs (job_id),
    idx             INTEGER NOT NULL,
    file            TEXT COLLATE "C" NOT NULL DEFAULT '',
    format          TEXT COLLATE "C" NOT NULL DEFAULT '',
    row_group_start INTEGER NOT NULL DEFAULT 0,
    row_group_end   INTEGER NOT NULL DEFAULT 0,
    first_row       BIGINT NOT NULL DEFAULT 0,
    num_rows        BIGINT NOT NULL DEFAULT 0,
    status          TEXT COLLATE "C" NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    worker          TEXT COLLATE "C" NOT NULL DEFAULT '',
    heartbeat_time  BIGINT NOT NULL DEFAULT 0,
    rows_in         BIGINT NOT NULL DEFAULT 0,
    rows_out        BIGINT NOT NULL DEFAULT 0,
    rows_rejected   BIGINT NOT NULL DEFAULT 0,
    part            TEXT COLLATE "C" NOT NULL DEFAULT '',
    part_digest     TEXT COLLATE "C" NOT NULL DEFAULT '',
    part_bytes      BIGINT NOT NULL DEFAULT 0,
    rejects_part    TEXT COLLATE "C" NOT NULL DEFAULT '',
    error           TEXT COLLATE "C" NOT NULL DEFAULT '',
    start_time      BIGINT NOT NULL DEFAULT 0,
    end_time        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, idx)
);
-- Finds the shards of dead workers: RUNNING with an old heartbeat.
CREATE INDEX batch_shards_running ON batch_shards (status, heartbeat_time);


CREATE TABLE batch_schedules (
    name          TEXT COLLATE "C" PRIMARY KEY,
    cron          TEXT COLLATE "C" NOT NULL,
    spec          TEXT COLLATE "C" NOT NULL,
    actor         TEXT COLLATE "C" NOT NULL DEFAULT '',
    last_run_time BIGINT NOT NULL DEFAULT 0,
    last_job_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    creation_time BIGINT NOT NULL
);
