"""The web UI's first render (issue 7's targets; figures in docs/benchmarks.md), timed in headless
Chromium (Debian's /usr/bin/chromium driven by web/node_modules' playwright-core, bench/ui/measure.mjs).

  Server: `bin/plinth server` (the UI embedded; `make build` first) on a fresh SQLite database
  and local artifact folder in --work, on a free loopback port.
  Data, seeded over MLflow's REST API by concurrent keep-alive connections (--conns):
    experiment ui-bench-runs     --runs runs (10,000): each runs/create (name, 2 tags) and one
                                 runs/log-batch (params lr, depth, optimizer, seed; metrics
                                 rmse, accuracy, loss at step 0)
    experiment ui-bench-compare  --compare-runs runs (20), each with metric loss over --steps
                                 steps (100,000), in log-batch requests of 1,000 points
  Timed (--reps loads each, after --warmup loads; every load in a fresh browser context):
    runs     #/experiments/ID: from the navigation's start to the runs table's body rows painted
             (the page asks runs/search for its first 100 runs, newest first)
    compare  #/compare?runs=A,…(20): to the compare chart's canvas painted (runs/get per run,
             then metrics/get-history-bulk-interval, which samples each run's history)
  Targets: runs table 1.5 s, compare chart 2 s (medians).

Run: .venv/bin/python bench/ui/bench.py [--runs 10000] [--compare-runs 20] [--steps 100000]
     [--reps 7] [--warmup 1] [--conns 8] [--work /tmp/plinth-ui-bench] [--reuse] [--plinth bin/plinth]
--reuse keeps the seeded database of an earlier run with the same sizes (seeding takes minutes).
Prints a markdown table and keeps the raw figures in <work>/results.json.
"""

import argparse
import http.client
import json
import os
import platform
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS_MS = {"runs": 1500, "compare": 2000}


def say(*a):
    print("ui-bench:", *a, file=sys.stderr, flush=True)


def free_port():
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p not in (5000, 5077, 5078, 55501):
            return p


class Client:
    """One keep-alive connection to MLflow's REST API."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def post(self, route, body):
        data = json.dumps(body, separators=(",", ":")).encode()
        for attempt in range(3):
            try:
                self.conn.request("POST", "/api/2.0/mlflow/" + route, data, {"Content-Type": "application/json"})
                r = self.conn.getresponse()
                out = r.read()
                if r.status != 200:
                    raise RuntimeError(f"{route}: {r.status} {out[:300]!r}")
                return json.loads(out) if out else {}
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt == 2:
                    raise


def parallel(port, conns, jobs, fn, what):
    """Runs fn(client, job) for every job on conns threads; raises the first error."""
    q = queue.Queue()
    for j in jobs:
        q.put(j)
    errors, done = [], [0]
    lock = threading.Lock()
    total = q.qsize()
    t0 = time.monotonic()

    def worker():
        c = Client(port)
        while not errors:
            try:
                j = q.get_nowait()
            except queue.Empty:
                return
            try:
                fn(c, j)
            except Exception as e:  # noqa: BLE001
                errors.append(e)
                return
            with lock:
                done[0] += 1
                if done[0] % max(total // 10, 1) == 0:
                    say(f"{what}: {done[0]}/{total} after {time.monotonic() - t0:.0f} s")

    threads = [threading.Thread(target=worker) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def seed(port, args):
    c = Client(port)
    now = int(time.time() * 1000)
    runs_exp = c.post("experiments/create", {"name": "ui-bench-runs"})["experiment_id"]

    def one_run(cl, i):
        run = cl.post("runs/create", {"experiment_id": runs_exp, "run_name": f"run-{i:05d}",
                                      "start_time": now - (args.runs - i) * 1000,
                                      "tags": [{"key": "team", "value": ["core", "ui", "ml"][i % 3]},
                                               {"key": "purpose", "value": "bench"}]})["run"]
        rmse = 0.1 + (i * 7919 % args.runs) / args.runs
        cl.post("runs/log-batch", {
            "run_id": run["info"]["run_id"],
            "params": [{"key": "lr", "value": str([0.01, 0.03, 0.1][i % 3])},
                       {"key": "depth", "value": str(3 + i % 6)},
                       {"key": "optimizer", "value": ["adam", "sgd"][i % 2]},
                       {"key": "seed", "value": str(i)}],
            "metrics": [{"key": "rmse", "value": rmse, "timestamp": now, "step": 0},
                        {"key": "accuracy", "value": 1 - rmse / 2, "timestamp": now, "step": 0},
                        {"key": "loss", "value": rmse * 1.1, "timestamp": now, "step": 0}],
        })

    t0 = time.monotonic()
    parallel(port, args.conns, range(args.runs), one_run, "runs")
    seeded = {"runs_experiment": runs_exp, "runs_seconds": round(time.monotonic() - t0, 1)}
    say(f"{args.runs} runs in {seeded['runs_seconds']} s")

    cmp_exp = c.post("experiments/create", {"name": "ui-bench-compare"})["experiment_id"]
    ids = [c.post("runs/create", {"experiment_id": cmp_exp, "run_name": f"long-{r:02d}", "start_time": now})["run"]["info"]["run_id"]
           for r in range(args.compare_runs)]

    def one_batch(cl, job):
        r, first = job
        rid = ids[r]
        ms = []
        for s in range(first, min(first + 1000, args.steps)):
            v = 0.1 + 2.0 / (1 + s / 500) + 0.02 * ((s * 2654435761 + r * 97) % 1000) / 1000 + 0.01 * r
            ms.append({"key": "loss", "value": round(v, 6), "timestamp": now + s, "step": s})
        cl.post("runs/log-batch", {"run_id": rid, "metrics": ms})

    t0 = time.monotonic()
    parallel(port, args.conns, [(r, f) for r in range(args.compare_runs) for f in range(0, args.steps, 1000)],
             one_batch, "history batches")
    seeded.update(compare_experiment=cmp_exp, compare_runs=ids, compare_seconds=round(time.monotonic() - t0, 1))
    say(f"{args.compare_runs} runs × {args.steps} steps in {seeded['compare_seconds']} s")
    return seeded


def start_server(args, port):
    log = open(os.path.join(args.work, "plinth.log"), "ab")
    p = subprocess.Popen(
        [args.plinth, "server", "--host", "127.0.0.1", "--port", str(port),
         "--db", f"sqlite:{args.work}/plinth.db", "--artifacts", f"{args.work}/artifacts",
         "--predictions", f"{args.work}/predictions", "--prediction-log-dir", f"{args.work}/wal",
         "--model-cache", f"{args.work}/model-cache"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        if p.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"plinth did not start; log {args.work}/plinth.log")
        time.sleep(0.2)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/")
    if b'<div id="app">' not in c.getresponse().read():
        p.terminate()
        raise SystemExit(f"{args.plinth} does not serve the UI: make build")
    return p


def measure(url, wait, args):
    out = subprocess.run(["node", os.path.join(ROOT, "bench", "ui", "measure.mjs"), "--url", url, "--wait", wait,
                          "--reps", str(args.reps), "--warmup", str(args.warmup)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"measure.mjs failed ({out.returncode}):\n{out.stderr[-3000:]}")
    recs = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    for r in recs:
        if not r.get("summary"):
            say(f"{wait} {'warm-up' if r['warmup'] else 'load ' + str(r['rep'] + 1)}: {r['ms']} ms "
                f"(DOMContentLoaded {r['dom_content_loaded_ms']} ms, {r.get('rows', r.get('canvas'))})")
    return recs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--compare-runs", type=int, default=20)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--work", default="/tmp/plinth-ui-bench")
    ap.add_argument("--plinth", default=os.path.join(ROOT, "bin", "plinth"))
    ap.add_argument("--reuse", action="store_true", help="keep the database seeded by an earlier run of the same sizes")
    args = ap.parse_args()

    sizes = {"runs": args.runs, "compare_runs": args.compare_runs, "steps": args.steps}
    seed_file = os.path.join(args.work, "seed.json")
    seeded = None
    if args.reuse and os.path.exists(seed_file):
        old = json.load(open(seed_file))
        if old.get("sizes") == sizes:
            seeded = old
            say(f"reusing the data seeded in {args.work}")
    if seeded is None:
        shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work, exist_ok=True)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    say(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"load {' '.join(open('/proc/loadavg').read().split()[:3])}")
    server = start_server(args, port)
    try:
        if seeded is None:
            seeded = seed(port, args)
            seeded["sizes"] = sizes
            json.dump(seeded, open(seed_file, "w"))
        results = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "sizes": sizes,
                   "cores": os.cpu_count(), "load_before": open("/proc/loadavg").read().split()[:3],
                   "seeding": {k: v for k, v in seeded.items() if k.endswith("seconds")}}
        pages = {
            "runs": f"{url}/#/experiments/{seeded['runs_experiment']}",
            "compare": f"{url}/#/compare?runs={','.join(seeded['compare_runs'])}",
        }
        for name, wait in (("runs", "rows"), ("compare", "chart")):
            recs = measure(pages[name], wait, args)
            results[name] = {"loads": [r for r in recs if not r.get("summary")],
                             "summary": next(r for r in recs if r.get("summary"))}
        results["load_after"] = open("/proc/loadavg").read().split()[:3]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    json.dump(results, open(os.path.join(args.work, "results.json"), "w"), indent=1)

    rows = [
        ("runs", f"runs table, experiment of {args.runs:,} runs (first page of 100)"),
        ("compare", f"compare chart, {args.compare_runs} runs × {args.steps:,} steps"),
    ]
    print(f"\nload average {' '.join(results['load_before'])} → {' '.join(results['load_after'])}, "
          f"{args.reps} loads each after {args.warmup} warm-up\n")
    def med(key, f):
        return statistics.median(f(r) for r in results[key]["loads"] if not r["warmup"])

    print("| Page | median | min | max | target | met | DOMContentLoaded | slowest API request |")
    print("|---|---:|---:|---:|---:|---|---:|---|")
    for key, label in rows:
        s = results[key]["summary"]
        slow = {"runs": "runs/search", "compare": "metrics/get-history-bulk-interval"}[key]
        api = med(key, lambda r: max((q["ms"] for q in r["requests"] if slow in q["url"]), default=0))
        print(f"| {label} | {s['median_ms'] / 1000:.2f} s | {s['min_ms'] / 1000:.2f} s | {s['max_ms'] / 1000:.2f} s | "
              f"{TARGETS_MS[key] / 1000:.1f} s | {'yes' if s['median_ms'] <= TARGETS_MS[key] else '**no**'} | "
              f"{med(key, lambda r: r['dom_content_loaded_ms']) / 1000:.2f} s | `{slow}` {api / 1000:.2f} s |")
    for key, _ in rows:
        print(f"\n{key} single loads (ms): {', '.join(str(x) for x in results[key]['summary']['all_ms'])}")
    print(f"\nraw figures: {os.path.join(args.work, 'results.json')}")


if __name__ == "__main__":
    main()
