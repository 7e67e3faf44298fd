-- The model registry: named models, numbered versions, tags, aliases, and Plinth's
-- approvals with their full history. Tables keyed by name are WITHOUT ROWID, so a lookup
-- by key reads one b-tree.
CREATE TABLE registered_models (
    name              TEXT PRIMARY KEY,
    description       TEXT NOT NULL DEFAULT '',
    user_id           TEXT NOT NULL DEFAULT '',
    creation_time     BIGINT NOT NULL,
    last_update_time  BIGINT NOT NULL,
    requires_approval INTEGER NOT NULL DEFAULT 0,
    -- JSON array of alias names that may point only at approved versions.
    protected_aliases TEXT NOT NULL DEFAULT '[]',
    -- The highest version number ever given: numbers are not reused after a delete (as in
    -- MLflow, whose deletes keep the row), and the UPDATE that bumps it locks the model.
    last_version      BIGINT NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE registered_model_tags (
    name  TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, key)
) WITHOUT ROWID;

CREATE TABLE model_versions (
    name             TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE,
    version          BIGINT NOT NULL,
    creation_time    BIGINT NOT NULL,
    last_update_time BIGINT NOT NULL,
    user_id          TEXT NOT NULL DEFAULT '',
    current_stage    TEXT NOT NULL DEFAULT 'None',
    description      TEXT NOT NULL DEFAULT '',
    source           TEXT NOT NULL,
    storage_location TEXT NOT NULL,
    -- storage_key is storage_location as an artifact-proxy key ("1/models/m-…/artifacts"),
    -- or '' when the files are elsewhere; the proxy refuses writes under approved keys.
    storage_key      TEXT NOT NULL DEFAULT '',
    run_id           TEXT NOT NULL DEFAULT '',
    run_link         TEXT NOT NULL DEFAULT '',
    model_id         TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT 'READY',
    status_message   TEXT NOT NULL DEFAULT '',
    approval         TEXT NOT NULL DEFAULT 'pending',
    PRIMARY KEY (name, version)
) WITHOUT ROWID;
CREATE INDEX model_versions_by_storage_key ON model_versions (storage_key);
CREATE INDEX model_versions_by_model_id ON model_versions (model_id);

CREATE TABLE model_version_tags (
    name    TEXT NOT NULL,
    version BIGINT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (name, version, key),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON UPDATE CASCADE
) WITHOUT ROWID;
CREATE INDEX model_version_tags_by_key ON model_version_tags (key, value);

CREATE TABLE registered_model_aliases (
    name    TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE,
    alias   TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (name, alias)
) WITHOUT ROWID;

-- Every approval decision, never updated or deleted (kept even if the model is renamed:
-- rows follow the name).
CREATE TABLE model_version_approvals (
    event_id INTEGER PRIMARY KEY,
    name     TEXT NOT NULL,
    version  BIGINT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    actor    TEXT NOT NULL,
    reason   TEXT NOT NULL,
    time     BIGINT NOT NULL
);
CREATE INDEX model_version_approvals_by_version ON model_version_approvals (name, version, event_id);
