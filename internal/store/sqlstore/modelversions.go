package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
)

// versionColumns are the columns of "model_versions mv" that scanVersion reads.
const versionColumns = `mv.name, mv.version, mv.creation_time, mv.last_update_time, mv.user_id, mv.current_stage,
	mv.description, mv.source, mv.storage_location, mv.run_id, mv.run_link, mv.model_id, mv.status,
	mv.status_message, mv.approval`

func scanVersion(r *sql.Rows) (core.ModelVersion, error) {
	var v core.ModelVersion
	err := r.Scan(&v.Name, &v.Version, &v.CreationTime, &v.LastUpdateTime, &v.UserID, &v.CurrentStage,
		&v.Description, &v.Source, &v.StorageLocation, &v.RunID, &v.RunLink, &v.ModelID, &v.Status,
		&v.StatusMessage, &v.Approval)
	return v, err
}

func versionNotFound(name string, version int64) error {
	return core.Errorf(core.ENOTFOUND, "Model Version (name=%s, version=%d) not found", name, version)
}

// allStages are MLflow's model version stages; names match case-insensitively.
var allStages = []string{core.StageNone, core.StageStaging, core.StageProduction, core.StageArchived}

func canonicalStage(stage string) (string, error) {
	for _, st := range allStages {
		if strings.EqualFold(st, stage) {
			return st, nil
		}
	}
	return "", core.Errorf(core.EINVALID, "Invalid Model Version stage: %s. Value must be one of %s.", stage, strings.Join(allStages, ", "))
}

func (s *Store) CreateModelVersion(ctx context.Context, mv core.ModelVersion) (core.ModelVersion, error) {
	if err := checkRegModelName("name", mv.Name); err != nil {
		return core.ModelVersion{}, err
	}
	if mv.Source == "" {
		return core.ModelVersion{}, core.Errorf(core.EINVALID, "Missing value for required parameter 'source'.")
	}
	mv.Tags = regDedupTags(mv.Tags)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := nowMillis()
		// Bumping the counter locks the model's row on PostgreSQL, so concurrent
		// registrations number their versions one after the other; SQLite has one writer.
		err := tx.QueryRowContext(ctx, s.q(`UPDATE registered_models SET last_version = last_version + 1,
			last_update_time = ? WHERE name = ? RETURNING last_version`), now, mv.Name).Scan(&mv.Version)
		if errors.Is(err, sql.ErrNoRows) {
			return regModelNotFound(mv.Name)
		}
		if err != nil {
			return err
		}
		if err := s.resolveSource(ctx, tx, &mv); err != nil {
			return err
		}
		mv.CreationTime, mv.LastUpdateTime = now, now
		mv.CurrentStage, mv.Status, mv.Approval = core.StageNone, core.ModelVersionReady, core.ApprovalPending
		mv.StatusMessage, mv.Aliases = "", nil
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO model_versions (name, version, creation_time, last_update_time,
			user_id, current_stage, description, source, storage_location, storage_key, run_id, run_link, model_id,
			status, status_message, approval) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)`),
			mv.Name, mv.Version, now, now, mv.UserID, mv.CurrentStage, mv.Description, mv.Source, mv.StorageLocation,
			storageKey(mv.StorageLocation), mv.RunID, mv.RunLink, mv.ModelID, mv.Status, mv.Approval)
		if err != nil {
			return err
		}
		for _, t := range mv.Tags {
			if err := s.upsertVersionTag(ctx, tx, mv.Name, mv.Version, t); err != nil {
				return err
			}
		}
		if len(mv.Tags) == 0 {
			return nil
		}
		return s.refreshVersionTags(ctx, tx, mv.Name, mv.Version)
	})
	if err != nil {
		return core.ModelVersion{}, err
	}
	regSortTags(mv.Tags)
	return mv, nil
}

func (s *Store) GetModelVersion(ctx context.Context, name string, version int64) (core.ModelVersion, error) {
	return s.getVersion(ctx, s.rdb, name, version)
}

func (s *Store) getVersion(ctx context.Context, db regDB, name string, version int64) (core.ModelVersion, error) {
	mvs, err := s.queryVersions(ctx, db, `SELECT `+versionColumns+` FROM model_versions mv WHERE mv.name = ? AND mv.version = ?`, name, version)
	if err != nil {
		return core.ModelVersion{}, err
	}
	if len(mvs) == 0 {
		return core.ModelVersion{}, versionNotFound(name, version)
	}
	return mvs[0], nil
}

// lockVersion checks that a version exists and returns its approval status and the
// model's approval policy; on PostgreSQL both rows stay locked until the transaction ends.
func (s *Store) lockVersion(ctx context.Context, tx *sql.Tx, name string, version int64) (string, regPolicy, error) {
	p, err := s.lockRegModel(ctx, tx, name)
	if core.ErrorCode(err) == core.ENOTFOUND {
		return "", p, versionNotFound(name, version)
	}
	if err != nil {
		return "", p, err
	}
	var approval string
	err = tx.QueryRowContext(ctx, s.q(`SELECT approval FROM model_versions WHERE name = ? AND version = ?`+s.forUpdate()),
		name, version).Scan(&approval)
	if errors.Is(err, sql.ErrNoRows) {
		return "", p, versionNotFound(name, version)
	}
	return approval, p, err
}

func (s *Store) UpdateModelVersion(ctx context.Context, name string, version int64, description string) (core.ModelVersion, error) {
	var out core.ModelVersion
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE model_versions SET description = ?, last_update_time = ? WHERE name = ? AND version = ?`),
			description, nowMillis(), name, version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return versionNotFound(name, version)
		}
		out, err = s.getVersion(ctx, tx, name, version)
		return err
	})
	if err != nil {
		return core.ModelVersion{}, err
	}
	return out, nil
}

func (s *Store) TransitionModelVersionStage(ctx context.Context, name string, version int64, stage string, archiveExisting bool) (core.ModelVersion, error) {
	canon, err := canonicalStage(stage)
	if err != nil {
		return core.ModelVersion{}, err
	}
	if archiveExisting && canon != core.StageStaging && canon != core.StageProduction {
		return core.ModelVersion{}, core.Errorf(core.EINVALID, "Model version transition cannot archive existing model versions "+
			"because '%s' is not an Active stage. Valid stages are ['Staging', 'Production']", stage)
	}
	var out core.ModelVersion
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, _, err := s.lockVersion(ctx, tx, name, version); err != nil {
			return err
		}
		now := nowMillis()
		if archiveExisting {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE model_versions SET current_stage = ?, last_update_time = ?
				WHERE name = ? AND version <> ? AND current_stage = ?`), core.StageArchived, now, name, version, canon); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE model_versions SET current_stage = ?, last_update_time = ? WHERE name = ? AND version = ?`),
			canon, now, name, version); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE registered_models SET last_update_time = ? WHERE name = ?`), now, name); err != nil {
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

// DeleteModelVersion removes a version with its tags and the aliases that point at it.
// Its number is not given again, and its approval history stays. An approved version
// is kept: reject it first.
func (s *Store) DeleteModelVersion(ctx context.Context, name string, version int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		approval, _, err := s.lockVersion(ctx, tx, name, version)
		if err != nil {
			return err
		}
		if approval == core.ApprovalApproved {
			return core.Errorf(core.ECONFLICT, "Model Version (name=%s, version=%d) is approved; reject it first", name, version)
		}
		for _, table := range []string{"registered_model_aliases", "model_version_tags", "model_versions"} {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE name = ? AND version = ?`), name, version); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE registered_models SET last_update_time = ? WHERE name = ?`), nowMillis(), name)
		return err
	})
}

func (s *Store) SetModelVersionTag(ctx context.Context, name string, version int64, tag core.Tag) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, _, err := s.lockVersion(ctx, tx, name, version); err != nil {
			return err
		}
		if err := s.upsertVersionTag(ctx, tx, name, version, tag); err != nil {
			return err
		}
		return s.refreshVersionTags(ctx, tx, name, version)
	})
}

func (s *Store) upsertVersionTag(ctx context.Context, tx *sql.Tx, name string, version int64, t core.Tag) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?)
		ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value`), name, version, t.Key, t.Value)
	return err
}

// DeleteModelVersionTag removes a tag; a missing tag is not an error (as in MLflow).
func (s *Store) DeleteModelVersionTag(ctx context.Context, name string, version int64, key string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, _, err := s.lockVersion(ctx, tx, name, version); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?`),
			name, version, key); err != nil {
			return err
		}
		return s.refreshVersionTags(ctx, tx, name, version)
	})
}

// refreshVersionTags writes a version's tags, as they are now in model_version_tags,
// to its row's tags column: a JSON array of [key, value] pairs sorted by key, which a
// search reads with the row instead of querying the tag table again. Every write of a
// version's tags calls it in the same transaction.
func (s *Store) refreshVersionTags(ctx context.Context, tx *sql.Tx, name string, version int64) error {
	var pairs [][2]string
	err := regEachRow(ctx, tx, s.q(`SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?`),
		[]any{name, version}, func(r *sql.Rows) error {
			var p [2]string
			err := r.Scan(&p[0], &p[1])
			pairs = append(pairs, p)
			return err
		})
	if err != nil {
		return err
	}
	slices.SortFunc(pairs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	body := []byte("[]")
	if len(pairs) > 0 {
		if body, err = json.Marshal(pairs); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, s.q(`UPDATE model_versions SET tags = ? WHERE name = ? AND version = ?`), string(body), name, version)
	return err
}

// decodeVersionTags reads a tags column (see refreshVersionTags), sorted by key. It
// is on the search path for every version of a page, so it parses the one shape the
// column holds by hand (encoding/json took a third of a 2,000-version search).
func decodeVersionTags(text string) ([]core.Tag, error) {
	p := tagsParser{s: text}
	tags, err := p.pairs()
	if err != nil {
		return nil, fmt.Errorf("model_versions.tags %.60q: %w", text, err)
	}
	if !slices.IsSortedFunc(tags, func(a, b core.Tag) int { return strings.Compare(a.Key, b.Key) }) {
		regSortTags(tags) // written by a migration, in the database's order
	}
	return tags, nil
}

// tagsParser reads a JSON array of [key, value] string pairs.
type tagsParser struct {
	s string
	i int
}

func (p *tagsParser) pairs() ([]core.Tag, error) {
	if err := p.expect('['); err != nil {
		return nil, err
	}
	var tags []core.Tag
	if p.skip(']') {
		return tags, p.end()
	}
	for {
		var t core.Tag
		var err error
		if err = p.expect('['); err == nil {
			if t.Key, err = p.str(); err == nil {
				if err = p.expect(','); err == nil {
					if t.Value, err = p.str(); err == nil {
						err = p.expect(']')
					}
				}
			}
		}
		if err != nil {
			return nil, err
		}
		tags = append(tags, t)
		if p.skip(',') {
			continue
		}
		if err := p.expect(']'); err != nil {
			return nil, err
		}
		return tags, p.end()
	}
}

func (p *tagsParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t' || p.s[p.i] == '\r') {
		p.i++
	}
}

// skip consumes c (after spaces) if it is next.
func (p *tagsParser) skip(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *tagsParser) expect(c byte) error {
	if !p.skip(c) {
		return fmt.Errorf("want %q at byte %d", c, p.i)
	}
	return nil
}

func (p *tagsParser) end() error {
	p.space()
	if p.i != len(p.s) {
		return fmt.Errorf("text after the array at byte %d", p.i)
	}
	return nil
}

// str reads a JSON string: a slice of the text when it has no escapes.
func (p *tagsParser) str() (string, error) {
	if err := p.expect('"'); err != nil {
		return "", err
	}
	start, escaped := p.i, false
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '\\':
			escaped = true
			p.i += 2
			continue
		case '"':
			p.i++
			if !escaped {
				return p.s[start : p.i-1], nil
			}
			var out string
			if err := json.Unmarshal([]byte(p.s[start-1:p.i]), &out); err != nil {
				return "", err
			}
			return out, nil
		}
		p.i++
	}
	return "", errors.New("unterminated string")
}

func (s *Store) GetLatestVersions(ctx context.Context, name string, stages []string) ([]core.ModelVersion, error) {
	return s.latestIn(ctx, s.rdb, name, stages)
}

// latestIn returns the newest version in each of stages (every stage when empty) of a
// model, ordered by version.
func (s *Store) latestIn(ctx context.Context, db regDB, name string, stages []string) ([]core.ModelVersion, error) {
	want := map[string]bool{}
	for _, st := range stages {
		canon, err := canonicalStage(st)
		if err != nil {
			return nil, err
		}
		want[canon] = true
	}
	var one int
	err := db.QueryRowContext(ctx, s.q(`SELECT 1 FROM registered_models WHERE name = ?`), name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, regModelNotFound(name)
	}
	if err != nil {
		return nil, err
	}
	latest, err := s.latestVersions(ctx, db, []string{name})
	if err != nil {
		return nil, err
	}
	out := []core.ModelVersion{}
	for _, mv := range latest {
		if len(want) == 0 || want[mv.CurrentStage] {
			out = append(out, mv)
		}
	}
	return out, nil
}

// latestVersions returns the newest version in each stage of the named models, ordered
// by name and version, with their details.
func (s *Store) latestVersions(ctx context.Context, db regDB, names []string) ([]core.ModelVersion, error) {
	ph, args := regInList(names)
	return s.queryVersions(ctx, db, `SELECT `+versionColumns+` FROM (
		SELECT m.*, ROW_NUMBER() OVER (PARTITION BY m.name, m.current_stage ORDER BY m.version DESC) AS rn
		FROM model_versions m WHERE m.name IN (`+ph+`)) mv
		WHERE mv.rn = 1 ORDER BY mv.name, mv.version`, args...)
}

// queryVersions runs query (which selects versionColumns) and loads the tags and
// aliases of the versions it returns, a few queries for the whole page.
func (s *Store) queryVersions(ctx context.Context, db regDB, query string, args ...any) ([]core.ModelVersion, error) {
	mvs, err := s.scanVersions(ctx, db, query, args)
	if err != nil {
		return nil, err
	}
	if err := s.loadVersionDetails(ctx, db, mvs, false); err != nil {
		return nil, err
	}
	return mvs, nil
}

func (s *Store) scanVersions(ctx context.Context, db regDB, query string, args []any) ([]core.ModelVersion, error) {
	var mvs []core.ModelVersion
	err := regEachRow(ctx, db, s.q(query), args, func(r *sql.Rows) error {
		mv, err := scanVersion(r)
		mvs = append(mvs, mv)
		return err
	})
	return mvs, err
}

type versionKey struct {
	name    string
	version int64
}

// loadVersionDetails fills Aliases and, unless the caller already has them, Tags. Tags
// are looked up by primary key with "(name, version) IN (VALUES …)", in chunks; it plans
// far better than a long OR.
func (s *Store) loadVersionDetails(ctx context.Context, db regDB, mvs []core.ModelVersion, haveTags bool) error {
	if len(mvs) == 0 {
		return nil
	}
	index := make(map[versionKey]int, len(mvs))
	var names []string
	listed := map[string]bool{}
	for i, mv := range mvs {
		if !listed[mv.Name] {
			listed[mv.Name] = true
			names = append(names, mv.Name)
		}
		index[versionKey{mv.Name, mv.Version}] = i
	}
	for _, chunk := range regChunks(mvs, maxInList) {
		if haveTags {
			break
		}
		args := make([]any, 0, 2*len(chunk))
		for _, mv := range chunk {
			args = append(args, mv.Name, mv.Version)
		}
		values := strings.Repeat("(?, CAST(? AS BIGINT)), ", len(chunk))
		err := regEachRow(ctx, db, s.q(`SELECT name, version, key, value FROM model_version_tags
			WHERE (name, version) IN (VALUES `+values[:len(values)-2]+`) ORDER BY name, version, key`), args,
			func(r *sql.Rows) error {
				var k versionKey
				var t core.Tag
				if err := r.Scan(&k.name, &k.version, &t.Key, &t.Value); err != nil {
					return err
				}
				if i, ok := index[k]; ok {
					mvs[i].Tags = append(mvs[i].Tags, t)
				}
				return nil
			})
		if err != nil {
			return err
		}
	}
	for _, chunk := range regChunks(names, maxInList) {
		ph, args := regInList(chunk)
		if err := regEachRow(ctx, db, s.q(`SELECT name, version, alias FROM registered_model_aliases WHERE name IN (`+ph+`) ORDER BY alias`), args,
			func(r *sql.Rows) error {
				var k versionKey
				var alias string
				if err := r.Scan(&k.name, &k.version, &alias); err != nil {
					return err
				}
				if i, ok := index[k]; ok {
					mvs[i].Aliases = append(mvs[i].Aliases, alias)
				}
				return nil
			}); err != nil {
			return err
		}
	}
	return nil
}

func regSortTags(tags []core.Tag) {
	slices.SortFunc(tags, func(a, b core.Tag) int { return strings.Compare(a.Key, b.Key) })
}
