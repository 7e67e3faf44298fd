package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
)

// The model registry, after MLflow's SqlAlchemyStore for the registry
// (store/model_registry/sqlalchemy_store.py): registered models here, versions in
// modelversions.go, searches in registrysearch.go, aliases and approvals in approvals.go.

// regDB is what the registry's loaders need: a pool for reads, or the write transaction.
type regDB interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// promptTagKey marks a registered model (and its versions) as an MLflow prompt.
// Searches leave prompts out unless the filter asks for them, as MLflow does.
const promptTagKey = "mlflow.prompt.is_prompt"

// regModelColumns are the columns of "registered_models rm" that scanRegModel reads.
const regModelColumns = `rm.name, rm.description, rm.user_id, rm.creation_time, rm.last_update_time,
	rm.requires_approval, rm.protected_aliases`

func regModelNotFound(name string) error {
	return core.Errorf(core.ENOTFOUND, "Registered Model with name=%s not found", name)
}

// checkRegModelName rejects names no registered model can have (MLflow's _validate_model_name).
func checkRegModelName(field, name string) error {
	if strings.TrimSpace(name) == "" {
		return core.Errorf(core.EINVALID, "Missing value for required parameter '%s'.", field)
	}
	if strings.ContainsAny(name, "/:") {
		return core.Errorf(core.EINVALID, "Invalid model name '%s'. Names cannot contain '/' or ':'.", name)
	}
	return nil
}

func (s *Store) CreateRegisteredModel(ctx context.Context, m core.RegisteredModel) (core.RegisteredModel, error) {
	if err := checkRegModelName("name", m.Name); err != nil {
		return core.RegisteredModel{}, err
	}
	now := nowMillis()
	m.Tags = regDedupTags(m.Tags)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkRegModelNameFree(ctx, tx, m.Name, m.Tags); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO registered_models
			(name, description, user_id, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?)`),
			m.Name, m.Description, m.UserID, now, now)
		if err != nil {
			return s.regNameTaken(err, m.Name)
		}
		for _, t := range m.Tags {
			if err := s.upsertRegModelTag(ctx, tx, m.Name, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return core.RegisteredModel{}, err
	}
	return s.GetRegisteredModel(ctx, m.Name)
}

// checkRegModelNameFree fails when name is taken, with MLflow's wording for a clash
// between a model and a prompt (handle_resource_already_exist_error).
func (s *Store) checkRegModelNameFree(ctx context.Context, tx *sql.Tx, name string, newTags []core.Tag) error {
	var prompt sql.NullString
	err := tx.QueryRowContext(ctx, s.q(`SELECT t.value FROM registered_models rm
		LEFT JOIN registered_model_tags t ON t.name = rm.name AND t.key = ?
		WHERE rm.name = ?`), promptTagKey, name).Scan(&prompt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	oldEntity, newEntity := "Registered Model", "Registered Model"
	if strings.EqualFold(prompt.String, "true") {
		oldEntity = "Prompt"
	}
	for _, t := range newTags {
		if t.Key == promptTagKey && strings.EqualFold(t.Value, "true") {
			newEntity = "Prompt"
		}
	}
	if oldEntity != newEntity {
		return core.Errorf(core.EEXISTS, "Tried to create a %s with name '%s', but the name is already taken by a %s. "+
			"MLflow does not allow creating a model and a prompt with the same name.",
			strings.ToLower(newEntity), name, strings.ToLower(oldEntity))
	}
	return core.Errorf(core.EEXISTS, "%s (name=%s) already exists.", newEntity, name)
}

// regNameTaken turns a unique violation (a concurrent writer took the name after our
// check) into the error the caller would have got a moment later.
func (s *Store) regNameTaken(err error, name string) error {
	if err != nil && s.d.IsUniqueViolation != nil && s.d.IsUniqueViolation(err) {
		return core.Errorf(core.EEXISTS, "Registered Model (name=%s) already exists.", name)
	}
	return err
}

// dedupTags keeps the last value of each key, in first-seen order.
func regDedupTags(tags []core.Tag) []core.Tag {
	index := map[string]int{}
	var out []core.Tag
	for _, t := range tags {
		if i, ok := index[t.Key]; ok {
			out[i].Value = t.Value
			continue
		}
		index[t.Key] = len(out)
		out = append(out, t)
	}
	return out
}

func (s *Store) GetRegisteredModel(ctx context.Context, name string) (core.RegisteredModel, error) {
	return s.getRegModel(ctx, s.rdb, name)
}

func (s *Store) getRegModel(ctx context.Context, db regDB, name string) (core.RegisteredModel, error) {
	ms, err := s.queryRegModels(ctx, db, `SELECT `+regModelColumns+` FROM registered_models rm WHERE rm.name = ?`, name)
	if err != nil {
		return core.RegisteredModel{}, err
	}
	if len(ms) == 0 {
		return core.RegisteredModel{}, regModelNotFound(name)
	}
	return ms[0], nil
}

// regPolicy is a registered model's approval policy.
type regPolicy struct {
	requires  bool
	protected []string
}

func (p regPolicy) protects(alias string) bool {
	return p.requires && slices.Contains(p.protected, alias)
}

// lockRegModel checks that the model exists and returns its approval policy. On
// PostgreSQL the row stays locked until the transaction ends, so that writes to one
// model queue; every registry write locks the model before any of its versions.
func (s *Store) lockRegModel(ctx context.Context, tx *sql.Tx, name string) (regPolicy, error) {
	var p regPolicy
	var requires int
	var protected string
	err := tx.QueryRowContext(ctx, s.q(`SELECT requires_approval, protected_aliases FROM registered_models WHERE name = ?`+s.forUpdate()),
		name).Scan(&requires, &protected)
	if errors.Is(err, sql.ErrNoRows) {
		return p, regModelNotFound(name)
	}
	p.requires, p.protected = requires != 0, parseProtected(protected)
	return p, err
}

// forUpdate is the row-locking suffix of a SELECT; SQLite has one writer and needs none.
// NO KEY UPDATE still lets other transactions insert rows that reference the locked one.
func (s *Store) forUpdate() string {
	if s.d.Numbered {
		return " FOR NO KEY UPDATE"
	}
	return ""
}

func (s *Store) RenameRegisteredModel(ctx context.Context, name, newName string) (core.RegisteredModel, error) {
	if err := checkRegModelName("new_name", newName); err != nil {
		return core.RegisteredModel{}, err
	}
	var out core.RegisteredModel
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockRegModel(ctx, tx, name); err != nil {
			return err
		}
		if newName != name {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM registered_models WHERE name = ?`), newName).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return core.Errorf(core.EEXISTS, "Registered Model (name=%s) already exists.", newName)
			}
		}
		now := nowMillis()
		// Tags, versions (and through them version tags) and aliases follow by ON UPDATE
		// CASCADE; the approval history has no foreign key and is moved by hand.
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE registered_models SET name = ?, last_update_time = ? WHERE name = ?`),
			newName, now, name); err != nil {
			return s.regNameTaken(err, newName)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE model_versions SET last_update_time = ? WHERE name = ?`), now, newName); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE model_version_approvals SET name = ? WHERE name = ?`), newName, name); err != nil {
			return err
		}
		var err error
		out, err = s.getRegModel(ctx, tx, newName)
		return err
	})
	if err != nil {
		return core.RegisteredModel{}, err
	}
	return out, nil
}

func (s *Store) UpdateRegisteredModel(ctx context.Context, name, description string) (core.RegisteredModel, error) {
	var out core.RegisteredModel
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE registered_models SET description = ?, last_update_time = ? WHERE name = ?`),
			description, nowMillis(), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return regModelNotFound(name)
		}
		out, err = s.getRegModel(ctx, tx, name)
		return err
	})
	if err != nil {
		return core.RegisteredModel{}, err
	}
	return out, nil
}

// DeleteRegisteredModel removes the model with everything that hangs off it, including
// the approval history (a new model of the same name starts again at version 1). A model
// with an approved version is kept: its approval must be withdrawn (rejected) first.
func (s *Store) DeleteRegisteredModel(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockRegModel(ctx, tx, name); err != nil {
			return err
		}
		var approved int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM model_versions WHERE name = ? AND approval = ?`),
			name, core.ApprovalApproved).Scan(&approved); err != nil {
			return err
		}
		if approved > 0 {
			return core.Errorf(core.ECONFLICT, "Registered Model (name=%s) has approved versions; reject them first", name)
		}
		for _, table := range []string{"model_version_tags", "registered_model_aliases", "registered_model_tags",
			"model_versions", "model_version_approvals", "registered_models"} {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE name = ?`), name); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) SetRegisteredModelTag(ctx context.Context, name string, tag core.Tag) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockRegModel(ctx, tx, name); err != nil {
			return err
		}
		return s.upsertRegModelTag(ctx, tx, name, tag)
	})
}

func (s *Store) upsertRegModelTag(ctx context.Context, tx *sql.Tx, name string, t core.Tag) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)
		ON CONFLICT (name, key) DO UPDATE SET value = excluded.value`), name, t.Key, t.Value)
	return err
}

// DeleteRegisteredModelTag removes a tag; a missing tag is not an error (as in MLflow).
func (s *Store) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockRegModel(ctx, tx, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM registered_model_tags WHERE name = ? AND key = ?`), name, key)
		return err
	})
}

// queryRegModels runs query (which selects regModelColumns) and loads each model's
// tags, aliases and latest versions, a few queries for the whole page.
func (s *Store) queryRegModels(ctx context.Context, db regDB, query string, args ...any) ([]core.RegisteredModel, error) {
	rows, err := db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	var ms []core.RegisteredModel
	index := map[string]int{}
	for rows.Next() {
		var m core.RegisteredModel
		var requires int
		var protected string
		if err := rows.Scan(&m.Name, &m.Description, &m.UserID, &m.CreationTime, &m.LastUpdateTime, &requires, &protected); err != nil {
			rows.Close()
			return nil, err
		}
		m.RequiresApproval = requires != 0
		m.ProtectedAliases = parseProtected(protected)
		index[m.Name] = len(ms)
		ms = append(ms, m)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return ms, nil
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	for _, chunk := range regChunks(names, maxInList) {
		ph, args := regInList(chunk)
		if err := regEachRow(ctx, db, s.q(`SELECT name, key, value FROM registered_model_tags WHERE name IN (`+ph+`) ORDER BY name, key`), args,
			func(r *sql.Rows) error {
				var name string
				var t core.Tag
				if err := r.Scan(&name, &t.Key, &t.Value); err != nil {
					return err
				}
				m := &ms[index[name]]
				m.Tags = append(m.Tags, t)
				return nil
			}); err != nil {
			return nil, err
		}
		if err := regEachRow(ctx, db, s.q(`SELECT name, alias, version FROM registered_model_aliases WHERE name IN (`+ph+`) ORDER BY name, alias`), args,
			func(r *sql.Rows) error {
				var name string
				var a core.ModelAlias
				if err := r.Scan(&name, &a.Alias, &a.Version); err != nil {
					return err
				}
				m := &ms[index[name]]
				m.Aliases = append(m.Aliases, a)
				return nil
			}); err != nil {
			return nil, err
		}
		latest, err := s.latestVersions(ctx, db, chunk)
		if err != nil {
			return nil, err
		}
		for _, mv := range latest {
			m := &ms[index[mv.Name]]
			m.LatestVersions = append(m.LatestVersions, mv)
		}
	}
	return ms, nil
}

func parseProtected(raw string) []string {
	var out []string
	if err := json.Unmarshal([]byte(raw), &out); err != nil || len(out) == 0 {
		return nil
	}
	return out
}

// maxInList bounds the "?" marks of one IN list, well below SQLite's and PostgreSQL's limits.
const maxInList = 500

func regChunks[T any](all []T, n int) [][]T {
	var out [][]T
	for len(all) > n {
		out = append(out, all[:n])
		all = all[n:]
	}
	if len(all) > 0 {
		out = append(out, all)
	}
	return out
}

// inList returns the placeholders and arguments of an IN list of strings.
func regInList(vals []string) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return placeholders(len(vals)), args
}

// eachRow runs a query and calls fn on each row.
func regEachRow(ctx context.Context, db regDB, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
