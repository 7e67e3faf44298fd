package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
)

// modelsURI is a parsed "models:/…" URI (MLflow's _parse_model_uri): exactly one of
// modelID, version, alias or stage is set, or none for the latest version of name.
type modelsURI struct {
	modelID, name, version, alias, stage string
}

func improperModelsURI(uri string) error {
	return core.Errorf(core.EINVALID, "Not a proper models:/ URI: %s. Models URIs must be of the form 'models:/name/suffix' "+
		"or 'models:/name@alias' where suffix is a version, stage, or the string 'latest' and where alias is a "+
		"registered model alias. Only one of suffix or alias can be defined at a time.", uri)
}

// cutScheme returns what follows "<scheme>:" (case-insensitively, as URL schemes go).
func cutScheme(uri, scheme string) (string, bool) {
	if len(uri) > len(scheme) && strings.EqualFold(uri[:len(scheme)], scheme) && uri[len(scheme)] == ':' {
		return uri[len(scheme)+1:], true
	}
	return "", false
}

// uriPath drops the "//authority" of a URI's remainder, leaving its path.
func uriPath(rest string) string {
	if !strings.HasPrefix(rest, "//") {
		return rest
	}
	rest = rest[2:]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return ""
}

func parseModelsURI(uri string) (modelsURI, error) {
	rest, _ := cutScheme(uri, "models")
	path := uriPath(rest)
	if !strings.HasPrefix(path, "/") || len(path) <= 1 {
		return modelsURI{}, improperModelsURI(uri)
	}
	parts := strings.Split(strings.TrimLeft(path, "/"), "/")
	if len(parts) > 2 || strings.TrimSpace(parts[0]) == "" {
		return modelsURI{}, improperModelsURI(uri)
	}
	if len(parts) == 2 {
		name, suffix := parts[0], parts[1]
		switch {
		case strings.TrimSpace(suffix) == "":
			return modelsURI{}, improperModelsURI(uri)
		case regIsDigits(suffix):
			return modelsURI{name: name, version: suffix}, nil
		case strings.EqualFold(suffix, "latest"):
			return modelsURI{name: name}, nil
		default:
			return modelsURI{name: name, stage: suffix}, nil
		}
	}
	if i := strings.LastIndexByte(parts[0], '@'); i >= 0 {
		if strings.TrimSpace(parts[0][i+1:]) == "" {
			return modelsURI{}, improperModelsURI(uri)
		}
		return modelsURI{name: parts[0][:i], alias: parts[0][i+1:]}, nil
	}
	return modelsURI{modelID: parts[0]}, nil
}

func regIsDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// resolveSource fills StorageLocation (and RunID, ModelID where the source names them)
// from mv.Source, and checks that an explicitly given run and logged model exist.
func (s *Store) resolveSource(ctx context.Context, tx *sql.Tx, mv *core.ModelVersion) error {
	explicitRun, explicitModel := mv.RunID, mv.ModelID
	mv.StorageLocation = mv.Source
	if _, ok := cutScheme(mv.Source, "models"); ok {
		u, err := parseModelsURI(mv.Source)
		if err != nil {
			return err
		}
		if u.modelID != "" {
			if mv.ModelID != "" && mv.ModelID != u.modelID {
				return core.Errorf(core.EINVALID, "model_id '%s' does not match the source '%s'", mv.ModelID, mv.Source)
			}
			loc, runID, err := s.loggedModelLocation(ctx, tx, u.modelID)
			if err != nil {
				return err
			}
			mv.StorageLocation, mv.ModelID, explicitModel = loc, u.modelID, ""
			if mv.RunID == "" {
				mv.RunID = runID
			}
		} else {
			src, err := s.versionFromURI(ctx, tx, u)
			if err != nil {
				return core.Errorf(core.ErrorCode(err), "Unable to fetch model from model URI source artifact location '%s'. Error: %s",
					mv.Source, core.ErrorMessage(err))
			}
			mv.StorageLocation = src.StorageLocation
			if mv.ModelID == "" {
				mv.ModelID = src.ModelID
			}
		}
	} else if rest, ok := cutScheme(mv.Source, "runs"); ok {
		runID, path, _ := strings.Cut(strings.TrimLeft(uriPath(rest), "/"), "/")
		if runID == "" {
			return core.Errorf(core.EINVALID, "Not a proper runs:/ URI: %s. Runs URIs must be of the form 'runs:/<run_id>/run-relative/path/to/artifact'", mv.Source)
		}
		var uri string
		err := tx.QueryRowContext(ctx, s.q(`SELECT artifact_uri FROM runs WHERE run_id = ?`), runID).Scan(&uri)
		if errors.Is(err, sql.ErrNoRows) {
			return core.Errorf(core.ENOTFOUND, "Run with id=%s not found", runID)
		}
		if err != nil {
			return err
		}
		mv.StorageLocation = uri
		if path = strings.Trim(path, "/"); path != "" {
			mv.StorageLocation = strings.TrimSuffix(uri, "/") + "/" + path
		}
		if mv.RunID == "" {
			mv.RunID = runID
		}
	}
	if explicitModel != "" {
		_, runID, err := s.loggedModelLocation(ctx, tx, explicitModel)
		if err != nil {
			return err
		}
		if mv.RunID == "" {
			mv.RunID = runID
		}
	}
	if explicitRun != "" {
		var one int
		err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM runs WHERE run_id = ?`), explicitRun).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return core.Errorf(core.ENOTFOUND, "Run with id=%s not found", explicitRun)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// loggedModelLocation returns an active logged model's artifact URI and source run.
func (s *Store) loggedModelLocation(ctx context.Context, tx *sql.Tx, id string) (string, string, error) {
	var uri, runID, stage string
	err := tx.QueryRowContext(ctx, s.q(`SELECT artifact_uri, source_run_id, lifecycle_stage FROM logged_models WHERE model_id = ?`), id).
		Scan(&uri, &runID, &stage)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && stage != core.LifecycleActive) {
		return "", "", core.Errorf(core.ENOTFOUND, "Logged model with ID '%s' not found.", id)
	}
	return uri, runID, err
}

// versionFromURI finds the version a "models:/<name>/…" or "models:/<name>@<alias>" URI names.
func (s *Store) versionFromURI(ctx context.Context, tx *sql.Tx, u modelsURI) (core.ModelVersion, error) {
	switch {
	case u.version != "":
		v, err := strconv.ParseInt(u.version, 10, 64)
		if err != nil {
			return core.ModelVersion{}, core.Errorf(core.ENOTFOUND, "Model Version (name=%s, version=%s) not found", u.name, u.version)
		}
		return s.getVersion(ctx, tx, u.name, v)
	case u.alias != "":
		return s.versionByAlias(ctx, tx, u.name, u.alias)
	}
	var stages []string
	if u.stage != "" {
		stages = []string{u.stage}
	}
	latest, err := s.latestIn(ctx, tx, u.name, stages)
	if err != nil {
		return core.ModelVersion{}, err
	}
	if len(latest) == 0 {
		if u.stage != "" {
			return core.ModelVersion{}, core.Errorf(core.ENOTFOUND, "No versions of model with name '%s' and stage '%s' found", u.name, u.stage)
		}
		return core.ModelVersion{}, core.Errorf(core.ENOTFOUND, "No versions of model with name '%s' found", u.name)
	}
	return latest[len(latest)-1], nil
}

// storageKey is a storage location as an artifact-proxy key: the path of an
// "mlflow-artifacts:" URI ("mlflow-artifacts:/1/models/m-x/artifacts" → "1/models/m-x/artifacts",
// "mlflow-artifacts://host:port/1/…" → "1/…"), or "" for files stored elsewhere.
func storageKey(location string) string {
	rest, ok := strings.CutPrefix(location, "mlflow-artifacts:")
	if !ok {
		return ""
	}
	key, err := blob.CleanKey(strings.TrimLeft(uriPath(rest), "/"))
	if err != nil {
		return ""
	}
	return key
}
