// Command runtime-bench times Plinth's native tree evaluators on a model file and a matrix of
// rows that bench/runtime.py prepared, so the library's own predict and Plinth's run on the
// same model and data in one run. It prints one JSON object on stdout.
//
//	runtime-bench -lib xgboost -model model.ubj -rows rows.f32 -features 50 -threads 2
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"time"

	rt "github.com/plinth-ml/plinth/internal/runtime"
	"github.com/plinth-ml/plinth/internal/runtime/lightgbm"
	"github.com/plinth-ml/plinth/internal/runtime/xgboost"
)

type result struct {
	Library     string    `json:"library"`
	Rows        int       `json:"rows"`
	Threads     int       `json:"threads"`
	Trees       int       `json:"trees"`
	LoadMs      float64   `json:"load_ms"`
	BatchMs     []float64 `json:"batch_ms"`
	BatchMedian float64   `json:"batch_median_ms"`
	SingleNs    float64   `json:"single_row_median_ns"`
	NsPerTree   float64   `json:"single_row_ns_per_tree"`
	BatchNsTree float64   `json:"batch_ns_per_tree_row"`
}

func main() {
	lib := flag.String("lib", "xgboost", "xgboost or lightgbm")
	modelPath := flag.String("model", "", "model file")
	rowsPath := flag.String("rows", "", "rows as little-endian float32, row after row")
	features := flag.Int("features", 50, "values per row")
	threads := flag.Int("threads", 2, "goroutines for the batch")
	reps := flag.Int("reps", 5, "batch repetitions")
	single := flag.Int("single", 20000, "single-row predictions to time")
	trees := flag.Int("trees", 0, "trees in the model (for ns per tree)")
	outPath := flag.String("out", "", "write the batch's predictions here (float64 LE) for cross-checking")
	flag.Parse()
	if err := run(*lib, *modelPath, *rowsPath, *features, *threads, *reps, *single, *trees, *outPath); err != nil {
		fmt.Fprintln(os.Stderr, "runtime-bench:", err)
		os.Exit(1)
	}
}

func run(lib, modelPath, rowsPath string, features, threads, reps, single, trees int, outPath string) error {
	b, err := os.ReadFile(modelPath)
	if err != nil {
		return err
	}
	start := time.Now()
	var ens rt.Ensemble
	switch lib {
	case "xgboost":
		ens, err = xgboost.Load(b)
	case "lightgbm":
		ens, err = lightgbm.Load(b)
	default:
		err = fmt.Errorf("unknown -lib %s", lib)
	}
	if err != nil {
		return err
	}
	loadMs := float64(time.Since(start)) / 1e6
	raw, err := os.ReadFile(rowsPath)
	if err != nil {
		return err
	}
	if len(ens.Features()) != features {
		return fmt.Errorf("model takes %d features, -features is %d", len(ens.Features()), features)
	}
	n := len(raw) / 4 / features
	x := make([]float64, n*features)
	for i := range x {
		x[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
	}
	width := ens.Width(rt.Transformed)
	out := make([]float64, n*width)
	res := result{Library: lib, Rows: n, Threads: threads, Trees: trees, LoadMs: loadMs}
	for r := 0; r < reps; r++ {
		t0 := time.Now()
		rt.EvalParallel(ens, rt.Transformed, x, n, out, threads)
		res.BatchMs = append(res.BatchMs, float64(time.Since(t0))/1e6)
	}
	res.BatchMedian = median(res.BatchMs)
	// Single rows, one call each, as a serving request would make them.
	one := make([]float64, width)
	lat := make([]float64, 0, single)
	for i := 0; i < single; i++ {
		row := x[(i%n)*features : (i%n+1)*features]
		t0 := time.Now()
		ens.Eval(rt.Transformed, row, 1, one)
		lat = append(lat, float64(time.Since(t0)))
	}
	res.SingleNs = median(lat)
	if trees > 0 {
		res.NsPerTree = res.SingleNs / float64(trees)
		res.BatchNsTree = res.BatchMedian * 1e6 * float64(threads) / float64(n) / float64(trees)
	}
	if outPath != "" {
		buf := make([]byte, 8*len(out))
		for i, v := range out {
			binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(v))
		}
		if err := os.WriteFile(outPath, buf, 0o644); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
