package search

import (
	"strconv"
	"strings"
)

// What search_logged_models accepts, from SearchLoggedModelsUtils in
// mlflow/utils/search_utils.py and the comparator checks it applies when filtering
// (mlflow 3.17). MLflow's SQL store reparses the string with a looser parser of its
// own; Plinth follows the stricter utility, which rejects what that parser would
// misread (unquoted or double-quoted values kept with their quotes, IS NULL, ...).

// loggedModelPrefixes are the run prefixes minus datasets, as SearchUtils spells them.
var loggedModelPrefixes = map[string]Entity{
	"metric": Metric, "metrics": Metric,
	"parameter": Param, "parameters": Param, "param": Param, "params": Param,
	"tag": Tag, "tags": Tag,
	"attribute": Attribute, "attributes": Attribute, "attr": Attribute, "run": Attribute,
}

var loggedModelAttrs = map[string]string{
	"name":                   ModelAttrName,
	"model_id":               ModelAttrModelID,
	"model_type":             ModelAttrModelType,
	"status":                 ModelAttrStatus,
	"source_run_id":          ModelAttrSourceRunID,
	"creation_timestamp":     ModelAttrCreationTime,
	"creation_time":          ModelAttrCreationTime,
	"last_updated_timestamp": ModelAttrLastUpdateTime,
	"last_updated_time":      ModelAttrLastUpdateTime,
}

// Comparators that differ from the run ones: logged-model params and tags, and every
// registry tag, have no IS NULL; a registry string attribute without lists has no IN.
var (
	modelParamTagOps = []string{OpEq, OpNe, OpLike, OpILike}
	regStringOps     = []string{OpEq, OpNe, OpLike, OpILike}
)

// ParseLoggedModelFilter parses a search_logged_models filter string. An empty or
// blank string gives an empty Filter.
func ParseLoggedModelFilter(src string) (Filter, error) {
	return parseFilter(src, resolveLoggedModelComparison)
}

func resolveLoggedModelIdent(s *scanner, id ident) (Entity, string, error) {
	entity := Attribute
	if id.hasDot {
		e, ok := loggedModelPrefixes[id.prefix]
		if !ok || id.prefixQuote == '"' {
			name := id.prefix
			if id.prefixQuote == '"' {
				name = `"` + name + `"`
			}
			return "", "", s.errAt(id.pos, "Invalid entity type %s. Valid values are metrics., params., tags. or attributes.", clip(name))
		}
		entity = e
	}
	if id.key == "" {
		return "", "", s.errAt(id.keyPos, "empty key in %s", clip(id.text))
	}
	if entity != Attribute {
		return entity, id.key, nil
	}
	key, ok := loggedModelAttrs[id.key]
	if !ok {
		return "", "", s.errAt(id.keyPos, "Invalid attribute key %s specified. Valid keys are %s", clip(id.key), keyList(loggedModelAttrs))
	}
	return Attribute, key, nil
}

func resolveLoggedModelComparison(s *scanner, rc rawClause) (Comparison, error) {
	entity, key, err := resolveLoggedModelIdent(s, rc.id)
	if err != nil {
		return Comparison{}, err
	}
	c := Comparison{Entity: entity, Key: key, Op: rc.op}
	switch {
	case entity == Metric:
		what := "metric " + clip(key)
		if err = checkOp(s, rc, numericOps, what); err == nil {
			c.Value, err = numberValue(s, rc, what)
		}
	case entity == Param || entity == Tag:
		what := string(entity) + " " + clip(key)
		if err = checkOp(s, rc, modelParamTagOps, what); err == nil {
			c.Value, err = stringValue(s, rc, what)
		}
	case key == ModelAttrCreationTime || key == ModelAttrLastUpdateTime:
		what := "numeric attribute " + clip(rc.id.key)
		if err = checkOp(s, rc, numericOps, what); err == nil {
			c.Value, err = numberValue(s, rc, what)
		}
	default: // every string attribute takes a list after IN
		what := "attribute " + clip(rc.id.key)
		if err = checkOp(s, rc, stringAttrOps, what); err == nil {
			c.Value, err = stringOrList(s, rc, what)
		}
	}
	if err != nil {
		return Comparison{}, err
	}
	return c, nil
}

// What the model registry accepts, from SearchModelUtils and SearchModelVersionUtils
// and the checks of MLflow's registry SQL store (mlflow 3.17). The only prefixes are
// "attribute", "tag" and "tags"; attribute names must be written unquoted.

var registeredModelAttrs = map[string]string{"name": RegAttrName}

var modelVersionAttrs = map[string]string{
	"name":           RegAttrName,
	"version_number": RegAttrVersion,
	"run_id":         RegAttrRunID,
	"source_path":    RegAttrSourcePath,
}

// ParseRegisteredModelFilter parses a search_registered_models filter string.
func ParseRegisteredModelFilter(src string) (Filter, error) {
	return parseFilter(src, resolveRegisteredModelComparison)
}

// ParseModelVersionFilter parses a search_model_versions filter string.
func ParseModelVersionFilter(src string) (Filter, error) {
	return parseFilter(src, resolveModelVersionComparison)
}

func resolveRegistryIdent(s *scanner, id ident, attrs map[string]string) (Entity, string, error) {
	entity := Attribute
	if id.hasDot {
		switch {
		case id.prefixQuote == 0 && id.prefix == "attribute":
		case id.prefixQuote == 0 && (id.prefix == "tag" || id.prefix == "tags"):
			entity = Tag
		default:
			return "", "", s.errAt(id.pos, "Invalid entity type %s. Valid entity types are 'attribute', 'tag' and 'tags'",
				clip(s.src[id.pos:id.keyPos-1]))
		}
	}
	if id.key == "" {
		return "", "", s.errAt(id.keyPos, "empty key in %s", clip(id.text))
	}
	if entity == Tag {
		return Tag, id.key, nil
	}
	// MLflow checks the attribute name before removing quotes, so `name` is unknown.
	written := s.src[id.keyPos : id.pos+len(id.text)]
	key, ok := attrs[written]
	if !ok {
		return "", "", s.errAt(id.keyPos, "Invalid attribute key %s specified. Valid keys are %s", clip(written), keyList(attrs))
	}
	return Attribute, key, nil
}

func resolveRegisteredModelComparison(s *scanner, rc rawClause) (Comparison, error) {
	entity, key, err := resolveRegistryIdent(s, rc.id, registeredModelAttrs)
	if err != nil {
		return Comparison{}, err
	}
	c := Comparison{Entity: entity, Key: key, Op: rc.op}
	if entity == Tag {
		what := "tag " + clip(key)
		if err = checkOp(s, rc, regStringOps, what); err == nil {
			c.Value, err = stringValue(s, rc, what)
		}
	} else {
		what := "attribute " + clip(key)
		if err = checkOp(s, rc, stringAttrOps, what); err == nil {
			c.Value, err = stringOrList(s, rc, what)
		}
	}
	if err != nil {
		return Comparison{}, err
	}
	return c, nil
}

func resolveModelVersionComparison(s *scanner, rc rawClause) (Comparison, error) {
	entity, key, err := resolveRegistryIdent(s, rc.id, modelVersionAttrs)
	if err != nil {
		return Comparison{}, err
	}
	c := Comparison{Entity: entity, Key: key, Op: rc.op}
	what := "attribute " + clip(key)
	switch {
	case entity == Tag:
		what = "tag " + clip(key)
		if err = checkOp(s, rc, regStringOps, what); err == nil {
			c.Value, err = stringValue(s, rc, what)
		}
	case key == RegAttrVersion:
		if err = checkOp(s, rc, numericOps, what); err == nil {
			c.Value, err = versionNumber(s, rc)
		}
	case key == RegAttrSourcePath:
		if rc.val.kind == rawList {
			err = s.errAt(rc.opPos, "only the name and run_id attributes support %s with a list of quoted strings", rc.op)
		} else if err = checkOp(s, rc, regStringOps, what); err == nil {
			c.Value, err = stringValue(s, rc, what)
		}
	default: // name, run_id
		if err = checkOp(s, rc, stringAttrOps, what); err == nil {
			c.Value, err = stringOrList(s, rc, what)
		}
	}
	if err != nil {
		return Comparison{}, err
	}
	return c, nil
}

// versionNumber reads a whole version number. Like MLflow, it also takes the number
// as a quoted string ('3'), but not a fraction.
func versionNumber(s *scanner, rc rawClause) (Value, error) {
	text := rc.val.text
	switch rc.val.kind {
	case rawNumber:
		if rc.val.isInt {
			if n, err := strconv.ParseInt(text, 10, 64); err == nil {
				return Value{Kind: NumberValue, Num: float64(n)}, nil
			}
		}
	case rawString:
		if n, err := strconv.ParseInt(strings.TrimSpace(rc.val.str), 10, 64); err == nil {
			return Value{Kind: NumberValue, Num: float64(n)}, nil
		}
	}
	return Value{}, s.errAt(rc.val.pos, "Invalid value for numeric attribute 'version_number': %s; expected a whole number", clip(text))
}

// Order by keys. For registered models MLflow's SQL store takes "timestamp" as
// last_updated_timestamp; creation_timestamp is also accepted, as MLflow's
// file store does, and orders by creation time.
var registeredModelOrderKeys = map[string]string{
	"name":                   RegAttrName,
	"timestamp":              RegAttrLastUpdateTime,
	"last_updated_timestamp": RegAttrLastUpdateTime,
	"creation_timestamp":     RegAttrCreationTime,
}

var modelVersionOrderKeys = map[string]string{
	"name":                   RegAttrName,
	"version_number":         RegAttrVersion,
	"creation_timestamp":     RegAttrCreationTime,
	"last_updated_timestamp": RegAttrLastUpdateTime,
}

// ParseRegisteredModelOrderBy parses one search_registered_models order_by clause,
// e.g. "name DESC". The key is written bare: MLflow takes no prefix or quotes here.
func ParseRegisteredModelOrderBy(src string) (OrderBy, error) {
	s, id, desc, err := parseOrderBy(src)
	if err != nil {
		return OrderBy{}, err
	}
	key, ok := registeredModelOrderKeys[id.text]
	if !ok {
		return OrderBy{}, s.errAt(id.pos, "Invalid order by key %s specified. Valid keys are %s",
			clip(id.text), keyList(registeredModelOrderKeys))
	}
	return OrderBy{Entity: Attribute, Key: key, Desc: desc}, nil
}

// ParseModelVersionOrderBy parses one search_model_versions order_by clause, e.g.
// "version_number DESC".
func ParseModelVersionOrderBy(src string) (OrderBy, error) {
	s, id, desc, err := parseOrderBy(src)
	if err != nil {
		return OrderBy{}, err
	}
	if id.hasDot && (id.prefixQuote != 0 || id.prefix != "attribute") {
		return OrderBy{}, s.errAt(id.pos, "model versions can only be ordered by attributes; order by %s", keyList(modelVersionOrderKeys))
	}
	key, ok := modelVersionOrderKeys[id.key]
	if !ok {
		return OrderBy{}, s.errAt(id.keyPos, "Invalid order by key %s specified. Valid keys are %s",
			clip(id.key), keyList(modelVersionOrderKeys))
	}
	return OrderBy{Entity: Attribute, Key: key, Desc: desc}, nil
}
