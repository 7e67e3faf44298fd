package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

// Registry searches, as MLflow's search_registered_models and search_model_versions: a
// filter on attributes and tags, an ordering that always ends on the primary key, and
// offset page tokens. A tag filter becomes one grouped subquery on the tag table (driven
// by model_version_tags_by_key for versions) joined to the page's rows.

func (s *Store) SearchRegisteredModels(ctx context.Context, q store.RegistrySearch) ([]core.RegisteredModel, string, error) {
	offset, err := checkRegistryPage(q, store.MaxRegisteredModelSearchResults)
	if err != nil {
		return nil, "", err
	}
	f, err := s.compileRegistryFilter(q.Filter, false)
	if err != nil {
		return nil, "", err
	}
	order, err := regModelOrder(q.OrderBy)
	if err != nil {
		return nil, "", err
	}
	query := `SELECT ` + regModelColumns + ` FROM registered_models rm` + f.join("rm") + f.where() +
		` ORDER BY ` + order + ` LIMIT ? OFFSET ?`
	ms, err := s.queryRegModels(ctx, s.rdb, query, append(f.args, q.MaxResults+1, offset)...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ms) > q.MaxResults {
		ms, next = ms[:q.MaxResults], encodePageToken(offset+q.MaxResults)
	}
	return ms, next, nil
}

func (s *Store) SearchModelVersions(ctx context.Context, q store.RegistrySearch) ([]core.ModelVersion, string, error) {
	offset, err := checkRegistryPage(q, store.MaxModelVersionSearchResults)
	if err != nil {
		return nil, "", err
	}
	f, err := s.compileRegistryFilter(q.Filter, true)
	if err != nil {
		return nil, "", err
	}
	order, err := versionOrder(q.OrderBy)
	if err != nil {
		return nil, "", err
	}
	from := ` FROM model_versions mv` + f.join("mv") + f.where() + ` ORDER BY ` + order + ` LIMIT ? OFFSET ?`
	args := append(f.args, q.MaxResults+1, offset)
	// Each row carries its tags (the tags column), so the page is one query.
	var mvs []core.ModelVersion
	err = regEachRow(ctx, s.rdb, s.q(`SELECT `+versionColumns+`, mv.tags`+from), args, func(r *sql.Rows) error {
		var v core.ModelVersion
		var tags string
		if err := r.Scan(&v.Name, &v.Version, &v.CreationTime, &v.LastUpdateTime, &v.UserID, &v.CurrentStage,
			&v.Description, &v.Source, &v.StorageLocation, &v.RunID, &v.RunLink, &v.ModelID, &v.Status,
			&v.StatusMessage, &v.Approval, &tags); err != nil {
			return err
		}
		var err error
		v.Tags, err = decodeVersionTags(tags)
		mvs = append(mvs, v)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if err := s.loadVersionDetails(ctx, s.rdb, mvs, true); err != nil {
		return nil, "", err
	}
	next := ""
	if len(mvs) > q.MaxResults {
		mvs, next = mvs[:q.MaxResults], encodePageToken(offset+q.MaxResults)
	}
	return mvs, next, nil
}

func checkRegistryPage(q store.RegistrySearch, limit int) (int, error) {
	if q.MaxResults < 1 {
		return 0, core.Errorf(core.EINVALID, "Invalid value for max_results. It must be a positive integer, but got %d", q.MaxResults)
	}
	if q.MaxResults > limit {
		return 0, core.Errorf(core.EINVALID, "Invalid value for request parameter max_results. It must be at most %d, but got value %d",
			limit, q.MaxResults)
	}
	return decodePageToken(q.PageToken)
}

// registryFilter is a compiled filter: a tag subquery to join, which drives the search
// from the tag table's index, then WHERE conditions. Arguments are in SQL text order.
type registryFilter struct {
	tagQuery string // selects name (and version) of the rows whose tag matches one key's clauses
	versions bool
	conds    []string
	args     []any
}

func (f registryFilter) join(alias string) string {
	if f.tagQuery == "" {
		return ""
	}
	on := ` ON t.name = ` + alias + `.name`
	if f.versions {
		on += ` AND t.version = ` + alias + `.version`
	}
	return ` JOIN (` + f.tagQuery + `) t` + on
}

func (f registryFilter) where() string {
	if len(f.conds) == 0 {
		return ""
	}
	return ` WHERE ` + strings.Join(f.conds, " AND ")
}

// compileRegistryFilter compiles a registered-model (versions false) or model-version
// filter. Every tag key named must be present with a value matching all its clauses
// (as in MLflow). One key, preferably one compared with "=", drives the search through
// the tag table; the others are checked per row by primary key.
func (s *Store) compileRegistryFilter(filter search.Filter, versions bool) (registryFilter, error) {
	f := registryFilter{versions: versions}
	alias, tagTable, keyCols, rowMatch := "rm", "registered_model_tags", "name", "x.name = rm.name"
	if versions {
		alias, tagTable, keyCols, rowMatch = "mv", "model_version_tags", "name, version", "x.name = mv.name AND x.version = mv.version"
	}
	prompts := queriesPrompts(filter)
	var tagKeys []string
	tagClauses := map[string][]search.Comparison{}
	hasEq := map[string]bool{}
	var condArgs []any
	for _, c := range filter.Clauses {
		switch c.Entity {
		case search.Attribute:
			cond, args, err := s.registryAttrClause(alias, c, versions)
			if err != nil {
				return f, err
			}
			f.conds = append(f.conds, cond)
			condArgs = append(condArgs, args...)
		case search.Tag:
			switch c.Op {
			case search.OpEq, search.OpNe, search.OpLike, search.OpILike:
			default:
				return f, core.Errorf(core.EINVALID, "Invalid comparator for tag: %s", c.Op)
			}
			if c.Value.Kind != search.StringValue {
				return f, core.Errorf(core.EINVALID, "Invalid value for tag '%s': expected a string", c.Key)
			}
			if c.Key == promptTagKey && !prompts {
				continue // MLflow drops it and leaves prompts out instead
			}
			if _, ok := tagClauses[c.Key]; !ok {
				tagKeys = append(tagKeys, c.Key)
			}
			tagClauses[c.Key] = append(tagClauses[c.Key], c)
			hasEq[c.Key] = hasEq[c.Key] || c.Op == search.OpEq
		default:
			return f, core.Errorf(core.EINVALID, "Invalid token type: %s", c.Entity)
		}
	}
	if len(tagKeys) > 0 {
		driver := tagKeys[0]
		for _, k := range tagKeys {
			if hasEq[k] {
				driver = k
				break
			}
		}
		// GROUP BY keeps the subquery a table of its own, so that the planner starts from it.
		cond, args := s.tagValueConds("value", tagClauses[driver])
		f.tagQuery = `SELECT ` + keyCols + ` FROM ` + tagTable + ` WHERE key = ? AND ` + cond + ` GROUP BY ` + keyCols
		f.args = append(append(f.args, driver), args...)
		for _, k := range tagKeys {
			if k == driver {
				continue
			}
			cond, args := s.tagValueConds("x.value", tagClauses[k])
			f.conds = append(f.conds, `EXISTS (SELECT 1 FROM `+tagTable+` x WHERE `+rowMatch+` AND x.key = ? AND `+cond+`)`)
			condArgs = append(append(condArgs, k), args...)
		}
	}
	if !prompts {
		f.conds = append(f.conds, alias+`.name NOT IN (SELECT name FROM `+tagTable+` WHERE key = ? AND value = 'true')`)
		condArgs = append(condArgs, promptTagKey)
	}
	f.args = append(f.args, condArgs...)
	return f, nil
}

// tagValueConds compiles the clauses on one tag key against expr, the tag's value.
func (s *Store) tagValueConds(expr string, cs []search.Comparison) (string, []any) {
	var conds []string
	var args []any
	for _, c := range cs {
		cond, a := s.compare(expr, c)
		conds = append(conds, cond)
		args = append(args, a...)
	}
	return strings.Join(conds, " AND "), args
}

// queriesPrompts says whether a filter asks for prompts rather than models: its first
// clause on the prompt tag is "= 'true'" or "!= 'false'" (MLflow's _is_querying_prompt).
func queriesPrompts(filter search.Filter) bool {
	for _, c := range filter.Clauses {
		if c.Entity != search.Tag || c.Key != promptTagKey {
			continue
		}
		v := strings.ToLower(c.Value.Str)
		return (c.Op == search.OpEq && v == "true") || (c.Op == search.OpNe && v == "false")
	}
	return false
}

// registryAttrClause compiles one attribute comparison. Registered models filter on
// name only; versions also on version_number (numeric), run_id and source_path.
func (s *Store) registryAttrClause(alias string, c search.Comparison, versions bool) (string, []any, error) {
	col := ""
	switch c.Key {
	case search.RegAttrName:
		col = "name"
	case search.RegAttrRunID:
		col = "run_id"
	case search.RegAttrSourcePath:
		col = "source"
	case search.RegAttrVersion:
		col = "version"
	}
	if col == "" || (!versions && col != "name") {
		return "", nil, core.Errorf(core.EINVALID, "Invalid attribute name: %s", c.Key)
	}
	if col == "version" {
		return s.versionNumberClause(alias, c)
	}
	switch c.Op {
	case search.OpEq, search.OpNe, search.OpLike, search.OpILike:
		if c.Value.Kind != search.StringValue {
			return "", nil, core.Errorf(core.EINVALID, "Invalid value for attribute '%s': expected a string", c.Key)
		}
	case search.OpIn, search.OpNotIn:
		if col == "source" {
			return "", nil, core.Errorf(core.EINVALID, "Invalid comparator for attribute: %s", c.Op)
		}
		if c.Value.Kind != search.ListValue {
			return "", nil, core.Errorf(core.EINVALID, "Invalid value for attribute '%s': expected a list", c.Key)
		}
	default:
		return "", nil, core.Errorf(core.EINVALID, "Invalid comparator for attribute: %s", c.Op)
	}
	cond, args := s.compare(alias+"."+col, c)
	return cond, args, nil
}

// versionNumberClause compares version numbers; the value must be a whole number
// (a quoted one is accepted, as MLflow's int(value) does).
func (s *Store) versionNumberClause(alias string, c search.Comparison) (string, []any, error) {
	switch c.Op {
	case search.OpEq, search.OpNe, search.OpGt, search.OpGe, search.OpLt, search.OpLe:
	default:
		return "", nil, core.Errorf(core.EINVALID, "Invalid comparator for attribute %s: %s", c.Key, c.Op)
	}
	var n int64
	switch c.Value.Kind {
	case search.NumberValue:
		n = int64(c.Value.Num)
		if float64(n) != c.Value.Num {
			return "", nil, core.Errorf(core.EINVALID, "Invalid value for numeric attribute '%s': %v", c.Key, c.Value.Num)
		}
	case search.StringValue:
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(c.Value.Str), 10, 64); err != nil {
			return "", nil, core.Errorf(core.EINVALID, "Invalid value for numeric attribute '%s': '%s'", c.Key, c.Value.Str)
		}
	default:
		return "", nil, core.Errorf(core.EINVALID, "Invalid value for numeric attribute '%s': %v", c.Key, c.Value.List)
	}
	return alias + ".version " + c.Op + " ?", []any{n}, nil
}

// regModelOrder is MLflow's order for registered models: the given keys, then name.
func regModelOrder(obs []search.OrderBy) (string, error) {
	cols := map[string]string{
		search.RegAttrName:           "rm.name",
		search.RegAttrCreationTime:   "rm.creation_time",
		search.RegAttrLastUpdateTime: "rm.last_update_time",
	}
	parts, seen, err := orderParts(obs, cols, "'name', 'creation_timestamp', 'last_updated_timestamp'")
	if err != nil {
		return "", err
	}
	if !seen["rm.name"] {
		parts = append(parts, "rm.name ASC")
	}
	return strings.Join(parts, ", "), nil
}

// versionOrder is MLflow's order for versions: by default newest update first, then
// name ascending and version descending, which also end any other ordering.
func versionOrder(obs []search.OrderBy) (string, error) {
	if len(obs) == 0 {
		return "mv.last_update_time DESC, mv.name ASC, mv.version DESC", nil
	}
	cols := map[string]string{
		search.RegAttrName:           "mv.name",
		search.RegAttrVersion:        "mv.version",
		search.RegAttrCreationTime:   "mv.creation_time",
		search.RegAttrLastUpdateTime: "mv.last_update_time",
	}
	parts, seen, err := orderParts(obs, cols, "'name', 'version_number', 'creation_timestamp', 'last_updated_timestamp'")
	if err != nil {
		return "", err
	}
	if !seen["mv.name"] {
		parts = append(parts, "mv.name ASC")
	}
	if !seen["mv.version"] {
		parts = append(parts, "mv.version DESC")
	}
	return strings.Join(parts, ", "), nil
}

func orderParts(obs []search.OrderBy, cols map[string]string, valid string) ([]string, map[string]bool, error) {
	var parts []string
	seen := map[string]bool{}
	for _, ob := range obs {
		col := cols[ob.Key]
		if ob.Entity != search.Attribute || col == "" {
			return nil, nil, core.Errorf(core.EINVALID, "Invalid order by key '%s' specified. Valid keys are %s", orderName(ob), valid)
		}
		if seen[col] {
			return nil, nil, core.Errorf(core.EINVALID, "`order_by` contains duplicate fields: %s", orderList(obs))
		}
		seen[col] = true
		parts = append(parts, col+direction(ob.Desc))
	}
	return parts, seen, nil
}

func orderName(ob search.OrderBy) string {
	if ob.Entity == search.Attribute {
		return ob.Key
	}
	return fmt.Sprintf("%s.%s", ob.Entity, ob.Key)
}

func orderList(obs []search.OrderBy) string {
	names := make([]string, len(obs))
	for i, ob := range obs {
		names[i] = orderName(ob) + direction(ob.Desc)
	}
	return "[" + strings.Join(names, ", ") + "]"
}
