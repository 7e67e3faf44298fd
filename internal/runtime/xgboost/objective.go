package xgboost

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// transform is the objective's output transform (xgboost's PredTransform).
type transform uint8

const (
	identity    transform = iota
	sigmoid               // binary:logistic, reg:logistic
	exponential           // count:poisson, reg:gamma, reg:tweedie
	hinge                 // binary:hinge: 1 if margin > 0 else 0
	softprob              // multi:softprob: softmax over the classes
	argmax                // multi:softmax: the index of the largest margin
)

// intercept says how base_score (stored in output space) becomes a margin
// (xgboost's ProbToMargin).
type intercept uint8

const (
	asIs  intercept = iota
	logit           // the logistic family
	logOf           // the log-link family
)

type objectiveSpec struct {
	transform transform
	intercept intercept
}

// objectives are the ones Plinth evaluates; anything else is refused at load with its name.
var objectives = map[string]objectiveSpec{
	"binary:logistic":      {sigmoid, logit},
	"reg:logistic":         {sigmoid, logit},
	"binary:logitraw":      {identity, asIs},
	"binary:hinge":         {hinge, asIs},
	"reg:squarederror":     {identity, asIs},
	"reg:linear":           {identity, asIs}, // the pre-1.0 name of reg:squarederror
	"reg:squaredlogerror":  {identity, asIs},
	"reg:pseudohubererror": {identity, asIs},
	"reg:absoluteerror":    {identity, asIs},
	"reg:quantileerror":    {identity, asIs},
	"count:poisson":        {exponential, logOf},
	"reg:gamma":            {exponential, logOf},
	"reg:tweedie":          {exponential, logOf},
	"multi:softprob":       {softprob, asIs},
	"multi:softmax":        {argmax, asIs},
	"rank:pairwise":        {identity, asIs},
	"rank:ndcg":            {identity, asIs},
	"rank:map":             {identity, asIs},
}

func lookupObjective(name string) (objectiveSpec, error) {
	spec, ok := objectives[name]
	if ok {
		return spec, nil
	}
	if name == "" {
		return spec, fmt.Errorf("xgboost: the model names no objective")
	}
	if strings.HasPrefix(name, "survival:") {
		return spec, fmt.Errorf("xgboost: objective %q is not supported (survival models are not evaluated natively)", name)
	}
	return spec, fmt.Errorf("xgboost: objective %q is not supported", name)
}

// floatList parses xgboost's parameter vectors: a scalar ("5E-1"), or since 3.1 a
// bracketed list ("[5E-1]", "[1E0,2E0]") or a tuple ("(0.1, 0.9)"). Values are parsed
// straight to float32, xgboost's precision.
func floatList(s string) ([]float32, error) {
	t := strings.TrimSpace(s)
	if n := len(t); n >= 2 && (t[0] == '[' && t[n-1] == ']' || t[0] == '(' && t[n-1] == ')') {
		t = t[1 : n-1]
	}
	if strings.TrimSpace(t) == "" {
		return nil, fmt.Errorf("%q holds no number", s)
	}
	parts := strings.Split(t, ",")
	out := make([]float32, 0, len(parts))
	for _, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number or list of numbers", s)
		}
		out = append(out, float32(f))
	}
	return out, nil
}

// toMargin converts a base_score from output space to a margin the way xgboost's
// objectives do, in float32.
func (s objectiveSpec) toMargin(base float32) (float32, error) {
	switch s.intercept {
	case logit:
		if !(base > 0 && base < 1) {
			return 0, fmt.Errorf("base_score %v must be in (0, 1) for a logistic objective", base)
		}
		q := float32(1)/base - 1
		return -logf(q), nil
	case logOf:
		if !(base > 0) {
			return 0, fmt.Errorf("base_score %v must be positive for a log-link objective", base)
		}
		return logf(base), nil
	}
	return base, nil
}

// sigmoid32 is xgboost's common::Sigmoid: exp's argument clamped at 88.7 so it cannot
// overflow, and a tiny epsilon against division by zero, all in float32.
func sigmoid32(x float32) float32 {
	const eps float32 = 1e-16
	e := expf(min(-x, 88.7))
	return 1 / (e + 1 + eps)
}

// transformRow applies the objective's transform to one row of margins (one per output
// group) and writes the outputs (Width(Transformed) of them).
func (s objectiveSpec) transformRow(margin []float32, out []float64) {
	switch s.transform {
	case identity:
		for i, v := range margin {
			out[i] = float64(v)
		}
	case sigmoid:
		for i, v := range margin {
			out[i] = float64(sigmoid32(v))
		}
	case exponential:
		for i, v := range margin {
			out[i] = float64(expf(v))
		}
	case hinge:
		for i, v := range margin {
			if v > 0 {
				out[i] = 1
			} else {
				out[i] = 0
			}
		}
	case softprob:
		// As xgboost's common::Softmax: the max in float32, exps in float32 summed in
		// float64, each divided in float32 by the sum rounded to float32.
		wmax := margin[0]
		for _, v := range margin[1:] {
			wmax = max(wmax, v)
		}
		var sum float64
		for i, v := range margin {
			e := expf(v - wmax)
			out[i] = float64(e)
			sum += float64(e)
		}
		div := float32(sum)
		for i := range margin {
			out[i] = float64(float32(out[i]) / div)
		}
	case argmax:
		best := 0
		for i, v := range margin {
			if v > margin[best] {
				best = i
			}
		}
		out[0] = float64(best)
	}
}

// expf and logf are float32 exp and log. xgboost calls the C library's expf/logf, whose
// last bit differs from the correctly rounded value for a few inputs in a thousand (and
// differs between C libraries), so a transformed output may be one float32 step from
// xgboost's — far inside the 1e-6 relative the runtime promises. Margins are unaffected.
func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

func logf(x float32) float32 { return float32(math.Log(float64(x))) }
