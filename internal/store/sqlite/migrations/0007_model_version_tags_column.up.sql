-- Each version's tags also live on its row, as a JSON array of [key, value] pairs
-- (model_version_tags stays the source of truth, and what filters use): a search
-- reads a page of versions with their tags in one query. Writes keep both in step.
ALTER TABLE model_versions ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

UPDATE model_versions SET tags = COALESCE((
    SELECT json_group_array(json_array(t.key, t.value))
    FROM (SELECT key, value FROM model_version_tags x
          WHERE x.name = model_versions.name AND x.version = model_versions.version
          ORDER BY key) t), '[]')
WHERE EXISTS (SELECT 1 FROM model_version_tags x
              WHERE x.name = model_versions.name AND x.version = model_versions.version);
