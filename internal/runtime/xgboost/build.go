package xgboost

import (
	"fmt"

	"github.com/plinth-ml/plinth/internal/runtime"
)

// build turns a decoded document into a Model: learner parameters, objective, features
// and the compiled trees. inputSize bounds the side tables (see compileForest).
func build(doc any, inputSize int) (*Model, error) {
	m, err := buildModel(doc, inputSize)
	if err != nil {
		return nil, fmt.Errorf("xgboost: %w", err)
	}
	return m, nil
}

func buildModel(doc any, inputSize int) (*Model, error) {
	root, err := object(doc, "model")
	if err != nil {
		return nil, err
	}
	learner, err := field(root, "learner", "model")
	if err != nil {
		return nil, err
	}
	param, err := field(learner, "learner_model_param", "learner")
	if err != nil {
		return nil, err
	}
	const pp = "learner.learner_model_param"
	numFeature, err := intParam(param, "num_feature", pp, -1)
	if err != nil {
		return nil, err
	}
	// The bounds keep a tiny hostile file from claiming millions of features or classes
	// (each costs memory at load and in Eval) while leaving room for real wide models.
	if numFeature < 0 || numFeature > int64(max(1<<20, 8*inputSize)) {
		return nil, fmt.Errorf("%s: num_feature %d is missing or out of range for a %d-byte file", pp, numFeature, inputSize)
	}
	numClass, err := intParam(param, "num_class", pp, 0)
	if err != nil {
		return nil, err
	}
	if numClass < 0 || numClass > int64(max(1<<16, inputSize)) {
		return nil, fmt.Errorf("%s: num_class %d is out of range for a %d-byte file", pp, numClass, inputSize)
	}
	numTarget, err := intParam(param, "num_target", pp, 1)
	if err != nil {
		return nil, err
	}
	if numTarget > 1 {
		return nil, fmt.Errorf("multi-target models (num_target %d) are not supported", numTarget)
	}

	objective, err := field(learner, "objective", "learner")
	if err != nil {
		return nil, err
	}
	name, err := stringField(objective, "name", "learner.objective")
	if err != nil {
		return nil, err
	}
	spec, err := lookupObjective(name)
	if err != nil {
		return nil, err
	}
	if name == "reg:quantileerror" {
		if err := checkSingleQuantile(objective); err != nil {
			return nil, err
		}
	}
	if numClass > 1 && spec.transform != softprob && spec.transform != argmax {
		return nil, fmt.Errorf("%s: num_class %d with objective %q", pp, numClass, name)
	}
	groups := max(int(numClass), 1)

	m := &Model{objective: name, spec: spec, groups: groups}
	if m.base, err = baseMargins(param, spec, groups); err != nil {
		return nil, err
	}
	if m.features, err = features(learner, int(numFeature)); err != nil {
		return nil, err
	}
	booster, err := field(learner, "gradient_booster", "learner")
	if err != nil {
		return nil, err
	}
	if err := m.loadBooster(booster, inputSize); err != nil {
		return nil, err
	}
	// Rows per block: up to 64, fewer for very wide models so the scratch stays ~64 KB.
	m.blockRows = min(64, max(1, 16384/max(len(m.features), m.groups, 1)))
	return m, nil
}

func checkSingleQuantile(objective map[string]any) error {
	p, ok := objective["quantile_loss_param"].(map[string]any)
	if !ok {
		return nil
	}
	s, ok := p["quantile_alpha"].(string)
	if !ok {
		return nil
	}
	q, err := floatList(s)
	if err != nil {
		return fmt.Errorf("learner.objective.quantile_loss_param.quantile_alpha: %w", err)
	}
	if len(q) != 1 {
		return fmt.Errorf("reg:quantileerror with %d quantiles (a multi-target model) is not supported", len(q))
	}
	return nil
}

// baseMargins reads base_score — a scalar string before 3.1, a vector string since —
// and converts it to one margin per output group.
func baseMargins(param map[string]any, spec objectiveSpec, groups int) ([]float32, error) {
	const path = "learner.learner_model_param.base_score"
	var scores []float32
	switch v := param["base_score"].(type) {
	case nil:
		scores = []float32{0.5} // xgboost's default when a hand-made file omits it
	case string:
		s, err := floatList(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		scores = s
	case float64:
		scores = []float32{float32(v)}
	case int64:
		scores = []float32{float32(v)}
	default:
		return nil, fmt.Errorf("%s: want a string, got %s", path, typeName(v))
	}
	if len(scores) != 1 && len(scores) != groups {
		return nil, fmt.Errorf("%s: %d values for %d outputs", path, len(scores), groups)
	}
	out := make([]float32, groups)
	for g := range out {
		s := scores[0]
		if len(scores) > 1 {
			s = scores[g]
		}
		mg, err := spec.toMargin(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out[g] = mg
	}
	return out, nil
}

// features reads feature_names and feature_types; the categories container, when there
// is one, is read with the booster (categories.go).
func features(learner map[string]any, n int) ([]runtime.Feature, error) {
	names, err := stringList(learner, "feature_names", "learner")
	if err != nil {
		return nil, err
	}
	types, err := stringList(learner, "feature_types", "learner")
	if err != nil {
		return nil, err
	}
	if len(names) != 0 && len(names) != n {
		return nil, fmt.Errorf("learner.feature_names: %d names for num_feature %d", len(names), n)
	}
	if len(types) != 0 && len(types) != n {
		return nil, fmt.Errorf("learner.feature_types: %d types for num_feature %d", len(types), n)
	}
	out := make([]runtime.Feature, n)
	for i := range out {
		if len(names) > 0 {
			out[i].Name = names[i]
		} else {
			out[i].Name = fmt.Sprintf("f%d", i)
		}
		if len(types) > 0 {
			out[i].Categorical = types[i] == "c"
		}
	}
	return out, nil
}

// loadBooster reads gbtree or dart (a gbtree plus one weight per tree).
func (m *Model) loadBooster(booster map[string]any, inputSize int) error {
	name, err := stringField(booster, "name", "learner.gradient_booster")
	if err != nil {
		return err
	}
	var weights []float32
	switch name {
	case "gbtree":
	case "dart":
		inner, err := field(booster, "gbtree", "learner.gradient_booster")
		if err != nil {
			return err
		}
		if weights, err = floats(booster, "weight_drop", "learner.gradient_booster"); err != nil {
			return err
		}
		if weights == nil {
			return fmt.Errorf("learner.gradient_booster: dart without weight_drop")
		}
		booster = inner
	case "gblinear":
		return fmt.Errorf("gblinear (linear booster) models are not supported; only gbtree and dart")
	default:
		return fmt.Errorf("booster %q is not supported; only gbtree and dart", name)
	}
	model, err := field(booster, "model", "learner.gradient_booster")
	if err != nil {
		return err
	}
	const path = "learner.gradient_booster.model"
	trees, ok := model["trees"].([]any)
	if !ok {
		if arrayLen(model["trees"]) != 0 {
			return fmt.Errorf("%s.trees: want an array of trees, got %s", path, typeName(model["trees"]))
		}
		trees = nil
	}
	if gp, ok := model["gbtree_model_param"].(map[string]any); ok {
		n, err := intParam(gp, "num_trees", path+".gbtree_model_param", int64(len(trees)))
		if err != nil {
			return err
		}
		if n != int64(len(trees)) {
			return fmt.Errorf("%s: num_trees is %d but there are %d trees", path, n, len(trees))
		}
	}
	info, err := ints(model, "tree_info", path)
	if err != nil {
		return err
	}
	if len(info) != len(trees) {
		return fmt.Errorf("%s.tree_info: %d entries for %d trees", path, len(info), len(trees))
	}
	for i, g := range info {
		if g < 0 || g >= int64(m.groups) {
			return fmt.Errorf("%s.tree_info[%d]: output group %d out of range [0, %d)", path, i, g, m.groups)
		}
	}
	if weights != nil && len(weights) != len(trees) {
		return fmt.Errorf("learner.gradient_booster.weight_drop: %d weights for %d trees", len(weights), len(trees))
	}
	if err := checkIterations(model, path, len(trees)); err != nil {
		return err
	}
	if err := m.readCategories(model, path); err != nil {
		return err
	}
	return m.compileForest(trees, info, weights, inputSize)
}

// checkIterations validates iteration_indptr (xgboost ≥2.1): the trees of each boosting
// round, which must cover the trees in order.
func checkIterations(model map[string]any, path string, numTrees int) error {
	ptr, err := ints(model, "iteration_indptr", path)
	if err != nil || len(ptr) == 0 {
		return err
	}
	if ptr[0] != 0 || ptr[len(ptr)-1] != int64(numTrees) {
		return fmt.Errorf("%s.iteration_indptr: must run from 0 to %d", path, numTrees)
	}
	for i := 1; i < len(ptr); i++ {
		if ptr[i] < ptr[i-1] {
			return fmt.Errorf("%s.iteration_indptr: decreases at %d", path, i)
		}
	}
	return nil
}
