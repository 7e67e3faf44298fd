package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode"

	"github.com/plinth-ml/plinth/internal/blob"
	"github.com/plinth-ml/plinth/internal/core"
)

// Aliases, and Plinth's approvals: a version is pending, approved or rejected; a model
// that requires approval lets its protected aliases point only at approved versions.

// checkAliasName applies MLflow's rules for a new alias (_validate_model_alias_name and
// _validate_model_alias_name_reserved).
func checkAliasName(alias string) error {
	if alias == "" {
		return core.Errorf(core.EINVALID, "Registered model alias name cannot be empty.")
	}
	for _, r := range alias {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' {
			return core.Errorf(core.EINVALID, "Invalid alias name: '%s'. Names may only contain alphanumerics, underscores (_), and dashes (-).", alias)
		}
	}
	if len(alias) > 255 {
		return core.Errorf(core.EINVALID, "Registered model alias name '%s' had length %d, which exceeded length limit of 255", alias, len(alias))
	}
	if strings.EqualFold(alias, "latest") {
		return core.Errorf(core.EINVALID, "'latest' alias name (case insensitive) is reserved.")
	}
	if len(alias) > 1 && (alias[0] == 'v' || alias[0] == 'V') && regIsDigits(alias[1:]) {
		return core.Errorf(core.EINVALID, "Version alias name '%s' is reserved.", alias)
	}
	return nil
}

func (s *Store) SetRegisteredModelAlias(ctx context.Context, name, alias string, version int64) error {
	if err := checkAliasName(alias); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		approval, policy, err := s.lockVersion(ctx, tx, name, version)
		if err != nil {
			return err
		}
		if policy.protects(alias) && approval != core.ApprovalApproved {
			return core.Errorf(core.ECONFLICT, "Alias '%s' of registered model '%s' is protected: it may only point at an approved version, "+
				"and version %d is %s. Approve the version first.", alias, name, version, approval)
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO registered_model_aliases (name, alias, version) VALUES (?, ?, ?)
			ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version`), name, alias, version)
		return err
	})
}

// DeleteRegisteredModelAlias removes an alias; a missing alias is not an error (as in MLflow).
func (s *Store) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockRegModel(ctx, tx, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?`), name, alias)
		return err
	})
}

func (s *Store) GetModelVersionByAlias(ctx context.Context, name, alias string) (core.ModelVersion, error) {
	return s.versionByAlias(ctx, s.rdb, name, alias)
}

// versionByAlias resolves an alias; "latest" (any case) is the highest version.
func (s *Store) versionByAlias(ctx context.Context, db regDB, name, alias string) (core.ModelVersion, error) {
	if strings.EqualFold(alias, "latest") {
		latest, err := s.latestIn(ctx, db, name, nil)
		if err != nil {
			return core.ModelVersion{}, err
		}
		if len(latest) == 0 {
			return core.ModelVersion{}, core.Errorf(core.ENOTFOUND, "Latest version not found for model %s.", name)
		}
		return latest[len(latest)-1], nil
	}
	var version sql.NullInt64
	err := db.QueryRowContext(ctx, s.q(`SELECT a.version FROM registered_models rm
		LEFT JOIN registered_model_aliases a ON a.name = rm.name AND a.alias = ? WHERE rm.name = ?`), alias, name).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return core.ModelVersion{}, regModelNotFound(name)
	}
	if err != nil {
		return core.ModelVersion{}, err
	}
	if !version.Valid {
		return core.ModelVersion{}, core.Errorf(core.ENOTFOUND, "Registered model alias %s not found.", alias)
	}
	return s.getVersion(ctx, db, name, version.Int64)
}

func (s *Store) SetApproval(ctx context.Context, name string, version int64, to, actor, reason string) (core.ModelVersion, error) {
	if to != core.ApprovalApproved && to != core.ApprovalRejected {
		return core.ModelVersion{}, core.Errorf(core.EINVALID, "Invalid approval status '%s': it must be '%s' or '%s'",
			to, core.ApprovalApproved, core.ApprovalRejected)
	}
	if strings.TrimSpace(reason) == "" {
		return core.ModelVersion{}, core.Errorf(core.EINVALID, "A reason is required to %s a model version", verbOf(to))
	}
	if actor == "" {
		actor = core.ActorFrom(ctx)
	}
	var out core.ModelVersion
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		from, policy, err := s.lockVersion(ctx, tx, name, version)
		if err != nil {
			return err
		}
		if from == to {
			return core.Errorf(core.ECONFLICT, "version %d of '%s' is already %s", version, name, to)
		}
		if to == core.ApprovalRejected {
			if alias, err := s.protectedAliasAt(ctx, tx, name, version, policy); err != nil {
				return err
			} else if alias != "" {
				return core.Errorf(core.ECONFLICT, "Cannot reject version %d of '%s': the protected alias '%s' points at it. "+
					"Move the alias to an approved version first.", version, name, alias)
			}
		}
		now := nowMillis()
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO model_version_approvals
			(name, version, from_status, to_status, actor, reason, time) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			name, version, from, to, actor, reason, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE model_versions SET approval = ?, last_update_time = ? WHERE name = ? AND version = ?`),
			to, now, name, version); err != nil {
			return err
		}
		out, err = s.getVersion(ctx, tx, name, version)
		return err
	})
	if err != nil {
		return core.ModelVersion{}, err
	}
	return out, nil
}

func verbOf(status string) string {
	if status == core.ApprovalRejected {
		return "reject"
	}
	return "approve"
}

// protectedAliasAt returns a protected alias that points at the version, or "".
func (s *Store) protectedAliasAt(ctx context.Context, tx *sql.Tx, name string, version int64, p regPolicy) (string, error) {
	found := ""
	err := regEachRow(ctx, tx, s.q(`SELECT alias FROM registered_model_aliases WHERE name = ? AND version = ? ORDER BY alias`),
		[]any{name, version}, func(r *sql.Rows) error {
			var alias string
			if err := r.Scan(&alias); err != nil {
				return err
			}
			if found == "" && p.protects(alias) {
				found = alias
			}
			return nil
		})
	return found, err
}

func (s *Store) ListApprovals(ctx context.Context, name string, version int64) ([]core.ApprovalEvent, error) {
	var one int
	err := s.rdb.QueryRowContext(ctx, s.q(`SELECT 1 FROM model_versions WHERE name = ? AND version = ?`), name, version).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, versionNotFound(name, version)
	}
	if err != nil {
		return nil, err
	}
	events := []core.ApprovalEvent{}
	err = regEachRow(ctx, s.rdb, s.q(`SELECT from_status, to_status, actor, reason, time FROM model_version_approvals
		WHERE name = ? AND version = ? ORDER BY event_id`), []any{name, version}, func(r *sql.Rows) error {
		e := core.ApprovalEvent{Name: name, Version: version}
		if err := r.Scan(&e.From, &e.To, &e.Actor, &e.Reason, &e.Time); err != nil {
			return err
		}
		events = append(events, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}

func (s *Store) SetApprovalPolicy(ctx context.Context, name string, requires bool, protected []string) (core.RegisteredModel, error) {
	aliases := []string{}
	for _, a := range protected {
		if a == "" {
			return core.RegisteredModel{}, core.Errorf(core.EINVALID, "Registered model alias name cannot be empty.")
		}
		if !slices.Contains(aliases, a) {
			aliases = append(aliases, a)
		}
	}
	raw, err := json.Marshal(aliases)
	if err != nil {
		return core.RegisteredModel{}, err
	}
	policy := regPolicy{requires: requires, protected: aliases}
	var out core.RegisteredModel
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockRegModel(ctx, tx, name); err != nil {
			return err
		}
		if requires {
			var bad error
			err := regEachRow(ctx, tx, s.q(`SELECT a.alias, a.version, mv.approval FROM registered_model_aliases a
				JOIN model_versions mv ON mv.name = a.name AND mv.version = a.version
				WHERE a.name = ? ORDER BY a.alias`), []any{name}, func(r *sql.Rows) error {
				var alias, approval string
				var version int64
				if err := r.Scan(&alias, &version, &approval); err != nil {
					return err
				}
				if bad == nil && policy.protects(alias) && approval != core.ApprovalApproved {
					bad = core.Errorf(core.ECONFLICT, "Cannot require approval for '%s': the protected alias '%s' points at version %d, "+
						"which is %s. Approve that version or move the alias first.", name, alias, version, approval)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if bad != nil {
				return bad
			}
		}
		flag := 0
		if requires {
			flag = 1
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE registered_models SET requires_approval = ?, protected_aliases = ?,
			last_update_time = ? WHERE name = ?`), flag, string(raw), nowMillis(), name); err != nil {
			return err
		}
		out, err = s.getRegModel(ctx, tx, name)
		return err
	})
	if err != nil {
		return core.RegisteredModel{}, err
	}
	return out, nil
}

// ApprovedVersionAt looks for an approved version whose storage key is the key itself,
// one of its ancestor folders ("a/b/c" → "a", "a/b", "a/b/c"), or lies under it (so that
// deleting a whole folder cannot remove an approved model's files either).
func (s *Store) ApprovedVersionAt(ctx context.Context, key string) (core.ModelVersion, bool, error) {
	key, err := blob.CleanKey(key)
	if err != nil {
		return core.ModelVersion{}, false, err
	}
	type query struct {
		cond string
		args []any
	}
	var queries []query
	if key == "" {
		queries = append(queries, query{`storage_key <> ''`, nil})
	} else {
		segs := strings.Split(key, "/")
		var prefixes []any
		for i := range segs {
			prefixes = append(prefixes, strings.Join(segs[:i+1], "/"))
		}
		queries = append(queries,
			query{`storage_key IN (` + placeholders(len(segs)) + `)`, prefixes},
			// Keys under key+"/" sort between it and key+"0" ('0' follows '/'), in byte order.
			query{`storage_key > ? AND storage_key < ?`, []any{key + "/", key + "0"}})
	}
	var found versionKey
	ok := false
	for _, q := range queries {
		err := s.rdb.QueryRowContext(ctx, s.q(`SELECT name, version FROM model_versions WHERE `+q.cond+
			` AND approval = ? ORDER BY name, version LIMIT 1`), append(q.args, core.ApprovalApproved)...).
			Scan(&found.name, &found.version)
		if err == nil {
			ok = true
			break
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return core.ModelVersion{}, false, err
		}
	}
	if !ok {
		return core.ModelVersion{}, false, nil
	}
	mv, err := s.getVersion(ctx, s.rdb, found.name, found.version)
	if core.ErrorCode(err) == core.ENOTFOUND {
		// Deleted between the two reads (it was rejected first): nothing protects the key.
		return core.ModelVersion{}, false, nil
	}
	return mv, err == nil, err
}
