package search

import (
	"strconv"
	"strings"
)

// What search_experiments accepts, from SearchExperimentsUtils in
// mlflow/utils/search_utils.py and the checks of MLflow's SQL store (mlflow 3.17).
// Only the prefixes "attribute", "tag" and "tags" are valid here.

var experimentAttrs = map[string]string{
	"name":             ExpAttrName,
	"experiment_id":    ExpAttrExperimentID,
	"creation_time":    ExpAttrCreationTime,
	"last_update_time": ExpAttrLastUpdateTime,
}

var (
	expTagOps  = []string{OpEq, OpNe, OpLike, OpILike, OpIsNull, OpIsNotNull}
	expNameOps = []string{OpEq, OpNe, OpLike, OpILike}
	expIDOps   = []string{OpEq, OpNe, OpIn, OpNotIn}
)

// ParseExperimentFilter parses a search_experiments filter string. An empty or blank
// string gives an empty Filter.
func ParseExperimentFilter(src string) (Filter, error) {
	return parseFilter(src, resolveExperimentComparison)
}

// ParseExperimentOrderBy parses one search_experiments order_by clause, e.g. "name DESC".
func ParseExperimentOrderBy(src string) (OrderBy, error) {
	s, id, desc, err := parseOrderBy(src)
	if err != nil {
		return OrderBy{}, err
	}
	entity, key, err := resolveExperimentIdent(s, id)
	if err != nil {
		return OrderBy{}, err
	}
	if entity != Attribute {
		return OrderBy{}, s.errAt(id.pos, "experiments cannot be ordered by tags; order by %s", keyList(experimentAttrs))
	}
	return OrderBy{Entity: Attribute, Key: key, Desc: desc}, nil
}

func resolveExperimentIdent(s *scanner, id ident) (Entity, string, error) {
	entity := Attribute
	if id.hasDot {
		switch {
		case id.prefixQuote != 0:
			return "", "", s.errAt(id.pos, "Invalid entity type %s. Valid entity types are 'attribute', 'tag' and 'tags'",
				clip(string(id.prefixQuote)+id.prefix+string(id.prefixQuote)))
		case id.prefix == "attribute":
		case id.prefix == "tag" || id.prefix == "tags":
			entity = Tag
		default:
			return "", "", s.errAt(id.pos, "Invalid entity type %s. Valid entity types are 'attribute', 'tag' and 'tags'", clip(id.prefix))
		}
	}
	if id.key == "" {
		return "", "", s.errAt(id.keyPos, "empty key in %s", clip(id.text))
	}
	if entity == Tag {
		return Tag, id.key, nil
	}
	key, ok := experimentAttrs[id.key]
	if !ok {
		return "", "", s.errAt(id.keyPos, "Invalid attribute key %s specified. Valid keys are %s", clip(id.key), keyList(experimentAttrs))
	}
	return Attribute, key, nil
}

func resolveExperimentComparison(s *scanner, rc rawClause) (Comparison, error) {
	entity, key, err := resolveExperimentIdent(s, rc.id)
	if err != nil {
		return Comparison{}, err
	}
	c := Comparison{Entity: entity, Key: key, Op: rc.op}
	what := "attribute " + clip(key)
	switch {
	case entity == Tag:
		what = "tag " + clip(key)
		err = checkOp(s, rc, expTagOps, what)
		if err == nil && rc.val.kind != rawNone {
			c.Value, err = stringValue(s, rc, what)
		}
	case key == ExpAttrName:
		if rc.val.kind == rawList {
			err = s.errAt(rc.opPos, "only the experiment_id attribute supports %s with a list of quoted strings", rc.op)
		} else if err = checkOp(s, rc, expNameOps, what); err == nil {
			c.Value, err = stringValue(s, rc, what)
		}
	case key == ExpAttrExperimentID:
		if err = checkOp(s, rc, expIDOps, what); err == nil {
			c.Value, err = experimentIDs(s, rc)
		}
	default: // creation_time, last_update_time: integer milliseconds
		if err = checkOp(s, rc, numericOps, what); err == nil {
			c.Value, err = numberValue(s, rc, what)
		}
		if err == nil && !rc.val.isInt {
			err = s.errAt(rc.val.pos, "Invalid value for numeric attribute %s: %s; expected whole milliseconds", clip(key), clip(rc.val.text))
		}
	}
	if err != nil {
		return Comparison{}, err
	}
	return c, nil
}

// experimentIDs checks that experiment_id values are integers, as MLflow does, and
// writes them in canonical decimal form so " 07 " finds experiment "7".
func experimentIDs(s *scanner, rc rawClause) (Value, error) {
	canon := func(v string) (string, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return "", s.errAt(rc.val.pos, "Invalid experiment ID %s. Experiment ID must be a valid integer", clip(v))
		}
		return strconv.FormatInt(n, 10), nil
	}
	v, err := stringOrList(s, rc, "attribute 'experiment_id'")
	if err != nil {
		return Value{}, err
	}
	if v.Kind == ListValue {
		for i, item := range v.List {
			if v.List[i], err = canon(item); err != nil {
				return Value{}, err
			}
		}
		return v, nil
	}
	v.Str, err = canon(v.Str)
	return v, err
}
