package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/plinth-ml/plinth/internal/core"
	"github.com/plinth-ml/plinth/internal/search"
	"github.com/plinth-ml/plinth/internal/store"
)

// runAttrColumns maps canonical run attributes to columns of "runs r".
var runAttrColumns = map[string]string{
	search.RunAttrRunID:          "r.run_id",
	search.RunAttrRunName:        "r.name",
	search.RunAttrStatus:         "r.status",
	search.RunAttrUserID:         "r.user_id",
	search.RunAttrArtifactURI:    "r.artifact_uri",
	search.RunAttrLifecycleStage: "r.lifecycle_stage",
	search.RunAttrStartTime:      "r.start_time",
	search.RunAttrEndTime:        "r.end_time",
}

// SearchRuns compiles the filter and order to one query over runs, then loads the
// details of the page it selected.
func (s *Store) SearchRuns(ctx context.Context, q store.RunSearch) ([]core.Run, string, error) {
	offset, err := decodePageToken(q.PageToken)
	if err != nil {
		return nil, "", err
	}
	if q.MaxResults <= 0 || q.MaxResults > store.MaxRunSearchResults {
		return nil, "", core.Errorf(core.EINVALID, "Invalid value %d for parameter 'max_results' supplied. It must be at most %d", q.MaxResults, store.MaxRunSearchResults)
	}
	if len(q.ExperimentIDs) == 0 {
		return nil, "", nil
	}
	expIDs := make([]any, 0, len(q.ExperimentIDs))
	for _, id := range q.ExperimentIDs {
		n, err := parseExperimentID(id)
		if err != nil {
			return nil, "", err
		}
		expIDs = append(expIDs, n)
	}
	joins, joinArgs, order, err := s.runOrder(q.OrderBy)
	if err != nil {
		return nil, "", err
	}
	where := []string{"r.experiment_id IN (" + placeholders(len(expIDs)) + ")"}
	args := append(joinArgs, expIDs...)
	if c := lifecycleClause("r.lifecycle_stage", q.ViewType); c != "" {
		where = append(where, c)
	}
	for _, c := range q.Filter.Clauses {
		cond, a, err := s.runClause(c)
		if err != nil {
			return nil, "", err
		}
		where = append(where, cond)
		args = append(args, a...)
	}
	args = append(args, q.MaxResults+1, offset)
	clause := joins + " WHERE " + strings.Join(where, " AND ") + " ORDER BY " + order + " LIMIT ? OFFSET ?"
	var runs []core.Run
	more := false // whether the query found a run past the page
	if s.d.ArrayIDs {
		runs, more, err = s.searchPagePacked(ctx, q.MaxResults, clause, args...) // searchpage.go
	} else if runs, err = s.queryRuns(ctx, clause, args...); len(runs) > q.MaxResults {
		runs, more = runs[:q.MaxResults], true
	}
	if err != nil {
		return nil, "", err
	}
	next := ""
	if more {
		next = encodePageToken(offset + q.MaxResults)
	}
	return runs, next, nil
}

// runClause compiles one filter comparison to a condition on "runs r".
func (s *Store) runClause(c search.Comparison) (string, []any, error) {
	switch c.Entity {
	case search.Metric:
		cond, args := s.metricCompare("m", c)
		return `EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_key = r.run_key AND m.key = ? AND ` + cond + `)`,
			append([]any{c.Key}, args...), nil
	case search.Param:
		return s.keyValueClause("params", "r.run_id = x.run_id", c), append([]any{c.Key}, s.compareArgs(c)...), nil
	case search.Tag:
		return s.keyValueClause("run_tags", "r.run_id = x.run_id", c), append([]any{c.Key}, s.compareArgs(c)...), nil
	case search.Attribute:
		col, ok := runAttrColumns[c.Key]
		if !ok {
			return "", nil, core.Errorf(core.EINVALID, "Invalid attribute key '%s' specified.", c.Key)
		}
		cond, args := s.compare(col, c)
		return cond, args, nil
	case search.Dataset:
		if c.Key == search.DatasetContext {
			cond, args := s.compare("it.value", c)
			return `EXISTS (SELECT 1 FROM input_tags it WHERE it.run_id = r.run_id AND it.key = 'mlflow.data.context' AND ` + cond + `)`, args, nil
		}
		col := map[string]string{search.DatasetName: "d.name", search.DatasetDigest: "d.digest"}[c.Key]
		if col == "" {
			return "", nil, core.Errorf(core.EINVALID, "Invalid dataset key '%s' specified.", c.Key)
		}
		cond, args := s.compare(col, c)
		return `EXISTS (SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_id = i.dataset_id WHERE i.run_id = r.run_id AND ` + cond + `)`, args, nil
	}
	return "", nil, core.Errorf(core.EINVALID, "Invalid entity type '%s' in filter.", c.Entity)
}

// metricCompare compares a latest_metrics alias against a number. NaN satisfies only "!=".
func (s *Store) metricCompare(alias string, c search.Comparison) (string, []any) {
	cond, args := s.compare(alias+".value", c)
	if c.Op == search.OpNe {
		return "(" + alias + ".is_nan = 1 OR " + cond + ")", args
	}
	return "(" + alias + ".is_nan = 0 AND " + cond + ")", args
}

// runOrder compiles order_by clauses to LEFT JOINs and an ORDER BY list. Runs that
// lack the key sort last whatever the direction, and NaN metrics after numbers, as in MLflow.
func (s *Store) runOrder(obs []search.OrderBy) (joins string, args []any, order string, err error) {
	var b strings.Builder
	var parts []string
	for i, ob := range obs {
		alias := fmt.Sprintf("o%d", i)
		switch ob.Entity {
		case search.Metric:
			fmt.Fprintf(&b, " LEFT JOIN latest_metrics %s ON %s.run_key = r.run_key AND %s.key = ?", alias, alias, alias)
			args = append(args, ob.Key)
			parts = append(parts, fmt.Sprintf("CASE WHEN %s.run_key IS NULL THEN 2 WHEN %s.is_nan = 1 THEN 1 ELSE 0 END", alias, alias),
				alias+".value"+direction(ob.Desc))
		case search.Param, search.Tag:
			table := map[search.Entity]string{search.Param: "params", search.Tag: "run_tags"}[ob.Entity]
			fmt.Fprintf(&b, " LEFT JOIN %s %s ON %s.run_id = r.run_id AND %s.key = ?", table, alias, alias, alias)
			args = append(args, ob.Key)
			parts = append(parts, fmt.Sprintf("CASE WHEN %s.run_id IS NULL THEN 1 ELSE 0 END", alias), alias+".value"+direction(ob.Desc))
		case search.Attribute:
			col, ok := runAttrColumns[ob.Key]
			if !ok {
				return "", nil, "", core.Errorf(core.EINVALID, "Invalid order_by attribute key '%s'.", ob.Key)
			}
			parts = append(parts, fmt.Sprintf("CASE WHEN %s IS NULL THEN 1 ELSE 0 END", col), col+direction(ob.Desc))
		default:
			return "", nil, "", core.Errorf(core.EINVALID, "Invalid order_by entity '%s'.", ob.Entity)
		}
	}
	parts = append(parts, "r.start_time DESC", "r.run_id ASC")
	return b.String(), args, strings.Join(parts, ", "), nil
}
