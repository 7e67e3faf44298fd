package lightgbm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// outputTransform is what an objective's ConvertOutput does to the raw score.
type outputTransform uint8

const (
	transformIdentity      outputTransform = iota
	transformSignedSquare                  // "regression sqrt": sign(x)·x·x
	transformSigmoid                       // 1/(1+exp(-σ·x)) on every output
	transformSoftmax                       // multiclass
	transformExp                           // poisson, gamma, tweedie
	transformLogOnePlusExp                 // cross_entropy_lambda: log1p(exp(x))
)

// objective is the parsed objective line ("binary sigmoid:1", "multiclass num_class:3", …).
type objective struct {
	name      string
	transform outputTransform
	sigmoid   float64
}

// supportedObjectives lists the names LightGBM writes in model files (and the older
// spellings its loader still accepts), for the error on an unknown one.
const supportedObjectives = "regression, regression_l1, huber, fair, quantile, mape, poisson, gamma, tweedie, " +
	"binary, multiclass, multiclassova, cross_entropy, cross_entropy_lambda, lambdarank, rank_xendcg, custom, none"

// parseObjective reads the objective line. A model trained with a custom objective
// function has no objective line; LightGBM then returns the raw score, and so do we.
func parseObjective(line string, present bool, numClass int) (objective, error) {
	if !present {
		return objective{name: "custom"}, nil
	}
	tokens := strings.Fields(line)
	if len(tokens) == 0 {
		return objective{}, fmt.Errorf("objective line is empty")
	}
	name := tokens[0]
	params := map[string]string{}
	sqrt := false
	for _, t := range tokens[1:] {
		if t == "sqrt" {
			sqrt = true
			continue
		}
		if k, v, ok := strings.Cut(t, ":"); ok {
			params[k] = v
		}
	}
	o := objective{name: name}
	switch name {
	case "regression", "regression_l1", "huber", "fair", "quantile", "mape", "mean_absolute_percentage_error":
		// These share RegressionL2loss's output conversion, sqrt included.
		if sqrt {
			o.transform = transformSignedSquare
		}
	case "poisson", "gamma", "tweedie":
		o.transform = transformExp
	case "binary":
		s, err := positiveParam(name, params, "sigmoid")
		if err != nil {
			return o, err
		}
		o.transform, o.sigmoid = transformSigmoid, s
	case "multiclass", "multiclassova":
		k, err := strconv.Atoi(params["num_class"])
		if err != nil {
			return o, fmt.Errorf("objective %q: missing or bad num_class", clip(line))
		}
		if k != numClass {
			return o, fmt.Errorf("objective says num_class:%d, header num_class=%d", k, numClass)
		}
		o.transform = transformSoftmax
		if name == "multiclassova" {
			s, err := positiveParam(name, params, "sigmoid")
			if err != nil {
				return o, err
			}
			o.transform, o.sigmoid = transformSigmoid, s
		}
	case "cross_entropy", "xentropy":
		o.transform, o.sigmoid = transformSigmoid, 1
	case "cross_entropy_lambda", "xentlambda":
		o.transform = transformLogOnePlusExp
	case "lambdarank", "rank_xendcg":
	case "custom", "none", "null", "na":
	default:
		return o, fmt.Errorf("unsupported objective %q (supported: %s)", clip(name), supportedObjectives)
	}
	switch name {
	case "multiclass", "multiclassova", "custom", "none", "null", "na":
	default:
		if numClass != 1 {
			return o, fmt.Errorf("objective %s has one output, header says num_class=%d", name, numClass)
		}
	}
	return o, nil
}

func positiveParam(name string, params map[string]string, key string) (float64, error) {
	v, err := strconv.ParseFloat(params[key], 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("objective %s: %s must be a positive number, got %q", name, key, clip(params[key]))
	}
	return v, nil
}

// apply converts one row's raw scores in place, the way the objective's ConvertOutput does
// (same operations in the same order, in float64).
func (o *objective) apply(row []float64) {
	switch o.transform {
	case transformSignedSquare:
		x := row[0]
		s := 0.0
		if x > 0 {
			s = 1
		} else if x < 0 {
			s = -1
		}
		row[0] = s * x * x
	case transformSigmoid:
		for i, x := range row {
			row[i] = 1 / (1 + accurateExp(-o.sigmoid*x))
		}
	case transformSoftmax:
		wmax := row[0]
		for _, x := range row[1:] {
			if x > wmax {
				wmax = x
			}
		}
		sum := 0.0
		for i, x := range row {
			e := accurateExp(x - wmax)
			row[i] = e
			sum += e
		}
		for i := range row {
			row[i] /= sum
		}
	case transformExp:
		row[0] = accurateExp(row[0])
	case transformLogOnePlusExp:
		row[0] = math.Log1p(accurateExp(row[0]))
	}
}
