package pyfunc

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	rt "github.com/plinth-ml/plinth/internal/runtime"
	"github.com/plinth-ml/plinth/internal/tabular"
)

// Output selects what Predict returns.
type Output string

const (
	// Predict is what MLflow's pyfunc predict returns for the logged model: the Booster's
	// predict, or the scikit-learn wrapper's (class labels for classifiers).
	Predict Output = "predict"
	// Proba is the class probabilities, one column per class (predict_proba).
	Proba Output = "predict_proba"
	// Margin is the raw score before the objective's transform (output_margin / raw_score).
	Margin Output = "margin"
)

// ParseOutput reads an output name as users write it.
func ParseOutput(s string) (Output, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "predict", "prediction":
		return Predict, nil
	case "predict_proba", "proba", "probability", "probabilities":
		return Proba, nil
	case "margin", "raw", "raw_score", "output_margin":
		return Margin, nil
	}
	return "", fmt.Errorf("unknown output %q: use predict, predict_proba or margin", s)
}

// Options tune one Predict call.
type Options struct {
	Output Output
	// Threads caps the goroutines evaluating rows (0: GOMAXPROCS).
	Threads int
}

// Predict evaluates the model on the table's rows and returns one table of outputs, in row
// order: a "prediction" column (or prediction_0…k-1 for several outputs), "proba_<class>"
// columns for predict_proba, "margin" (or margin_0…) for margins.
func (m *Model) Predict(in *tabular.Table, opt Options) (*tabular.Table, error) {
	if opt.Output == "" {
		opt.Output = Predict
	}
	x, n, err := m.matrix(in)
	if err != nil {
		return nil, err
	}
	switch opt.Output {
	case Margin:
		return floatColumns("margin", m.eval(rt.Margin, x, n, opt.Threads), m.Ensemble.Width(rt.Margin), nil), nil
	case Proba:
		probs, width, err := m.probabilities(x, n, opt.Threads)
		if err != nil {
			return nil, err
		}
		return floatColumns("proba", probs, width, m.classNames(width)), nil
	case Predict:
		if m.classifier {
			probs, width, err := m.probabilities(x, n, opt.Threads)
			if err != nil {
				return nil, err
			}
			return m.labelColumn(probs, width, n), nil
		}
		return floatColumns("prediction", m.eval(rt.Transformed, x, n, opt.Threads), m.Ensemble.Width(rt.Transformed), nil), nil
	}
	return nil, fmt.Errorf("unknown output %q", opt.Output)
}

// eval runs the ensemble over n rows, in parallel blocks for large inputs.
func (m *Model) eval(k rt.Kind, x []float64, n, threads int) []float64 {
	out := make([]float64, n*m.Ensemble.Width(k))
	rt.EvalParallel(m.Ensemble, k, x, n, out, threads)
	return out
}

// probabilities returns class probabilities, width columns per row: [1-p, p] for binary
// models, the softmax (or one-vs-all sigmoids) for multi-class ones.
func (m *Model) probabilities(x []float64, n, threads int) ([]float64, int, error) {
	obj := m.Ensemble.Objective()
	if !isClassification(obj) {
		return nil, 0, fmt.Errorf("class probabilities need a classification model; this one's objective is %s", obj)
	}
	if obj == "multi:softmax" { // its transformed output is the class index: recompute softprob
		width := m.Ensemble.Width(rt.Margin)
		margin := m.eval(rt.Margin, x, n, threads)
		for i := 0; i < n; i++ {
			softmax32(margin[i*width : (i+1)*width])
		}
		return margin, width, nil
	}
	width := m.Ensemble.Width(rt.Transformed)
	p := m.eval(rt.Transformed, x, n, threads)
	if width != 1 {
		return p, width, nil
	}
	out := make([]float64, 2*n)
	for i, v := range p {
		q := 1 - v
		if m.Flavor == "xgboost" { // xgboost's predict_proba subtracts in float32
			q = float64(1 - float32(v))
		}
		out[2*i], out[2*i+1] = q, v
	}
	return out, 2, nil
}

// softmax32 is xgboost's softmax, computed in float32 as the library does.
func softmax32(v []float64) {
	mx := float32(math.Inf(-1))
	for _, f := range v {
		mx = max(mx, float32(f))
	}
	var sum float32
	for i, f := range v {
		e := float32(math.Exp(float64(float32(f) - mx)))
		v[i] = float64(e)
		sum += e
	}
	for i := range v {
		v[i] = float64(float32(v[i]) / sum)
	}
}

func isClassification(objective string) bool {
	o := strings.Fields(objective)
	if len(o) == 0 {
		return false
	}
	switch o[0] {
	case "binary:logistic", "multi:softprob", "multi:softmax", "binary", "multiclass", "multiclassova",
		"softmax", "ova", "multiclass_ova", "one_vs_all":
		return true
	}
	return false
}

// labelColumn picks each row's class (the first of the most probable, as argmax does)
// and names it by the classifier's labels.
func (m *Model) labelColumn(probs []float64, width, n int) *tabular.Table {
	idx := make([]int, n)
	for i := 0; i < n; i++ {
		row := probs[i*width : (i+1)*width]
		best := 0
		if width == 2 { // binary: xgboost and lightgbm both say class 1 iff p > 0.5
			if row[1] > 0.5 {
				best = 1
			}
		} else {
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
		}
		idx[i] = best
	}
	col := tabular.Column{Name: "prediction"}
	switch l := m.labels; {
	case l != nil && len(l.strings) > 0:
		col.Type = tabular.String
		for _, k := range idx {
			col.Strings = append(col.Strings, l.strings[k])
		}
	case l != nil && len(l.floats) > 0:
		col.Type = tabular.Float64
		for _, k := range idx {
			col.Floats = append(col.Floats, l.floats[k])
		}
	default:
		col.Type = tabular.Int64
		for _, k := range idx {
			v := int64(k)
			if l != nil && len(l.ints) > 0 {
				v = l.ints[k]
			}
			col.Ints = append(col.Ints, v)
		}
	}
	return &tabular.Table{Columns: []tabular.Column{col}}
}

// classNames are the suffixes of the probability columns: the labels when known.
func (m *Model) classNames(width int) []string {
	names := make([]string, width)
	for i := range names {
		names[i] = strconv.Itoa(i)
		if l := m.labels; l != nil && i < l.len() {
			switch {
			case len(l.strings) > 0:
				names[i] = l.strings[i]
			case len(l.floats) > 0:
				names[i] = strconv.FormatFloat(l.floats[i], 'g', -1, 64)
			default:
				names[i] = strconv.FormatInt(l.ints[i], 10)
			}
		}
	}
	return names
}

// floatColumns splits row-major values into width columns named prefix (one column) or
// prefix_<suffix>.
func floatColumns(prefix string, v []float64, width int, suffixes []string) *tabular.Table {
	n := len(v) / max(width, 1)
	t := &tabular.Table{Columns: make([]tabular.Column, width)}
	for j := 0; j < width; j++ {
		name := prefix
		if width > 1 || suffixes != nil {
			s := strconv.Itoa(j)
			if suffixes != nil {
				s = suffixes[j]
			}
			name = prefix + "_" + s
		}
		col := make([]float64, n)
		for i := 0; i < n; i++ {
			col[i] = v[i*width+j]
		}
		t.Columns[j] = tabular.Column{Name: name, Type: tabular.Float64, Floats: col}
	}
	return t
}
