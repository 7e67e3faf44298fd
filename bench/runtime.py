"""Plinth's native tree evaluators against the libraries' own in-process predict, side by side
in one run on the same models and rows (issue 4's speed targets; figures in docs/benchmarks.md).

  XGBoost: 500 trees of depth 8 over 50 features; LightGBM: 500 trees of 63 leaves.
  Batch: 1,000,000 rows held in memory, 2 threads each (xgboost inplace_predict with
  nthread=2, lightgbm Booster.predict with num_threads=2; Plinth with 2 goroutines).
  Single row: one predict call per row (xgboost inplace_predict on a 1×50 array, lightgbm
  Booster.predict on a 1×50 array, Plinth's Eval on one row); median over many calls.

Run: .venv/bin/python bench/runtime.py [--rows 1000000] [--reps 5] [--work /tmp/plinth-runtime-bench]
Prints a markdown table and keeps the raw figures in <work>/results.json.
"""

import argparse
import json
import os
import platform
import subprocess
import time

import lightgbm as lgb
import numpy as np
import xgboost as xgb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FEATURES, TREES = 50, 500


def train_data(n, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, FEATURES)).astype(np.float32)
    x[rng.random(size=x.shape) < 0.02] = np.nan  # some missing values on the default branches
    w = rng.normal(size=FEATURES)
    y = (np.nan_to_num(x) @ w + rng.normal(size=n) > 0).astype(np.float32)
    return x, y


def median(v):
    return float(np.median(np.asarray(v)))


def time_batch(fn, reps):
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def time_single(fn, rows, calls):
    lat = []
    for i in range(calls):
        row = rows[i % len(rows)]
        t0 = time.perf_counter_ns()
        fn(row)
        lat.append(time.perf_counter_ns() - t0)
    return median(lat)


def go_side(lib, model, rows_file, reps, calls, work):
    binary = os.path.join(work, "runtime-bench")
    if not os.path.exists(binary):
        subprocess.run(["go", "build", "-o", binary, "./bench/cmd/runtime-bench"], cwd=ROOT, check=True)
    out = os.path.join(work, f"{lib}-plinth.f64")
    res = subprocess.run([binary, "-lib", lib, "-model", model, "-rows", rows_file, "-features", str(FEATURES),
                          "-threads", "2", "-reps", str(reps), "-single", str(calls), "-trees", str(TREES),
                          "-out", out], capture_output=True, text=True, check=True)
    return json.loads(res.stdout), np.fromfile(out, dtype="<f8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--single", type=int, default=20000)
    ap.add_argument("--work", default="/tmp/plinth-runtime-bench")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    xt, yt = train_data(100_000)
    rows, _ = train_data(args.rows, seed=2)
    rows_file = os.path.join(args.work, "rows.f32")
    rows.astype("<f4").tofile(rows_file)
    singles = [rows[i:i + 1] for i in range(1000)]
    results = {"machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.platform()}",
               "xgboost": xgb.__version__, "lightgbm": lgb.__version__, "rows": args.rows}

    xgb_model = os.path.join(args.work, "xgb.ubj")
    if not os.path.exists(xgb_model):
        print("bench: training xgboost (500 trees, depth 8)…", flush=True)
        b = xgb.train({"objective": "binary:logistic", "max_depth": 8, "nthread": 2, "tree_method": "hist",
                       "grow_policy": "depthwise", "min_child_weight": 0, "lambda": 0.1},
                      xgb.DMatrix(xt, label=yt), num_boost_round=TREES)
        b.save_model(xgb_model)
    booster = xgb.Booster(model_file=xgb_model)
    booster.set_param({"nthread": 2})
    want = booster.inplace_predict(rows)
    lib_batch = time_batch(lambda: booster.inplace_predict(rows), args.reps)
    lib_single = time_single(lambda r: booster.inplace_predict(r), singles, args.single)
    plinth, got = go_side("xgboost", xgb_model, rows_file, args.reps, args.single, args.work)
    results["xgboost_bench"] = {"library_batch_ms": lib_batch, "library_single_ns": lib_single, "plinth": plinth,
                                "max_abs_diff": float(np.max(np.abs(got - want)))}

    lgb_model = os.path.join(args.work, "lgb.txt")
    if not os.path.exists(lgb_model):
        print("bench: training lightgbm (500 trees, 63 leaves)…", flush=True)
        m = lgb.train({"objective": "binary", "num_leaves": 63, "min_data_in_leaf": 5, "verbose": -1, "num_threads": 2},
                      lgb.Dataset(xt, yt), num_boost_round=TREES)
        m.save_model(lgb_model)
    lb = lgb.Booster(model_file=lgb_model)
    want = lb.predict(rows, num_threads=2)
    lib_batch = time_batch(lambda: lb.predict(rows, num_threads=2), args.reps)
    lib_single = time_single(lambda r: lb.predict(r, num_threads=1), singles, args.single)
    plinth, got = go_side("lightgbm", lgb_model, rows_file, args.reps, args.single, args.work)
    results["lightgbm_bench"] = {"library_batch_ms": lib_batch, "library_single_ns": lib_single, "plinth": plinth,
                                 "max_abs_diff": float(np.max(np.abs(got - want)))}

    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"\n{results['machine']}; xgboost {xgb.__version__}, lightgbm {lgb.__version__}; {args.rows:,} rows, 2 threads\n")
    print("| model | library batch (median) | Plinth batch (median) | batch speed-up | library 1 row | Plinth 1 row | 1-row speed-up | Plinth ns/tree/row (1 row / batch) | max abs diff |")
    print("|---|---|---|---|---|---|---|---|---|")
    for lib in ("xgboost", "lightgbm"):
        r = results[f"{lib}_bench"]
        lb_ms, pl_ms = median(r["library_batch_ms"]), r["plinth"]["batch_median_ms"]
        ls_ns, ps_ns = r["library_single_ns"], r["plinth"]["single_row_median_ns"]
        print(f"| {lib} | {lb_ms:,.0f} ms | {pl_ms:,.0f} ms | {lb_ms / pl_ms:.2f}× | {ls_ns / 1e3:,.1f} µs | "
              f"{ps_ns / 1e3:,.2f} µs | {ls_ns / ps_ns:.1f}× | {r['plinth']['single_row_ns_per_tree']:.2f} / "
              f"{r['plinth']['batch_ns_per_tree_row']:.2f} | {r['max_abs_diff']:.1e} |")


if __name__ == "__main__":
    main()
