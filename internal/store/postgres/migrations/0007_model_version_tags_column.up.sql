-- Each version's tags also live on its row, as a JSON array of [key, value] pairs
-- (model_version_tags stays the source of truth, and what filters use): a search
-- reads a page of versions with their tags in one query. Writes keep both in step.
ALTER TABLE model_versions ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

UPDATE model_versions mv SET tags = t.tags
FROM (SELECT name, version, json_agg(json_build_array(key, value) ORDER BY key COLLATE "C")::text AS tags
      FROM model_version_tags GROUP BY name, version) t
WHERE t.name = mv.name AND t.version = mv.version;
