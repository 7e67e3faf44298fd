"""Batch inference: a Plinth batch job against Python in-process scoring and the batch-transform
pattern, side by side in one run on the same rows and model (issue 6's speed targets; figures in
docs/benchmarks.md).

  Model: the runtime benchmark's XGBoost model (500 trees of depth 8 over 50 features f0…f49,
  the same data, parameters and seed as bench/runtime.py; trained and cached by bench/serving.py's
  train_model in <work>/xgb.ubj).
  Input: --rows rows of 50 float32 features (standard normal, 2% NaN, as in the runtime
  benchmark) and an int64 id column (0…rows-1), in --files Parquet files with row groups of
  --row-group rows (snappy), generated once with a fixed seed and reused.
  Methods:
    plinth      `plinth server` on a fresh SQLite database and local artifact folder (restarted
                for every repetition, the database kept); the model logged with the unmodified
                mlflow client and registered as bench-xgb@champion; timed: `plinth batch run
                --model models:/bench-xgb@champion --input DIR --output OUT --passthrough id
                --wait --poll 100ms --json`, from submission until the command exits (--poll:
                the default 1 s would add up to a second). The server scores the shards itself;
                its peak RSS is VmHWM from /proc. The output is checked: every id once, and a
                sample of the predictions (--sample) against xgboost's inplace_predict.
    python      a child process: pyarrow ParquetFile.iter_batches (pyarrow's default 65,536
                rows) → numpy → xgboost Booster.inplace_predict (nthread=2) → pyarrow
                ParquetWriter (id + prediction, one output file per input file). Timed inside
                the child from loading the model to closing the last file; its peak RSS is its
                own VmHWM.
    transform   `mlflow models serve --env-manager local` with W uvicorn workers and W client
                threads (W from --transform-workers, default 1 and 2), the first --transform-rows
                rows posted once each in 1,000-row dataframe_split requests over keep-alive
                connections; the predictions are collected and written to Parquet with the ids.
                The request bodies are built before the clock starts (their building time is
                reported apart), and the server gets 3 warm-up requests first: the pattern's
                best case. Measured on the subset only: its rows/s is compared with the others'.
  Plinth and Python alternate their order between repetitions; figures are medians.

Run: .venv/bin/python bench/batch.py [--rows 10000000] [--files 4] [--reps 3]
     [--work /tmp/plinth-batch-bench] [--transform-rows 200000] [--skip-transform]
     [--plinth bin/plinth] [--no-build] [--keep]
A smoke run: .venv/bin/python bench/batch.py --rows 200000 --reps 1 --transform-rows 20000
Prints a markdown table and keeps the raw figures in <work>/results.json.
"""

import argparse
import glob
import http.client as httpclient
import json
import os
import platform
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xgboost as xgb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serving  # noqa: E402  the serving benchmark's model, data, HTTP and process helpers
from serving import COLUMNS, FEATURES, ROOT, free_port, http, median, start, stop, stop_all, wait_for  # noqa: E402

DATA_SEED = 2  # the runtime benchmark scores rows made with seed 2
DATA_LAYOUT = 1  # bump when the generator changes, so old inputs are not reused
CHUNK_ROWS = 1000  # rows per batch-transform request
MODEL_URI = "models:/bench-xgb@champion"


# ---- input data -------------------------------------------------------------------------

def feature_block(file_index, group, n):
    """n rows like the runtime benchmark's (standard normal float32, 2% NaN), seeded by their
    place so that any row group can be made again alone and in bounded memory."""
    rng = np.random.default_rng([DATA_SEED, file_index, group])
    x = rng.standard_normal(size=(n, FEATURES), dtype=np.float32)
    x[rng.random(size=x.shape, dtype=np.float32) < 0.02] = np.nan
    return x


def input_schema():
    return pa.schema([("id", pa.int64())] + [(c, pa.float32()) for c in COLUMNS])


def make_input(work, rows, files, group_rows):
    """<work>/input-R-F-G/part-NNNNN.parquet, made once; the description beside the folder
    (not in it: the job would try to score it) is written last and marks it complete."""
    name = f"input-{rows}-{files}-{group_rows}"
    folder, meta_path = os.path.join(work, name), os.path.join(work, name + ".json")
    meta = {"layout": DATA_LAYOUT, "rows": rows, "files": files, "row_group": group_rows, "seed": DATA_SEED}
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            if json.load(f) == meta:
                return folder
    print(f"bench: writing {rows:,} rows into {files} Parquet files under {folder}…", flush=True)
    t0 = time.monotonic()
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    per_file = -(-rows // files)
    first = 0
    for i in range(files):
        n = min(per_file, rows - first)
        if n <= 0:
            break
        path = os.path.join(folder, f"part-{i:05d}.parquet")
        with pq.ParquetWriter(path + ".tmp", input_schema(), compression="snappy") as w:
            for g, lo in enumerate(range(0, n, group_rows)):
                m = min(group_rows, n - lo)
                x = feature_block(i, g, m)
                ids = pa.array(np.arange(first + lo, first + lo + m, dtype=np.int64))
                w.write_batch(pa.record_batch([ids] + [pa.array(x[:, j]) for j in range(FEATURES)],
                                              schema=input_schema()), row_group_size=group_rows)
        os.replace(path + ".tmp", path)
        first += n
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    print(f"bench: input written in {time.monotonic() - t0:.1f} s "
          f"({dir_mb(folder):,.0f} MB)", flush=True)
    return folder


def input_files(folder):
    return sorted(glob.glob(os.path.join(folder, "*.parquet")))


def dir_mb(folder):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs) / 2**20


def batch_matrix(batch):
    """The feature columns of a record batch (id first) as one C-ordered float32 array."""
    x = np.empty((batch.num_rows, FEATURES), dtype=np.float32)
    for j in range(FEATURES):
        x[:, j] = batch.column(j + 1).to_numpy(zero_copy_only=False)
    return x


# ---- memory and CPU of processes ----------------------------------------------------------

def vmhwm_mb(pid="self"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def group_peak_mb(pgid):
    """VmHWM summed over the live processes of a process group (the server and any child)."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[2]) != pgid:
                    continue
            total += vmhwm_mb(pid)
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return total


def children_cpu_s():
    t = os.times()
    return t.children_user + t.children_system


# ---- 1. Plinth ----------------------------------------------------------------------------

class PlinthBatch:
    """`plinth server` on its own SQLite database and artifact folder (fresh for each script run,
    kept across repetitions), scoring the jobs that `plinth batch run` submits to it."""

    def __init__(self, args, booster):
        self.args, self.booster = args, booster
        self.dir = os.path.join(args.work, "plinth")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.registered = False

    def start(self):
        self.port = free_port()
        base = self.base = f"http://127.0.0.1:{self.port}"
        self.proc = start([self.args.plinth, "server", "--port", str(self.port),
                           "--db", "sqlite:" + os.path.join(self.dir, "plinth.db"),
                           "--artifacts", os.path.join(self.dir, "artifacts"),
                           "--model-cache", os.path.join(self.dir, "model-cache"),
                           "--prediction-log-dir", os.path.join(self.dir, "prediction-wal"),
                           "--predictions", os.path.join(self.dir, "predictions")] + self.args.plinth_args.split(),
                          os.path.join(self.args.work, "plinth.log"), cwd=self.dir)  # defaults land here too
        wait_for("plinth server", lambda: http("GET", base + "/health", timeout=5)[0] == 200, 60, self.proc)
        if not self.registered:
            self.register()
            self.registered = True

    def register(self):
        import mlflow
        from mlflow import MlflowClient
        mlflow.set_tracking_uri(self.base)
        mlflow.set_experiment("batch-bench")
        signature, example = serving.signature_and_example(self.booster)
        with mlflow.start_run():
            info = mlflow.xgboost.log_model(self.booster, name="model", signature=signature,
                                            input_example=example, registered_model_name="bench-xgb")
        MlflowClient().set_registered_model_alias("bench-xgb", "champion", str(info.registered_model_version))

    def run(self, input_dir, out):
        """Submits the job and waits for it; returns the figures of the run."""
        shutil.rmtree(out, ignore_errors=True)  # a new output each time: the same spec would be the same job
        cmd = [self.args.plinth, "batch", "run", "--server", self.base, "--model", MODEL_URI, "--input", input_dir,
               "--output", out, "--passthrough", "id", "--wait", "--poll", self.args.poll, "--json"]
        cpu0 = serving.group_stats(self.proc.pid)["cpu_s"]
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=self.args.timeout)
        seconds = time.perf_counter() - t0
        server_cpu = serving.group_stats(self.proc.pid)["cpu_s"] - cpu0
        if res.returncode != 0:
            raise RuntimeError(f"plinth batch run exited with {res.returncode}:\n{res.stderr[-2000:]}{res.stdout[-2000:]}")
        job = last_json_object(res.stdout)
        if job.get("status") != "SUCCEEDED":
            raise RuntimeError(f"plinth batch run: job ended {job.get('status')}: {json.dumps(job)[:2000]}")
        return {"seconds": seconds, "server_cpu_s": round(server_cpu, 3), "peak_rss_mb": group_peak_mb(self.proc.pid),
                "rows_out": job.get("rows_out"), "rows_rejected": job.get("rows_rejected"),
                "shards_total": job.get("shards_total"), "manifest": job.get("manifest"), "job_id": job.get("id"),
                "job_s": job_seconds(job, "created_at"), "job_running_s": job_seconds(job, "started_at")}

    def stop(self):
        stop(self.proc)


def job_seconds(job, since):
    """Seconds from the job's `since` time to its end, by the server's clock (None if unknown)."""
    try:
        t0, t1 = (datetime.fromisoformat(job[k].replace("Z", "+00:00")) for k in (since, "ended_at"))
    except (KeyError, AttributeError, ValueError):
        return None
    return round((t1 - t0).total_seconds(), 3)


def last_json_object(text):
    """The last JSON object in the command's output (--json prints the job at the end; a
    progress display may come before it)."""
    dec = json.JSONDecoder()
    starts = [i for i, ch in enumerate(text) if ch == "{" and (i == 0 or text[i - 1] == "\n")]
    for i in reversed(starts):
        try:
            obj, _ = dec.raw_decode(text, i)
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj.get("job", obj) if isinstance(obj.get("job"), dict) else obj
    raise RuntimeError(f"plinth batch run printed no JSON object:\n{text[-2000:]}")


def output_parts(out):
    """The parts the manifest commits, with the rows it says each has."""
    with open(os.path.join(out, "_manifest.json")) as f:
        manifest = json.load(f)
    parts = [(os.path.join(out, p["path"]), p.get("rows")) for p in manifest.get("parts", [])]
    if not parts:
        raise RuntimeError(f"{out}/_manifest.json lists no parts")
    return parts, manifest


def check_plinth_output(out, input_dir, rows, booster, sample, seed=7):
    """Every id exactly once, manifest row counts right, and a random sample of the
    predictions against xgboost's own inplace_predict on the same input rows."""
    parts, manifest = output_parts(out)
    ids, preds, pred_name = [], [], None
    for path, want_rows in parts:
        t = pq.read_table(path)
        if want_rows is not None and t.num_rows != want_rows:
            raise RuntimeError(f"{path}: {t.num_rows} rows, the manifest says {want_rows}")
        others = [c for c in t.column_names if c != "id"]
        if "id" not in t.column_names or len(others) != 1:
            raise RuntimeError(f"{path}: want columns id and one prediction column, got {t.schema}")
        pred_name = others[0]
        ids.append(t["id"].to_numpy())
        preds.append(t[pred_name].to_numpy().astype(np.float64))
    ids, preds = np.concatenate(ids), np.concatenate(preds)
    if len(ids) != rows or ids.min() < 0 or ids.max() >= rows or np.unique(ids).size != rows:
        raise RuntimeError(f"{out}: {len(ids):,} rows, {np.unique(ids).size:,} distinct ids; want each of {rows:,} once")
    by_id = np.empty(rows)
    by_id[ids] = preds
    want_ids, want = library_predictions(input_dir, booster, sample, seed)
    diff = float(np.max(np.abs(by_id[want_ids] - want)))
    return {"rows": int(len(ids)), "parts": len(parts), "prediction_column": pred_name, "sampled": int(len(want_ids)),
            "max_abs_diff": diff, "output_mb": round(dir_mb(out), 1), "manifest_totals": manifest.get("totals")}


def library_predictions(input_dir, booster, sample, seed):
    """xgboost's predictions for a random sample of ids (sorted), read back from the input."""
    rng = np.random.default_rng(seed)
    total = sum(pq.ParquetFile(p).metadata.num_rows for p in input_files(input_dir))
    wanted = np.sort(rng.choice(total, size=min(sample, total), replace=False))
    ids, preds = [], []
    for path in input_files(input_dir):
        for b in pq.ParquetFile(path).iter_batches(batch_size=131072, columns=["id"] + COLUMNS):
            bid = b.column(0).to_numpy()
            keep = np.isin(bid, wanted, assume_unique=True)
            if keep.any():
                ids.append(bid[keep])
                preds.append(booster.inplace_predict(batch_matrix(b.filter(pa.array(keep)))).astype(np.float64))
    return np.concatenate(ids), np.concatenate(preds)


# ---- 2. Python in-process -----------------------------------------------------------------

def inprocess_child(input_dir, out, model_path):
    """Runs in a child process: read → predict → write, one output file per input file."""
    t0 = time.perf_counter()
    booster = xgb.Booster(model_file=model_path)
    booster.set_param({"nthread": 2})
    os.makedirs(out, exist_ok=True)
    schema = pa.schema([("id", pa.int64()), ("prediction", pa.float32())])
    rows = 0
    for i, path in enumerate(input_files(input_dir)):
        with pq.ParquetWriter(os.path.join(out, f"part-{i:05d}.parquet"), schema) as w:
            for b in pq.ParquetFile(path).iter_batches(columns=["id"] + COLUMNS):
                p = booster.inplace_predict(batch_matrix(b))
                w.write_batch(pa.record_batch([b.column(0), pa.array(p)], schema=schema))
                rows += b.num_rows
    print(json.dumps({"seconds": time.perf_counter() - t0, "rows": rows, "peak_rss_mb": vmhwm_mb()}))


def run_python(args, input_dir, out, model_path):
    shutil.rmtree(out, ignore_errors=True)
    cpu0 = children_cpu_s()
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, os.path.abspath(__file__), "--inprocess-child", input_dir, out, model_path],
                         capture_output=True, text=True, timeout=args.timeout)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"python in-process child failed:\n{res.stderr[-3000:]}")
    r = json.loads(res.stdout.strip().splitlines()[-1])
    r.update(wall_s=round(wall, 3), cpu_s=round(children_cpu_s() - cpu0, 3))
    return r


# ---- 3. the batch-transform pattern ------------------------------------------------------

def transform_requests(input_dir, rows):
    """The first `rows` rows as 1,000-row dataframe_split bodies, numbers in float32's shortest
    form (they read back as the same float32 values), NaN as null; with their ids and matrix."""
    xs, ids, n = [], [], 0
    for path in input_files(input_dir):
        for b in pq.ParquetFile(path).iter_batches(batch_size=131072, columns=["id"] + COLUMNS):
            take = min(b.num_rows, rows - n)
            xs.append(batch_matrix(b)[:take])
            ids.append(b.column(0).to_numpy()[:take])
            n += take
            if n >= rows:
                break
        if n >= rows:
            break
    x, ids = np.concatenate(xs), np.concatenate(ids)
    text = x.astype(str)
    text[np.isnan(x)] = "null"
    head = '{"dataframe_split":{"columns":' + json.dumps(COLUMNS) + ',"data":['
    bodies = []
    for lo in range(0, len(x), CHUNK_ROWS):
        rows_text = ",".join("[" + ",".join(r) + "]" for r in text[lo:lo + CHUNK_ROWS].tolist())
        bodies.append((head + rows_text + "]}}").encode())
    return bodies, ids, x


class Poster:
    """One keep-alive connection posting bodies to /invocations."""

    def __init__(self, port):
        self.conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=300)

    def post(self, body):
        self.conn.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
        r = self.conn.getresponse()
        raw = r.read()
        if r.status != 200:
            raise RuntimeError(f"/invocations: HTTP {r.status}: {raw[:500]!r}")
        return np.asarray(json.loads(raw)["predictions"], dtype=np.float64).ravel()

    def close(self):
        self.conn.close()


def run_transform(port, bodies, ids, threads, out):
    """Posts every body once from `threads` client threads (each takes the next body), then
    writes the predictions with their ids; returns the seconds from the first request to the
    written file."""
    todo = queue.SimpleQueue()
    for i in range(len(bodies)):
        todo.put(i)
    results, errors = [None] * len(bodies), []

    def client():
        p = Poster(port)
        try:
            while not errors:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                results[i] = p.post(bodies[i])
        except Exception as e:  # noqa: BLE001 - reported by the caller
            errors.append(e)
        finally:
            p.close()

    t0 = time.perf_counter()
    workers = [threading.Thread(target=client) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    preds = np.concatenate(results)
    pq.write_table(pa.table({"id": ids, "prediction": preds.astype(np.float32)}), out)
    return time.perf_counter() - t0, preds


def transform_variant(args, model_dir, workers, bodies, ids, x, booster):
    """One `mlflow models serve` with `workers` workers and as many client threads, timed
    --reps passes over the subset."""
    name = f"transform-{workers}w"
    srv = serving.MLflowServer(name, args, model_dir, workers if workers > 1 else None)
    t0 = time.monotonic()
    srv.start()
    startup = time.monotonic() - t0
    try:
        warm = Poster(srv.port)
        for b in bodies[:3]:
            warm.post(b)
        warm.close()
        runs = []
        for rep in range(args.reps):
            cpu0 = serving.group_stats(srv.proc.pid)["cpu_s"]
            os.makedirs(os.path.join(args.work, "out"), exist_ok=True)
            seconds, preds = run_transform(srv.port, bodies, ids, workers, os.path.join(args.work, "out", f"{name}.parquet"))
            runs.append({"seconds": seconds, "rows": len(ids), "rows_per_s": len(ids) / seconds,
                         "server_cpu_s": round(serving.group_stats(srv.proc.pid)["cpu_s"] - cpu0, 3),
                         "rss_mb": round(serving.group_stats(srv.proc.pid)["rss_mb"], 1)})
            print(f"rep {rep + 1}/{args.reps} {name:14s} {seconds:8.2f} s  {len(ids) / seconds:>11,.0f} rows/s "
                  f"(on {len(ids):,} rows)", flush=True)
        diff = float(np.max(np.abs(preds - booster.inplace_predict(x).astype(np.float64))))
        return {"workers": workers, "client_threads": workers, "startup_s": round(startup, 2), "runs": runs,
                "max_abs_diff": diff, "peak_rss_mb": round(group_peak_mb(srv.proc.pid), 1)}
    finally:
        srv.stop()


# ---- report -------------------------------------------------------------------------------

def fmt_s(v):
    return f"{v:.2f}" if isinstance(v, (int, float)) else "–"


def fmt_mb(v):
    return f"{v:,.0f}" if v == v else "–"


def report(results):
    rows = results["rows"]
    pl = [r["rows_per_s"] for r in results["plinth"]]
    py = [r["rows_per_s"] for r in results["python"]]
    lines = ["| Method | rows | time (median) | rows/s (median) | CPU s (median) | peak RSS MB | Plinth speed-up |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    pl_rps = median(pl)

    def line(label, n, runs, cpu_key, rss, own=False):
        rps = median([r["rows_per_s"] for r in runs])
        speed = f"{pl_rps / rps:,.2f}×" if rps and pl_rps == pl_rps and not own else "–"
        lines.append(f"| {label} | {n:,} | {median([r['seconds'] for r in runs]):,.2f} s | {rps:,.0f} | "
                     f"{median([r[cpu_key] for r in runs]):,.1f} | {fmt_mb(rss)} | {speed} |")

    if results["plinth"]:
        line("Plinth batch job (server scores the shards)", rows, results["plinth"], "server_cpu_s",
             max(r["peak_rss_mb"] for r in results["plinth"]), own=True)
    if results["python"]:
        line("Python in-process (pyarrow → xgboost inplace_predict, nthread=2 → pyarrow)", rows, results["python"],
             "cpu_s", max(r["peak_rss_mb"] for r in results["python"]))
    for v in results["transform"]:
        label = (f"batch transform: mlflow models serve, {v['workers']} worker{'s' if v['workers'] > 1 else ''}, "
                 f"{v['client_threads']} client thread{'s' if v['client_threads'] > 1 else ''} "
                 f"(**on the first {v['runs'][0]['rows']:,} rows only**)")
        line(label, v["runs"][0]["rows"], v["runs"], "server_cpu_s", v["peak_rss_mb"])

    lines += ["", "CPU s: Plinth's server process (not the CLI); the Python child's whole life (its interpreter "
              "start and imports too); mlflow models serve's processes (not the client). Peak RSS: VmHWM of the "
              "Plinth server and of the Python child; for MLflow summed over its processes (launcher, uvicorn, "
              "workers).", "", "Samples (one per repetition, seconds):", ""]
    if results["plinth"]:
        lines.append("- Plinth: " + ", ".join(
            f"{r['seconds']:.2f} (job created → ended {fmt_s(r.get('job_s'))}, started → ended {fmt_s(r.get('job_running_s'))}; "
            f"{r['shards_total']} shards; server peak RSS {r['peak_rss_mb']:,.0f} MB)" for r in results["plinth"]))
    if results["python"]:
        lines.append("- Python in-process: " + ", ".join(f"{r['seconds']:.2f} (wall with interpreter start "
                                                        f"{r['wall_s']:.2f})" for r in results["python"]))
    for v in results["transform"]:
        lines.append(f"- batch transform, {v['workers']} worker(s): " + ", ".join(f"{r['seconds']:.2f}" for r in v["runs"])
                     + f"; start-up {v['startup_s']:.1f} s; max abs diff {v['max_abs_diff']:.1e}")
    if "plinth_check" in results:
        c = results["plinth_check"]
        lines.append(f"- Plinth output: {c['rows']:,} rows in {c['parts']} parts ({c['output_mb']} MB), every id once; "
                     f"{c['sampled']:,} sampled predictions (column `{c['prediction_column']}`) against xgboost's "
                     f"inplace_predict: max abs diff {c['max_abs_diff']:.1e}")

    checks = []
    if results["plinth"] and results["python"]:
        r = pl_rps / median(py)
        checks.append(("Plinth rows/s against Python in-process", f"{r:.2f}×", "≥ 1×", r >= 1))
    if results["plinth"] and results["transform"]:
        best = max(results["transform"], key=lambda v: median([r["rows_per_s"] for r in v["runs"]]))
        r = pl_rps / median([r["rows_per_s"] for r in best["runs"]])
        checks.append((f"Plinth rows/s against the batch-transform pattern (its faster variant, {best['workers']} "
                       f"worker(s), on its subset)", f"{r:,.1f}×", "≥ 10×", r >= 10))
    if results["plinth"]:
        peak = max(r["peak_rss_mb"] for r in results["plinth"])
        checks.append(("Plinth server peak RSS (VmHWM)", f"{peak:,.0f} MB", "< 1 GB", peak < 1024))
    lines += ["", "| Target | Measured | Wanted | Met |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {'yes' if ok else '**no**'} |" for a, b, c, ok in checks]
    return "\n".join(lines)


# ---- main ---------------------------------------------------------------------------------

def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--inprocess-child":
        inprocess_child(*sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--files", type=int, default=4, help="Parquet files the rows are spread over")
    ap.add_argument("--row-group", type=int, default=131072, help="rows per Parquet row group of the input")
    ap.add_argument("--reps", type=int, default=3, help="timed runs per method (Plinth and Python alternate)")
    ap.add_argument("--work", default="/tmp/plinth-batch-bench")
    ap.add_argument("--transform-rows", type=int, default=200_000,
                    help="rows posted to mlflow models serve (its request bodies are held in memory, ~0.5 MB per 1,000 rows)")
    ap.add_argument("--transform-workers", default="1,2",
                    help="mlflow models serve --workers values to run, each with as many client threads")
    ap.add_argument("--skip-transform", action="store_true")
    ap.add_argument("--methods", default="plinth,python", help="which of plinth, python to run")
    ap.add_argument("--sample", type=int, default=100_000, help="Plinth predictions checked against xgboost's")
    ap.add_argument("--poll", default="100ms",
                    help="plinth batch run --poll: how often --wait asks the server (its default, 1s, would add up to 1 s to each run)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds one timed run may take")
    ap.add_argument("--plinth-args", default="", help="extra flags for plinth server, e.g. \"--batch-workers 2\"")
    ap.add_argument("--plinth", default=os.path.join(ROOT, "bin", "plinth"))
    ap.add_argument("--no-build", action="store_true", help="use --plinth as it is (default: make build first)")
    ap.add_argument("--keep", action="store_true", help="keep the outputs and Plinth's server folder (the input and model are always kept)")
    ap.add_argument("--venv", default=os.path.join(ROOT, ".venv"))
    args = ap.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    for m in methods:
        if m not in ("plinth", "python"):
            ap.error(f"unknown method {m!r}")
    try:
        variants = [int(w) for w in args.transform_workers.split(",") if w]
    except ValueError:
        ap.error("--transform-workers: a comma-separated list of integers")
    if args.rows <= 0 or args.files <= 0 or args.row_group <= 0 or args.reps <= 0:
        ap.error("--rows, --files, --row-group and --reps must be positive")
    os.makedirs(args.work, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind through the finally below

    try:
        if "plinth" in methods and not args.no_build:
            subprocess.run(["make", "build"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        booster = serving.train_model(args.work)
        model_path = os.path.join(args.work, "xgb.ubj")
        input_dir = make_input(args.work, args.rows, args.files, args.row_group)
        import mlflow
        results = {"machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.platform()}",
                   "mlflow": mlflow.__version__, "xgboost": xgb.__version__, "pyarrow": pa.__version__,
                   "rows": args.rows, "files": args.files, "row_group": args.row_group, "reps": args.reps,
                   "input_mb": round(dir_mb(input_dir), 1), "load_average_start": os.getloadavg(),
                   "plinth": [], "python": [], "transform": []}
        outs = os.path.join(args.work, "out")

        plinth = PlinthBatch(args, booster) if "plinth" in methods else None
        last_plinth_out = None
        for rep in range(args.reps):
            order = methods if rep % 2 == 0 else methods[::-1]
            for m in order:
                out = os.path.join(outs, f"{m}-{rep + 1}")
                if m == "plinth":
                    plinth.start()
                    try:
                        r = plinth.run(input_dir, out)
                    finally:
                        plinth.stop()
                    if r["rows_out"] != args.rows or r["rows_rejected"]:
                        raise RuntimeError(f"plinth: {r['rows_out']} rows out, {r['rows_rejected']} rejected; want {args.rows}, 0")
                    if last_plinth_out and not args.keep:
                        shutil.rmtree(last_plinth_out, ignore_errors=True)
                    last_plinth_out = out
                    extra = f"server peak RSS {r['peak_rss_mb']:,.0f} MB, {r['shards_total']} shards"
                else:
                    r = run_python(args, input_dir, out, model_path)
                    if r["rows"] != args.rows:
                        raise RuntimeError(f"python: {r['rows']} rows written, want {args.rows}")
                    if not args.keep:
                        shutil.rmtree(out, ignore_errors=True)
                    extra = f"peak RSS {r['peak_rss_mb']:,.0f} MB"
                r["rows_per_s"] = args.rows / r["seconds"]
                r["load_average"] = os.getloadavg()[0]
                results[m].append(r)
                print(f"rep {rep + 1}/{args.reps} {m:14s} {r['seconds']:8.2f} s  {r['rows_per_s']:>11,.0f} rows/s  {extra}",
                      flush=True)
        if last_plinth_out:
            results["plinth_check"] = check_plinth_output(last_plinth_out, input_dir, args.rows, booster, args.sample)
            print(f"bench: Plinth output checked: max abs diff {results['plinth_check']['max_abs_diff']:.1e} "
                  f"over {results['plinth_check']['sampled']:,} sampled rows", flush=True)

        if not args.skip_transform and variants:
            model_dir = os.path.join(args.work, "mlflow-model")
            if not os.path.exists(os.path.join(model_dir, "MLmodel")):
                shutil.rmtree(model_dir, ignore_errors=True)
                signature, example = serving.signature_and_example(booster)
                mlflow.xgboost.save_model(booster, model_dir, signature=signature, input_example=example)
            t0 = time.perf_counter()
            bodies, ids, x = transform_requests(input_dir, min(args.transform_rows, args.rows))
            results["transform_bodies"] = {"seconds": round(time.perf_counter() - t0, 3), "requests": len(bodies),
                                           "mb": round(sum(map(len, bodies)) / 2**20, 1)}
            for w in variants:
                results["transform"].append(transform_variant(args, model_dir, w, bodies, ids, x, booster))

        results["load_average_end"] = os.getloadavg()
        with open(os.path.join(args.work, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        tb = results.get("transform_bodies")
        print(f"\n{results['machine']}; mlflow {results['mlflow']}, xgboost {results['xgboost']}, pyarrow "
              f"{results['pyarrow']}; {args.rows:,} rows × {FEATURES} features in {args.files} Parquet files "
              f"({results['input_mb']:,.0f} MB); medians of {args.reps}; load average "
              f"{results['load_average_start'][0]:.1f} → {results['load_average_end'][0]:.1f}"
              + (f"; transform bodies built in {tb['seconds']:.1f} s before timing ({tb['requests']} × ≈"
                 f"{tb['mb'] / max(tb['requests'], 1):.2f} MB)" if tb else "") + "\n")
        print(report(results))
    finally:
        stop_all()
        if not args.keep:
            shutil.rmtree(os.path.join(args.work, "out"), ignore_errors=True)
            shutil.rmtree(os.path.join(args.work, "plinth"), ignore_errors=True)


if __name__ == "__main__":
    main()
