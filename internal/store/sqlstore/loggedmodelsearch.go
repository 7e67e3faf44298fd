package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

// modelAttr is a logged-model attribute that search can filter and sort on.
type modelAttr struct {
	col     string
	numeric bool
}

// modelAttrs maps attribute keys, with MLflow's aliases (SqlLoggedModel.ALIASES), to columns.
var modelAttrs = map[string]modelAttr{
	search.ModelAttrName:           {"lm.name", false},
	search.ModelAttrModelID:        {"lm.model_id", false},
	search.ModelAttrModelType:      {"lm.model_type", false},
	search.ModelAttrStatus:         {"lm.status", false},
	search.ModelAttrSourceRunID:    {"lm.source_run_id", false},
	search.ModelAttrCreationTime:   {"lm.creation_time", true},
	search.ModelAttrLastUpdateTime: {"lm.last_update_time", true},
	"creation_time":                {"lm.creation_time", true},
	"last_updated_time":            {"lm.last_update_time", true},
}

// Operators MLflow allows on numeric (metrics, timestamps) and string entities.
var (
	modelNumericOps = []string{search.OpLt, search.OpLe, search.OpGt, search.OpGe, search.OpEq, search.OpNe}
	modelStringOps  = []string{search.OpEq, search.OpNe, search.OpLike, search.OpILike, search.OpIn, search.OpNotIn}
)

// modelWireStatus maps the wire names of statuses to the stored ones, so that a filter may use either.
var modelWireStatus = map[string]string{
	"LOGGED_MODEL_PENDING":       core.LoggedModelPending,
	"LOGGED_MODEL_READY":         core.LoggedModelReady,
	"LOGGED_MODEL_UPLOAD_FAILED": core.LoggedModelFailed,
}

// SearchLoggedModels compiles the filter and order to one query over the active models of
// the experiments, then loads the details of the page.
func (s *Store) SearchLoggedModels(ctx context.Context, q store.LoggedModelSearch) ([]core.LoggedModel, string, error) {
	if len(q.ExperimentIDs) == 0 {
		return nil, "", core.Errorf(core.EINVALID, "Missing value for required parameter 'experiment_ids'.")
	}
	if q.MaxResults <= 0 || q.MaxResults > store.MaxLoggedModelSearchResults {
		return nil, "", core.Errorf(core.EINVALID, "Invalid value %d for parameter 'max_results' supplied. It must be at most %d", q.MaxResults, store.MaxLoggedModelSearchResults)
	}
	offset, err := decodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	expIDs := make([]any, 0, len(q.ExperimentIDs))
	for _, id := range q.ExperimentIDs {
		n, err := parseExperimentID(id)
		if err != nil {
			return nil, "", err
		}
		expIDs = append(expIDs, n)
	}
	dsCond, dsArgs, err := datasetsCond(q.Datasets)
	if err != nil {
		return nil, "", err
	}
	cols, colArgs, order, err := modelOrder(q.OrderBy)
	if err != nil {
		return nil, "", err
	}
	where := []string{"lm.lifecycle_stage = 'active'", "lm.experiment_id IN (" + placeholders(len(expIDs)) + ")"}
	args := append(colArgs, expIDs...)
	hasMetric := false
	for _, c := range q.Filter.Clauses {
		cond, a, err := s.modelClause(c, dsCond, dsArgs)
		if err != nil {
			return nil, "", err
		}
		hasMetric = hasMetric || c.Entity == search.Metric
		where = append(where, cond)
		args = append(args, a...)
	}
	if dsCond != "" && !hasMetric {
		// Datasets without a metric filter select the models with any metric on them (MLflow).
		where = append(where, `EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_key = lm.model_key AND (`+dsCond+`))`)
		args = append(args, dsArgs...)
	}
	// The inner query names the sort keys (latest metric values) so the outer one can order by them.
	query := `SELECT ` + modelColumns + ` FROM (SELECT ` + modelColumns + cols + ` FROM logged_models lm
		WHERE ` + strings.Join(where, " AND ") + `) lm ORDER BY ` + order + ` LIMIT ? OFFSET ?`
	args = append(args, q.MaxResults+1, offset)
	models, err := s.queryModels(ctx, s.rdb, query, args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(models) > q.MaxResults {
		models = models[:q.MaxResults]
		next = encodePageToken(offset + q.MaxResults)
	}
	return models, next, nil
}

// datasetsCond renders the datasets restriction as a condition on "logged_model_metrics x":
// any of the datasets, by name and, when given, digest.
func datasetsCond(ds []store.DatasetRef) (string, []any, error) {
	var parts []string
	var args []any
	for _, d := range ds {
		if d.Name == "" {
			return "", nil, core.Errorf(core.EINVALID, "`dataset_name` in the `datasets` clause must be specified.")
		}
		if d.Digest == "" {
			parts = append(parts, "x.dataset_name = ?")
			args = append(args, d.Name)
			continue
		}
		parts = append(parts, "(x.dataset_name = ? AND x.dataset_digest = ?)")
		args = append(args, d.Name, d.Digest)
	}
	return strings.Join(parts, " OR "), args, nil
}

// modelClause compiles one filter comparison to a condition on "logged_models lm".
func (s *Store) modelClause(c search.Comparison, dsCond string, dsArgs []any) (string, []any, error) {
	switch c.Entity {
	case search.Attribute:
		a, ok := modelAttrs[c.Key]
		if !ok {
			return "", nil, core.Errorf(core.EINVALID, "Invalid attribute key '%s' specified. Valid keys are %s.", c.Key, validModelAttrs())
		}
		c, err := modelValue(c, "attributes", a.numeric)
		if err != nil {
			return "", nil, err
		}
		if c.Key == search.ModelAttrStatus {
			c.Value = wireStatusValue(c.Value)
		}
		cond, args := s.compare(a.col, c)
		return cond, args, nil
	case search.Metric:
		c, err := modelValue(c, "metrics", true)
		if err != nil {
			return "", nil, err
		}
		cond, args := s.metricCompare("x", c)
		q := `EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_key = lm.model_key AND x.key = ? AND ` + cond
		args = append([]any{c.Key}, args...)
		if dsCond != "" {
			q += " AND (" + dsCond + ")"
			args = append(args, dsArgs...)
		}
		return q + ")", args, nil
	case search.Param, search.Tag:
		table, entity := "logged_model_params", "params"
		if c.Entity == search.Tag {
			table, entity = "logged_model_tags", "tags"
		}
		c, err := modelValue(c, entity, false)
		if err != nil {
			return "", nil, err
		}
		return s.keyValueClause(table, "x.model_key = lm.model_key", c), append([]any{c.Key}, s.compareArgs(c)...), nil
	}
	return "", nil, core.Errorf(core.EINVALID, "Invalid entity type: '%s'. Expected one of ['attributes', 'metrics', 'params', 'tags'].", c.Entity)
}

// modelValue checks the operator against the entity's kind, as MLflow does, and gives the
// value that kind: a number for numeric entities, a string otherwise.
func modelValue(c search.Comparison, entity string, numeric bool) (search.Comparison, error) {
	ops := modelStringOps
	if numeric {
		ops = modelNumericOps
	}
	found := false
	for _, op := range ops {
		found = found || op == c.Op
	}
	if !found {
		return c, core.Errorf(core.EINVALID, "Invalid comparison operator for %s.%s: '%s'. Expected one of ('%s').", entity, c.Key, c.Op, strings.Join(ops, "', '"))
	}
	switch {
	case numeric && c.Value.Kind == search.StringValue:
		f, err := strconv.ParseFloat(strings.TrimSpace(c.Value.Str), 64)
		if err != nil {
			return c, core.Errorf(core.EINVALID, "Invalid value '%s' for %s.%s: expected a number.", c.Value.Str, entity, c.Key)
		}
		c.Value = search.Value{Kind: search.NumberValue, Num: f}
	case numeric && c.Value.Kind != search.NumberValue:
		return c, core.Errorf(core.EINVALID, "Invalid value for %s.%s: expected a number.", entity, c.Key)
	case !numeric && c.Value.Kind == search.NumberValue:
		c.Value = search.Value{Kind: search.StringValue, Str: strconv.FormatFloat(c.Value.Num, 'f', -1, 64)}
	}
	return c, nil
}

func wireStatusValue(v search.Value) search.Value {
	if st, ok := modelWireStatus[v.Str]; ok && v.Kind == search.StringValue {
		v.Str = st
	}
	if v.Kind == search.ListValue {
		list := make([]string, len(v.List))
		for i, s := range v.List {
			list[i] = s
			if st, ok := modelWireStatus[s]; ok {
				list[i] = st
			}
		}
		v.List = list
	}
	return v
}

func validModelAttrs() string {
	return strings.Join([]string{search.ModelAttrName, search.ModelAttrModelID, search.ModelAttrModelType, search.ModelAttrStatus,
		search.ModelAttrSourceRunID, search.ModelAttrCreationTime, search.ModelAttrLastUpdateTime}, ", ")
}

// modelOrder compiles the orderings. A metric ordering sorts by the model's latest point of
// that metric (newest timestamp, then step, then run id: MLflow's rule), optionally on one
// dataset; the inner query selects it as extra columns (cols, with colArgs). Models without
// the metric sort last either way, NaN after numbers. Ties end by creation time (newest first)
// and model id, unless those were ordered on already.
func modelOrder(obs []store.LoggedModelOrder) (cols string, colArgs []any, order string, err error) {
	var b strings.Builder
	var parts []string
	hasCreation, hasID := false, false
	for i, ob := range obs {
		dir := direction(!ob.Ascending)
		entity, key, dotted := strings.Cut(ob.Field, ".")
		if !dotted {
			a, ok := modelAttrs[ob.Field]
			if !ok {
				return "", nil, "", core.Errorf(core.EINVALID, "Invalid order by field name: %s", ob.Field)
			}
			hasCreation = hasCreation || a.col == "lm.creation_time"
			hasID = hasID || a.col == "lm.model_id"
			parts = append(parts, a.col+dir)
			continue
		}
		if entity != "metrics" || key == "" {
			return "", nil, "", core.Errorf(core.EINVALID, "Invalid order by field name: %s. Only metrics are supported.", ob.Field)
		}
		latest := `FROM logged_model_metrics x WHERE x.model_key = lm.model_key AND x.key = ?`
		args := []any{key}
		if ob.DatasetName != "" {
			latest += " AND x.dataset_name = ?"
			args = append(args, ob.DatasetName)
		}
		if ob.DatasetDigest != "" {
			latest += " AND x.dataset_digest = ?"
			args = append(args, ob.DatasetDigest)
		}
		latest += ` ORDER BY x.timestamp DESC, x.step DESC, x.run_id, x.dataset_name, x.dataset_digest LIMIT 1`
		fmt.Fprintf(&b, ", (SELECT x.is_nan %s) AS o%dn, (SELECT x.value %s) AS o%dv", latest, i, latest, i)
		colArgs = append(colArgs, args...)
		colArgs = append(colArgs, args...)
		parts = append(parts, fmt.Sprintf("CASE WHEN o%dn IS NULL THEN 2 WHEN o%dn = 1 THEN 1 ELSE 0 END", i, i),
			fmt.Sprintf("o%dv%s", i, dir))
	}
	if !hasCreation {
		parts = append(parts, "lm.creation_time DESC")
	}
	if !hasID {
		parts = append(parts, "lm.model_id ASC")
	}
	return b.String(), colArgs, strings.Join(parts, ", "), nil
}
