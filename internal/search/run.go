package search

import (
	"sort"
	"strings"
)

// What search_runs accepts, from mlflow/utils/search_utils.py (SearchUtils) and the
// checks its SQL store applies (mlflow 3.17).

// runPrefixes maps every spelling MLflow accepts before the dot to an entity.
var runPrefixes = map[string]Entity{
	"metric": Metric, "metrics": Metric,
	"parameter": Param, "parameters": Param, "param": Param, "params": Param,
	"tag": Tag, "tags": Tag,
	"attribute": Attribute, "attributes": Attribute, "attr": Attribute, "run": Attribute,
	"dataset": Dataset, "datasets": Dataset,
}

// runFilterAttrs maps the attribute keys a filter may use to their canonical key.
var runFilterAttrs = map[string]string{
	"run_id":       RunAttrRunID,
	"run_name":     RunAttrRunName,
	"run name":     RunAttrRunName,
	"Run name":     RunAttrRunName,
	"Run Name":     RunAttrRunName,
	"status":       RunAttrStatus,
	"user_id":      RunAttrUserID,
	"artifact_uri": RunAttrArtifactURI,
	"start_time":   RunAttrStartTime,
	"created":      RunAttrStartTime,
	"Created":      RunAttrStartTime,
	"end_time":     RunAttrEndTime,
}

// runOrderAttrs is the same for order_by, where MLflow has no "run name" aliases.
var runOrderAttrs = map[string]string{
	"run_id":       RunAttrRunID,
	"run_name":     RunAttrRunName,
	"status":       RunAttrStatus,
	"user_id":      RunAttrUserID,
	"artifact_uri": RunAttrArtifactURI,
	"start_time":   RunAttrStartTime,
	"created":      RunAttrStartTime,
	"Created":      RunAttrStartTime,
	"end_time":     RunAttrEndTime,
}

var datasetKeys = map[string]string{"name": DatasetName, "digest": DatasetDigest, "context": DatasetContext}

// Comparators per kind of operand.
var (
	numericOps     = []string{OpEq, OpNe, OpGt, OpGe, OpLt, OpLe}
	paramTagOps    = []string{OpEq, OpNe, OpLike, OpILike, OpIsNull, OpIsNotNull}
	stringAttrOps  = []string{OpEq, OpNe, OpLike, OpILike, OpIn, OpNotIn}
	datasetOps     = []string{OpEq, OpNe, OpLike, OpILike, OpIn, OpNotIn}
	runPrefixNames = "metrics., params., tags., attributes. or datasets."
)

// ParseRunFilter parses a search_runs filter string. An empty or blank string gives an
// empty Filter, which matches every run.
func ParseRunFilter(src string) (Filter, error) {
	return parseFilter(src, resolveRunComparison)
}

// ParseRunOrderBy parses one search_runs order_by clause, e.g. "metrics.rmse DESC".
func ParseRunOrderBy(src string) (OrderBy, error) {
	s, id, desc, err := parseOrderBy(src)
	if err != nil {
		return OrderBy{}, err
	}
	entity, key, err := resolveRunIdent(s, id, runOrderAttrs)
	if err != nil {
		return OrderBy{}, err
	}
	if entity == Dataset {
		return OrderBy{}, s.errAt(id.pos, "runs cannot be ordered by a dataset field; order by metrics., params., tags. or attributes.")
	}
	return OrderBy{Entity: entity, Key: key, Desc: desc}, nil
}

// resolveRunIdent finds the entity and canonical key that id names.
func resolveRunIdent(s *scanner, id ident, attrs map[string]string) (Entity, string, error) {
	entity := Attribute
	if id.hasDot {
		e, ok := runPrefixes[id.prefix]
		if !ok || id.prefixQuote == '"' {
			name := id.prefix
			if id.prefixQuote == '"' {
				name = `"` + name + `"`
			}
			return "", "", s.errAt(id.pos, "Invalid entity type %s. Valid values are %s", clip(name), runPrefixNames)
		}
		entity = e
	}
	if id.key == "" {
		return "", "", s.errAt(id.keyPos, "empty key in %s", clip(id.text))
	}
	switch entity {
	case Attribute:
		key, ok := attrs[id.key]
		if !ok {
			return "", "", s.errAt(id.keyPos, "Invalid attribute key %s specified. Valid keys are %s", clip(id.key), keyList(attrs))
		}
		return Attribute, key, nil
	case Dataset:
		key, ok := datasetKeys[id.key]
		if !ok {
			return "", "", s.errAt(id.keyPos, "Invalid dataset key %s specified. Valid keys are %s", clip(id.key), keyList(datasetKeys))
		}
		return Dataset, key, nil
	}
	return entity, id.key, nil
}

func resolveRunComparison(s *scanner, rc rawClause) (Comparison, error) {
	entity, key, err := resolveRunIdent(s, rc.id, runFilterAttrs)
	if err != nil {
		return Comparison{}, err
	}
	c := Comparison{Entity: entity, Key: key, Op: rc.op}
	switch {
	case entity == Metric:
		err = checkOp(s, rc, numericOps, "metric "+clip(key))
		if err == nil {
			c.Value, err = numberValue(s, rc, "metric "+clip(key))
		}
	case entity == Param || entity == Tag:
		what := string(entity) + " " + clip(key)
		err = checkOp(s, rc, paramTagOps, what)
		if err == nil && rc.val.kind != rawNone {
			c.Value, err = stringValue(s, rc, what)
		}
	case entity == Attribute && (key == RunAttrStartTime || key == RunAttrEndTime):
		what := "numeric attribute " + clip(rc.id.key)
		err = checkOp(s, rc, numericOps, what)
		if err == nil {
			c.Value, err = numberValue(s, rc, what)
		}
	case entity == Attribute:
		what := "attribute " + clip(rc.id.key)
		err = checkOp(s, rc, stringAttrOps, what)
		if err == nil && rc.val.kind == rawList && key != RunAttrRunID {
			err = s.errAt(rc.opPos, "only the run_id attribute supports %s with a list of quoted strings", rc.op)
		}
		if err == nil {
			c.Value, err = stringOrList(s, rc, what)
		}
	case entity == Dataset:
		what := "dataset " + clip(key)
		err = checkOp(s, rc, datasetOps, what)
		if err == nil {
			c.Value, err = stringOrList(s, rc, what)
		}
	}
	if err != nil {
		return Comparison{}, err
	}
	return c, nil
}

// checkOp rejects an operator that the operand (described by what) does not support.
func checkOp(s *scanner, rc rawClause, allowed []string, what string) error {
	for _, op := range allowed {
		if op == rc.op {
			return nil
		}
	}
	return s.errAt(rc.opPos, "Invalid comparator '%s' for %s; valid comparators are %s", rc.op, what, strings.Join(allowed, ", "))
}

func numberValue(s *scanner, rc rawClause, what string) (Value, error) {
	if rc.val.kind != rawNumber {
		return Value{}, s.errAt(rc.val.pos, "Expected a numeric value for %s, found %s", what, clip(rc.val.text))
	}
	return Value{Kind: NumberValue, Num: rc.val.num}, nil
}

func stringValue(s *scanner, rc rawClause, what string) (Value, error) {
	if rc.val.kind != rawString {
		return Value{}, s.errAt(rc.val.pos, "Expected a quoted string value for %s (e.g. 'my-value'), found %s", what, clip(rc.val.text))
	}
	return Value{Kind: StringValue, Str: rc.val.str}, nil
}

func stringOrList(s *scanner, rc rawClause, what string) (Value, error) {
	if rc.val.kind == rawList {
		return Value{Kind: ListValue, List: rc.val.list}, nil
	}
	return stringValue(s, rc, what)
}

// keyList renders the keys of a map as a sorted, quoted list for error messages.
func keyList(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, "'"+k+"'")
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
