"""Online serving: Plinth against `mlflow models serve`, side by side in one run on the same
XGBoost model (issue 5's speed targets; figures in docs/benchmarks.md).

  Model: the runtime benchmark's XGBoost model (bench/runtime.py): 500 trees of depth 8 over
  50 features, trained on 100,000 rows; saved with mlflow.xgboost.save_model (signature and
  input example) for `mlflow models serve`, and logged + registered through the mlflow client
  for Plinth.
  Servers, one at a time (the 2 cores are shared), restarted for every repetition in
  alternating order:
    plinth        `plinth server` endpoint `bench` (models:/bench-xgb@champion), prediction
                  log on (log_sample_rate 1.0); POST /endpoints/bench/invocations
    plinth-nolog  the same server, endpoint `bench-nolog` with log_sample_rate 0
    mlflow        `mlflow models serve --env-manager local` with its default (1 worker)
    mlflow-2w     the same with --workers 2 (= the cores: MLflow's fair best case here)
  With --plinth-mode models-serve, Plinth is `plinth models serve -m DIR` instead (one model,
  POST /invocations, no prediction log, so no plinth-nolog).
  Scenarios (load from bench/cmd/serve-load, a separate Go process, on loopback):
    row-c1     single-row requests, 1 connection
    row-c64    single-row requests, 64 connections
    batch-c1   1,000-row requests, 1 connection
  Every timed run is preceded by a warm-up on the same scenario; figures are medians over the
  repetitions. Plinth writes its prediction log every --log-flush (1 s here, 10 s by default)
  and the script waits for the log's backlog to drain after each run, so that a run pays for
  its own Parquet writing and not for the one before.

Run: .venv/bin/python bench/serving.py [--reps 3] [--duration 10] [--warmup 3]
     [--work /tmp/plinth-serving-bench] [--plinth-mode endpoint|models-serve]
     [--servers plinth,mlflow,mlflow-2w] [--scenarios row-c1,row-c64,batch-c1]
Prints a markdown table and keeps the raw figures in <work>/results.json.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import xgboost as xgb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FEATURES, TREES = 50, 500
COLUMNS = [f"f{i}" for i in range(FEATURES)]
SCENARIOS = {  # name: (body folder, connections)
    "row-c1": ("row", 1),
    "row-c64": ("row", 64),
    "batch-c1": ("batch", 1),
}


def train_data(n, seed=1):
    """The runtime benchmark's data (bench/runtime.py): same generator, same seeds."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, FEATURES)).astype(np.float32)
    x[rng.random(size=x.shape) < 0.02] = np.nan
    w = rng.normal(size=FEATURES)
    y = (np.nan_to_num(x) @ w + rng.normal(size=n) > 0).astype(np.float32)
    return x, y


def train_model(work):
    """The runtime benchmark's XGBoost model, with column names (the trees are the same)."""
    path = os.path.join(work, "xgb.ubj")
    if os.path.exists(path):
        return xgb.Booster(model_file=path)
    print("bench: training xgboost (500 trees, depth 8)…", flush=True)
    xt, yt = train_data(100_000)
    b = xgb.train({"objective": "binary:logistic", "max_depth": 8, "nthread": 2, "tree_method": "hist",
                   "grow_policy": "depthwise", "min_child_weight": 0, "lambda": 0.1},
                  xgb.DMatrix(xt, label=yt, feature_names=COLUMNS), num_boost_round=TREES)
    b.save_model(path)
    return b


def request_rows(n, seed=2):
    """Rows for the request bodies: rounded to 6 decimals so the JSON stays short, and without
    missing values (JSON has no NaN)."""
    x, _ = train_data(n, seed)
    return np.round(np.nan_to_num(x).astype(np.float64), 6)


def body(rows):
    return json.dumps({"dataframe_split": {"columns": COLUMNS, "data": rows.tolist()}}).encode()


def write_bodies(work, rows_big):
    """<work>/bodies/row: 200 single-row bodies (sent round-robin); batch: 3 bodies of rows_big rows."""
    out = {}
    singles = request_rows(200, seed=3)
    batches = [request_rows(rows_big, seed=4 + i) for i in range(3)]
    for kind, mats in (("row", [singles[i:i + 1] for i in range(len(singles))]), ("batch", batches)):
        d = os.path.join(work, "bodies", kind)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for i, m in enumerate(mats):
            with open(os.path.join(d, f"{i:04d}.json"), "wb") as f:
                f.write(body(m))
        out[kind] = d
    return out, batches[0]


def signature_and_example(booster):
    from mlflow.models import infer_signature
    example = pd.DataFrame(request_rows(5, seed=5).astype(np.float32), columns=COLUMNS)
    preds = booster.predict(xgb.DMatrix(example))
    return infer_signature(example, preds), example


# ---- HTTP helpers -----------------------------------------------------------------------

def http(method, url, payload=None, timeout=30):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, raw
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, socket.timeout) as e:
        return 0, str(e).encode()


def wait_for(what, check, timeout, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the server exited with status {proc.returncode}")
        if check():
            return
        time.sleep(0.25)
    raise RuntimeError(f"{what}: not ready after {timeout} s")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- child processes --------------------------------------------------------------------

CHILDREN = []  # Popen objects of the servers we started, each the leader of its own group


def start(cmd, log_path, env=None, cwd=ROOT):
    log = open(log_path, "ab")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True)
    log.close()
    CHILDREN.append(p)
    return p


def stop(p):
    """SIGTERM to the child's own process group (uvicorn workers included), SIGKILL after 20 s."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    try:  # stragglers of the group (workers whose parent went first)
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if p in CHILDREN:
        CHILDREN.remove(p)


def stop_all():
    for p in list(CHILDREN):
        stop(p)


def group_stats(pgid):
    """CPU seconds and resident MB summed over the live processes of a process group."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu, rss, n = 0.0, 0.0, 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            cpu += (int(fields[11]) + int(fields[12])) / tick
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1]) / 1024
            n += 1
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return {"cpu_s": cpu, "rss_mb": rss, "processes": n}


# ---- the servers ------------------------------------------------------------------------

class MLflowServer:
    def __init__(self, name, args, model_dir, workers):
        self.name, self.args, self.model_dir, self.workers = name, args, model_dir, workers
        self.targets = [name]

    def start(self):
        self.port = free_port()
        cmd = [os.path.join(self.args.venv, "bin", "mlflow"), "models", "serve", "-m", self.model_dir,
               "--env-manager", "local", "-p", str(self.port)]
        if self.workers:
            cmd += ["--workers", str(self.workers)]
        env = dict(os.environ, PATH=os.path.join(self.args.venv, "bin") + os.pathsep + os.environ["PATH"])
        self.proc = start(cmd, os.path.join(self.args.work, f"{self.name}.log"), env)
        base = f"http://127.0.0.1:{self.port}"
        wait_for(self.name, lambda: http("GET", base + "/ping", timeout=5)[0] == 200, 300, self.proc)
        self.urls = {self.name: base + "/invocations"}

    def stop(self):
        stop(self.proc)


class PlinthModelsServe:
    """`plinth models serve -m DIR`: one model, no prediction log."""

    def __init__(self, args, model_dir):
        self.name, self.args, self.model_dir = "plinth", args, model_dir
        self.targets = ["plinth"]

    def start(self):
        self.port = free_port()
        self.proc = start([self.args.plinth, "models", "serve", "-m", self.model_dir, "--port", str(self.port)],
                          os.path.join(self.args.work, "plinth.log"))
        base = f"http://127.0.0.1:{self.port}"
        wait_for("plinth models serve", lambda: http("GET", base + "/ping", timeout=5)[0] == 200, 60, self.proc)
        self.urls = {"plinth": base + "/invocations"}

    def stop(self):
        stop(self.proc)


class PlinthEndpoints:
    """`plinth server` on its own SQLite database and artifact folder (fresh for each script
    run, kept across repetitions), with two endpoints on the registered model: prediction log
    on and off."""

    ENDPOINTS = {"plinth": ("bench", 1.0), "plinth-nolog": ("bench-nolog", 0.0)}

    def __init__(self, args, booster):
        self.name, self.args, self.booster = "plinth", args, booster
        self.targets = list(self.ENDPOINTS)
        self.dir = os.path.join(args.work, "plinth")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.ready = False

    def start(self):
        self.port = free_port()
        base = self.base = f"http://127.0.0.1:{self.port}"
        self.proc = start([self.args.plinth, "server", "--port", str(self.port),
                           "--db", "sqlite:" + os.path.join(self.dir, "plinth.db"),
                           "--artifacts", os.path.join(self.dir, "artifacts"),
                           "--model-cache", os.path.join(self.dir, "model-cache"),
                           "--prediction-log-dir", os.path.join(self.dir, "prediction-wal"),
                           "--predictions", os.path.join(self.dir, "predictions"),
                           "--prediction-log-flush", self.args.log_flush],
                          os.path.join(self.args.work, "plinth.log"), cwd=self.dir)  # defaults land here too
        wait_for("plinth server", lambda: http("GET", base + "/health", timeout=5)[0] == 200, 60, self.proc)
        if not self.ready:
            self.register()
            self.ready = True
        for target, (ep, _) in self.ENDPOINTS.items():
            wait_for(f"endpoint {ep}", lambda ep=ep: self.serving(ep), 120, self.proc)
        self.urls = {t: f"{base}/endpoints/{ep}/invocations" for t, (ep, _) in self.ENDPOINTS.items()}

    def serving(self, ep):
        code, raw = http("GET", f"{self.base}/api/v1/endpoints/{ep}", timeout=5)
        if code != 200:
            return False
        targets = (json.loads(raw).get("state") or {}).get("targets") or []
        if targets and targets[0].get("status") not in ("serving", "loading", None, ""):
            raise RuntimeError(f"endpoint {ep}: {targets[0]}")
        return bool(targets) and targets[0].get("status") == "serving"

    def register(self):
        import mlflow
        from mlflow import MlflowClient
        mlflow.set_tracking_uri(self.base)
        mlflow.set_experiment("serving-bench")
        signature, example = signature_and_example(self.booster)
        with mlflow.start_run():
            info = mlflow.xgboost.log_model(self.booster, name="model", signature=signature,
                                            input_example=example, registered_model_name="bench-xgb")
        version = info.registered_model_version
        MlflowClient().set_registered_model_alias("bench-xgb", "champion", str(version))
        for ep, rate in self.ENDPOINTS.values():
            code, raw = http("POST", f"{self.base}/api/v1/endpoints",
                             {"name": ep, "model_uri": "models:/bench-xgb@champion", "log_sample_rate": rate})
            if code != 200 and code != 201:
                raise RuntimeError(f"POST /api/v1/endpoints {ep}: HTTP {code}: {raw[:500]!r}")

    def settle(self, timeout=120):
        """Waits until the prediction log has written everything out (backlog 0), so that one
        run's Parquet writing does not fall into the next run; returns the seconds waited."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            code, raw = http("GET", f"{self.base}/api/v1/endpoints/bench", timeout=5)
            log = ((json.loads(raw).get("state") or {}).get("log") or {}) if code == 200 else {}
            if log.get("backlog_bytes", 0) == 0:
                return round(time.monotonic() - t0, 2)
            time.sleep(0.2)
        raise RuntimeError(f"prediction log still has a backlog after {timeout} s: {log}")

    def state(self):
        """The endpoints' live state (requests, errors, prediction log backlog and uploads)."""
        out = {}
        for t, (ep, _) in self.ENDPOINTS.items():
            code, raw = http("GET", f"{self.base}/api/v1/endpoints/{ep}", timeout=5)
            out[t] = json.loads(raw).get("state") if code == 200 else f"HTTP {code}"
        return out

    def stop(self):
        stop(self.proc)


# ---- load -------------------------------------------------------------------------------

def check_predictions(url, batch_rows, booster, what):
    code, raw = http("POST", url, {"dataframe_split": {"columns": COLUMNS, "data": batch_rows.tolist()}}, timeout=120)
    if code != 200:
        raise RuntimeError(f"{what}: HTTP {code}: {raw[:500]!r}")
    got = np.asarray(json.loads(raw)["predictions"], dtype=np.float64).ravel()
    want = booster.predict(xgb.DMatrix(pd.DataFrame(batch_rows.astype(np.float32), columns=COLUMNS)))
    diff = float(np.max(np.abs(got - want)))
    if got.shape != want.shape or diff > 1e-5:
        raise RuntimeError(f"{what}: predictions differ from xgboost's (max abs diff {diff})")
    return diff


def load(loader, url, bodies, conns, seconds):
    before = os.times()
    res = subprocess.run([loader, "-url", url, "-body-dir", bodies, "-c", str(conns), "-d", f"{seconds}s"],
                         capture_output=True, text=True)
    after = os.times()
    if res.returncode != 0:
        raise RuntimeError(f"serve-load failed: {res.stderr.strip()}")
    out = json.loads(res.stdout)
    out["loader_cpu_s"] = round((after.children_user + after.children_system)
                                - (before.children_user + before.children_system), 3)
    return out


def median(v):
    return float(np.median(np.asarray(v, dtype=np.float64))) if v else float("nan")


# ---- report -----------------------------------------------------------------------------

def fmt(x, unit):
    if x != x:  # NaN
        return "–"
    if unit == "rps":
        return f"{x:,.0f}"
    return f"{x:,.2f}" if x < 100 else f"{x:,.0f}"


def report(results, targets):
    runs = results["runs"]

    def med(target, scen, key):
        return median([r[key] for r in runs.get(target, {}).get(scen, [])])

    def cpu_per_req(target, scen):  # server CPU µs per request in the timed run
        rs = runs.get(target, {}).get(scen, [])
        return median([r["server_cpu_s"] / max(r["requests"], 1) * 1e6 for r in rs])

    names = {"plinth": "Plinth", "plinth-nolog": "Plinth, log off", "mlflow": "MLflow (1 worker, default)",
             "mlflow-2w": "MLflow (2 workers)"}
    cols = [t for t in ("plinth", "plinth-nolog", "mlflow", "mlflow-2w") if t in targets]
    mlflows = [t for t in ("mlflow", "mlflow-2w") if t in targets]
    head = ["Scenario", "Figure"] + [names[t] for t in cols] + [f"Plinth speed-up vs {names[m]}" for m in mlflows]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    labels = {"row-c1": "1 row, 1 connection", "row-c64": "1 row, 64 connections",
              "batch-c1": f"{results['rows_big']:,} rows, 1 connection"}
    for scen in SCENARIOS:
        if scen not in results["scenarios"]:
            continue
        for key, unit, label in (("rps", "rps", "requests/s"), ("p50_ms", "ms", "p50 ms"), ("p99_ms", "ms", "p99 ms"),
                                 ("cpu", "us", "server CPU µs/request")):
            vals = {t: (cpu_per_req(t, scen) if key == "cpu" else med(t, scen, key)) for t in cols}
            cells = [fmt(vals[t], unit) for t in cols]
            for m in mlflows:
                p, b = vals.get("plinth", float("nan")), vals[m]
                r = p / b if key == "rps" else b / p
                cells.append(f"{r:,.1f}×" if r == r else "–")
            lines.append(f"| {labels[scen]} | {label} | " + " | ".join(cells) + " |")

    checks = []
    if "row-c64" in results["scenarios"]:
        for m in mlflows:
            r = med("plinth", "row-c64", "rps") / med(m, "row-c64", "rps")
            checks.append((f"single-row throughput at 64 connections vs {names[m]}", f"{r:,.1f}×", "≥ 50×", r >= 50))
    if "row-c1" in results["scenarios"] and "plinth" in targets:
        p99 = med("plinth", "row-c1", "p99_ms")
        checks.append(("Plinth single-row p99 at 1 connection", f"{p99:.2f} ms", "< 2 ms", p99 < 2))
    if "plinth-nolog" in targets:
        for scen in ("row-c64", "row-c1", "batch-c1"):
            if scen in results["scenarios"]:
                on, off = med("plinth", scen, "rps"), med("plinth-nolog", scen, "rps")
                cost = (1 - on / off) * 100
                checks.append((f"throughput cost of prediction logging, {labels[scen]}", f"{cost:.1f}%", "< 10%",
                               cost < 10))
    lines += ["", "Samples (one per repetition; requests/s, p50 ms, p99 ms):", ""]
    for scen in (s for s in SCENARIOS if s in results["scenarios"]):
        for t in cols:
            rs = runs[t][scen]
            lines.append(f"- {labels[scen]}, {names[t]}: " + "; ".join(
                f"{r['rps']:,.0f} / {r['p50_ms']:.2f} / {r['p99_ms']:.2f}" for r in rs))
    lines += ["", "| Target | Measured | Wanted | Met |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {'yes' if ok else '**no**'} |" for a, b, c, ok in checks]
    return "\n".join(lines)


# ---- main -------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", default="/tmp/plinth-serving-bench")
    ap.add_argument("--reps", type=int, default=3, help="timed runs per scenario and server")
    ap.add_argument("--duration", type=float, default=10, help="seconds per timed run")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of warm-up before each timed run")
    ap.add_argument("--rows-big", type=int, default=1000, help="rows in the batch request")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--servers", default="plinth,mlflow,mlflow-2w", help="plinth, mlflow (default workers), mlflow-2w")
    ap.add_argument("--plinth-mode", choices=("endpoint", "models-serve"), default="endpoint")
    ap.add_argument("--log-flush", default="1s",
                    help="plinth server --prediction-log-flush (its default is 10s; 1s keeps a run's Parquet writing inside the run)")
    ap.add_argument("--plinth", default=os.path.join(ROOT, "bin", "plinth"))
    ap.add_argument("--no-build", action="store_true", help="use --plinth as it is (default: make build first)")
    ap.add_argument("--venv", default=os.path.join(ROOT, ".venv"))
    args = ap.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    for s in scenarios:
        if s not in SCENARIOS:
            ap.error(f"unknown scenario {s!r}; known: {', '.join(SCENARIOS)}")
    os.makedirs(args.work, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind through the finally below

    try:
        if not args.no_build:
            subprocess.run(["make", "build"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        loader = os.path.join(args.work, "serve-load")
        subprocess.run(["go", "build", "-o", loader, "./bench/cmd/serve-load"], cwd=ROOT, check=True)

        booster = train_model(args.work)
        bodies, batch_rows = write_bodies(args.work, args.rows_big)
        model_dir = os.path.join(args.work, "mlflow-model")
        if not os.path.exists(os.path.join(model_dir, "MLmodel")):
            import mlflow
            shutil.rmtree(model_dir, ignore_errors=True)
            signature, example = signature_and_example(booster)
            mlflow.xgboost.save_model(booster, model_dir, signature=signature, input_example=example)

        servers = []
        for s in args.servers.split(","):
            if s == "plinth":
                servers.append(PlinthEndpoints(args, booster) if args.plinth_mode == "endpoint"
                               else PlinthModelsServe(args, model_dir))
            elif s == "mlflow":
                servers.append(MLflowServer("mlflow", args, model_dir, None))
            elif s == "mlflow-2w":
                servers.append(MLflowServer("mlflow-2w", args, model_dir, 2))
            else:
                ap.error(f"unknown server {s!r}")
        targets = [t for s in servers for t in s.targets]
        import mlflow
        results = {"machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.platform()}",
                   "mlflow": mlflow.__version__, "xgboost": xgb.__version__, "plinth_mode": args.plinth_mode,
                   "reps": args.reps, "duration_s": args.duration, "log_flush": args.log_flush, "warmup_s": args.warmup,
                   "rows_big": args.rows_big, "scenarios": scenarios, "targets": targets,
                   "load_average_start": os.getloadavg(), "runs": {t: {s: [] for s in scenarios} for t in targets},
                   "startup_s": {s.name: [] for s in servers}, "max_abs_diff": {}, "rss_mb": {t: [] for t in targets}}

        for rep in range(args.reps):
            order = servers if rep % 2 == 0 else servers[::-1]
            for srv in order:
                t0 = time.monotonic()
                srv.start()
                results["startup_s"][srv.name].append(round(time.monotonic() - t0, 2))
                tl = srv.targets if rep % 2 == 0 else srv.targets[::-1]
                for t in tl:
                    results["max_abs_diff"][t] = check_predictions(srv.urls[t], batch_rows, booster, t)
                for scen in scenarios:
                    kind, conns = SCENARIOS[scen]
                    for t in tl:
                        if args.warmup > 0:
                            load(loader, srv.urls[t], bodies[kind], conns, args.warmup)
                        cpu0 = group_stats(srv.proc.pid)["cpu_s"]
                        out = load(loader, srv.urls[t], bodies[kind], conns, args.duration)
                        if hasattr(srv, "settle"):
                            out["log_drain_s"] = srv.settle()
                        # after the drain: the server's CPU includes writing this run's log
                        out["server_cpu_s"] = round(group_stats(srv.proc.pid)["cpu_s"] - cpu0, 3)
                        out["load_average"] = os.getloadavg()[0]
                        results["runs"][t][scen].append(out)
                        print(f"rep {rep + 1}/{args.reps} {t:13s} {scen:9s} {out['rps']:>9,.1f} req/s  "
                              f"p50 {out['p50_ms']:8.2f} ms  p99 {out['p99_ms']:8.2f} ms  errors {out['errors']}"
                              + (f"  first error: {out['first_error'][:200]}" if out["errors"] else ""), flush=True)
                for t in srv.targets:
                    results["rss_mb"][t].append(round(group_stats(srv.proc.pid)["rss_mb"], 1))
                if hasattr(srv, "state"):
                    results.setdefault("plinth_state", []).append(srv.state())
                srv.stop()

        results["load_average_end"] = os.getloadavg()
        if args.plinth_mode == "endpoint" and "plinth" in args.servers.split(","):
            results["plinth_folder_mb"] = round(sum(
                os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(args.work, "plinth"))
                for f in fs) / 2**20, 1)
        with open(os.path.join(args.work, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        print(f"\n{results['machine']}; mlflow {results['mlflow']}, xgboost {results['xgboost']}; "
              f"Plinth as {args.plinth_mode}; {args.reps} × {args.duration:g} s per figure (medians), "
              f"load average {results['load_average_start'][0]:.1f} → {results['load_average_end'][0]:.1f}\n")
        print(report(results, targets))
        errors = sum(r["errors"] for t in results["runs"].values() for rs in t.values() for r in rs)
        if errors:
            print(f"\nwarning: {errors} requests failed (see first_error in {args.work}/results.json)")
    finally:
        stop_all()


if __name__ == "__main__":
    main()
