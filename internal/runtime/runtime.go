// Package runtime loads MLflow models and evaluates the ones Plinth can run natively
// (XGBoost, LightGBM) without Python. The tree evaluators live in runtime/xgboost and
// runtime/lightgbm and meet the Ensemble interface; this package adapts them to MLflow's
// pyfunc semantics (what `predict` returns for each logged model class) and to tables.
package runtime

import (
	goruntime "runtime"
	"sync"
)

// Kind selects which output an ensemble computes.
type Kind uint8

const (
	// Transformed is what the library's own Booster.predict returns: the objective's
	// output transform applied to the margin (probabilities for logistic and softprob,
	// the class index for multi:softmax, exp for count/gamma/tweedie, …).
	Transformed Kind = iota
	// Margin is the raw score before the transform (xgboost output_margin=True,
	// lightgbm raw_score=True), base score included.
	Margin
)

func (k Kind) String() string {
	if k == Margin {
		return "margin"
	}
	return "transformed"
}

// Feature is one input column of a model, as the model file describes it.
type Feature struct {
	Name string
	// Categorical features take category codes (0, 1, 2, …) as values.
	Categorical bool
	// Categories, when the model file stores them (LightGBM's pandas_categorical, the
	// XGBoost ≥3.1 categories container), lists the category of each code, so that
	// string values can be recoded: code i is Categories[i].
	Categories []string
}

// Ensemble is a compiled tree model. Implementations are immutable after load and safe
// for concurrent use; Eval does not allocate.
type Ensemble interface {
	// Features lists the model's input columns in order; len(Features()) is the row width.
	Features() []Feature
	// Width is the number of outputs per row for the kind (1 for binary and regression,
	// the number of classes for softprob/multiclass; 1 for multi:softmax Transformed).
	Width(k Kind) int
	// Eval computes n rows. x holds the rows one after another, len(Features()) values
	// each, NaN meaning missing; out receives Width(k) values per row, row after row.
	Eval(k Kind, x []float64, n int, out []float64)
	// Objective names the training objective as the library spells it
	// ("binary:logistic", "multiclass", …).
	Objective() string
}

// parallelMin is the smallest number of rows worth a goroutine of its own: a few blocks
// of a lockstep walk, tens of microseconds even for small ensembles, against about one
// for starting a goroutine. (A served request of 1,000 rows uses both cores.)
const parallelMin = 256

// EvalParallel is Eval over n rows split into contiguous blocks across up to threads
// goroutines (0: GOMAXPROCS); small inputs run on the calling goroutine.
func EvalParallel(e Ensemble, k Kind, x []float64, n int, out []float64, threads int) {
	if threads <= 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	workers := min(threads, n/parallelMin)
	if workers <= 1 {
		e.Eval(k, x, n, out)
		return
	}
	nf, w := len(e.Features()), e.Width(k)
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.Eval(k, x[lo*nf:hi*nf], hi-lo, out[lo*w:hi*w])
		}()
	}
	wg.Wait()
}
