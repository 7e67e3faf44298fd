"""Seeds a fresh Plinth server for the UI's end-to-end tests (web/e2e), through the real mlflow
client where the client has a way, and Plinth's /api/v1 for the rest (approvals, endpoints,
batch jobs). Prints a JSON summary on stdout (ids and names the tests look for); progress goes
to stderr.

  MLFLOW_TRACKING_URI=http://127.0.0.1:PORT python python/e2e/seed_ui.py --work DIR [--out seed.json]

What it makes:
  experiment "ui-e2e"        30 runs: params lr/depth/optimizer (and data, the same in all),
                             metrics loss (50 steps), rmse (distinct in every run)
                             and accuracy, tags; run 0 ("showcase") also has a dataset input
                             and text, JSON, CSV and PNG artifacts
  experiment "ui-e2e-empty"  no runs (the empty state)
  experiment "ui-e2e-models" the runs that logged the models
  model "ui-e2e-model"       3 XGBoost versions; approval required, champion protected;
                             v1 and v2 approved, v3 pending; champion -> 2, challenger -> 1
  model "ui-e2e-gated"       2 versions (v1's files again); approval required, champion
                             protected; v1 approved, v2 pending; champion -> 1
  endpoint "ui-e2e-endpoint" follows models:/ui-e2e-model@champion; 8 predictions of 2 rows
                             and one failed request sent
  a batch job                scores a small CSV with models:/ui-e2e-model@champion
"""

import argparse
import contextlib
import json
import os
import struct
import sys
import time
import warnings
import zlib

import numpy as np
import pandas as pd
import requests

EXPERIMENT, EMPTY_EXPERIMENT, MODELS_EXPERIMENT = "ui-e2e", "ui-e2e-empty", "ui-e2e-models"
MODEL, GATED, ENDPOINT = "ui-e2e-model", "ui-e2e-gated", "ui-e2e-endpoint"
RUNS, STEPS = 30, 50
FEATURES = [f"f{i}" for i in range(5)]
LRS, DEPTHS, OPTIMIZERS = [0.01, 0.03, 0.1], [3, 4, 5, 6, 8], ["adam", "sgd"]

T0 = time.monotonic()
warnings.filterwarnings("ignore", message=".*Inferred schema contains integer")


def say(*a):
    print(f"seed [{time.monotonic() - T0:5.1f}s]", *a, file=sys.stderr, flush=True)


def png(width=160, height=96) -> bytes:
    """A small RGB gradient PNG, written by hand (no imaging library needed)."""
    raw = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 160)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def run_values(i):
    """Run i's params and final metrics: every run's rmse is distinct (sorting is checkable)."""
    lr, depth, opt = LRS[i % 3], DEPTHS[i % 5], OPTIMIZERS[i % 2]
    rmse = round(0.2 + ((i * 7) % RUNS) * 0.025, 4)  # a permutation of 0.2 … 0.925
    acc = round(1.0 - rmse / 2, 4)
    # "data" is the same in every run: a row the compare page must not mark as differing.
    return {"lr": lr, "depth": depth, "optimizer": opt, "data": "v1"}, {"rmse": rmse, "accuracy": acc}


def seed_runs(client, exp_id, tmp):
    import mlflow
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    runs = []
    for i in range(RUNS):
        params, final = run_values(i)
        name = f"run-{i:02d}" if i else "showcase"
        run = client.create_run(exp_id, run_name=name, start_time=now - (RUNS - i) * 60_000,
                                tags={"team": "ui" if i % 3 else "core", "purpose": "e2e"})
        rid = run.info.run_id
        # loss falls from about 1 towards the run's rmse over the steps.
        metrics = [Metric("loss", round(final["rmse"] + (1.0 - final["rmse"]) * np.exp(-s / 10), 6),
                          now - (RUNS - i) * 60_000 + s * 1000, s) for s in range(STEPS)]
        metrics += [Metric(k, v, now, 0) for k, v in final.items()]
        client.log_batch(rid, metrics=metrics, params=[Param(k, str(v)) for k, v in params.items()],
                         tags=[RunTag("seed.index", str(i))])
        runs.append({"id": rid, "name": name, "params": {k: str(v) for k, v in params.items()}, **final})

    show = runs[0]["id"]
    # The showcase run: a dataset input and one artifact of every previewable kind.
    df = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 3)), columns=["a", "b", "c"])
    df["label"] = (df.a > 0).astype(int)
    with mlflow.start_run(run_id=show):
        mlflow.log_input(mlflow.data.from_pandas(df, source="s3://data/ui-e2e/train.parquet",
                                                 name="ui-e2e-train", targets="label"),
                         context="training")
    client.log_text(show, "Notes for the showcase run.\nSecond line.\n", "notes.txt")
    client.log_dict(show, {"model": "xgboost", "trees": 25, "features": FEATURES}, "config.json")
    csv = "city,population,area\nOslo,709037,454\nBergen,291940,465\nTrondheim,214565,342\n"
    client.log_text(show, csv, "data/sample.csv")
    p = os.path.join(tmp, "chart.png")
    with open(p, "wb") as f:
        f.write(png())
    client.log_artifact(show, p, "plots")
    for r in runs:
        client.set_terminated(r["id"], "FINISHED")
    return runs


def seed_model(client, tmp):
    import mlflow
    import xgboost as xgb
    from mlflow.models import infer_signature

    rng = np.random.default_rng(11)
    df = pd.DataFrame(rng.normal(size=(200, len(FEATURES))), columns=FEATURES)
    y = ((df.f0 + 0.5 * df.f1 - df.f2) > 0).astype(int)
    mlflow.set_experiment(MODELS_EXPERIMENT)
    model_runs = []
    for v in range(1, 4):
        model = xgb.XGBClassifier(n_estimators=5 + 5 * v, max_depth=3, n_jobs=1).fit(df, y)
        with mlflow.start_run(run_name=f"train-v{v}") as run:
            mlflow.log_params({"n_estimators": 5 + 5 * v, "max_depth": 3})
            mlflow.log_metric("auc", 0.8 + 0.05 * v)
            mlflow.xgboost.log_model(model, name="model", registered_model_name=MODEL,
                                     signature=infer_signature(df, model.predict(df)), input_example=df.head(3),
                                     # Given, not inferred: inference runs a subprocess for ~10 s.
                                     pip_requirements=[f"xgboost=={xgb.__version__}", f"mlflow=={mlflow.__version__}"])
        model_runs.append(run.info.run_id)
        say(f"model version {v} registered")
    return df, model_runs


def v1(url, method, path, **kw):
    r = requests.request(method, f"{url}/api/v1{path}", auth=("e2e-seed", "x"), timeout=60, **kw)
    if r.status_code >= 300:
        raise SystemExit(f"{method} /api/v1{path}: {r.status_code} {r.text}")
    return r.json() if r.text else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True, help="a folder for the batch job's input and output")
    ap.add_argument("--out", help="also write the JSON summary to this file")
    args = ap.parse_args()
    # The mlflow client prints "View run …" lines on stdout: keep stdout for the summary.
    with contextlib.redirect_stdout(sys.stderr):
        summary = seed(args)
    text = json.dumps(summary, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text, flush=True)
    say("done")


def seed(args):
    url = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
    os.makedirs(args.work, exist_ok=True)

    import mlflow
    from mlflow.tracking import MlflowClient

    client = MlflowClient(url)
    say("mlflow", mlflow.__version__, "→", url)
    exp_id = client.create_experiment(EXPERIMENT, tags={"owner": "e2e"})
    empty_id = client.create_experiment(EMPTY_EXPERIMENT)
    runs = seed_runs(client, exp_id, args.work)
    say(f"{len(runs)} runs in {EXPERIMENT} ({exp_id})")

    df, model_runs = seed_model(client, args.work)
    v1(url, "PUT", f"/models/{MODEL}/approval-policy", json={"requires_approval": True, "protected_aliases": ["champion"]})
    v1(url, "POST", f"/models/{MODEL}/versions/1/approve", json={"reason": "baseline, backtest AUC 0.85"})
    v1(url, "POST", f"/models/{MODEL}/versions/2/approve", json={"reason": "backtest AUC 0.90"})
    client.set_registered_model_alias(MODEL, "champion", "2")
    client.set_registered_model_alias(MODEL, "challenger", "1")

    # A second model for the refusals (a protected alias onto an unapproved version) and a
    # rejection, so the tests of the first one stay independent: two versions of v1's files.
    src = client.get_model_version(MODEL, "1")
    client.create_registered_model(GATED, description="approval required; champion protected")
    for _ in range(2):
        client.create_model_version(GATED, src.source, run_id=src.run_id)
    v1(url, "PUT", f"/models/{GATED}/approval-policy", json={"requires_approval": True, "protected_aliases": ["champion"]})
    v1(url, "POST", f"/models/{GATED}/versions/1/approve", json={"reason": "reviewed"})
    client.set_registered_model_alias(GATED, "champion", "1")

    v1(url, "POST", "/endpoints", json={"name": ENDPOINT, "model_uri": f"models:/{MODEL}@champion"})
    deadline = time.monotonic() + 60
    while True:
        ep = v1(url, "GET", f"/endpoints/{ENDPOINT}")
        if any(t.get("version") == "2" for t in ep.get("state", {}).get("targets", [])):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"endpoint {ENDPOINT} never served version 2: {ep}")
        time.sleep(0.2)
    predictions = 0
    for i in range(8):
        rows = df.iloc[[2 * i, 2 * i + 1]]
        body = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
        r = requests.post(f"{url}/endpoints/{ENDPOINT}/invocations", json=body,
                          headers={"X-Request-Id": f"e2e-req-{i}", "X-Inference-Id": f"e2e-{i}"}, timeout=30)
        if r.status_code != 200:
            raise SystemExit(f"prediction {i}: {r.status_code} {r.text}")
        predictions += 1
    # And one that fails (a column missing): the activity counts errors too.
    bad = {"dataframe_split": {"columns": ["f0"], "data": [[1.0]]}}
    r = requests.post(f"{url}/endpoints/{ENDPOINT}/invocations", json=bad, headers={"X-Request-Id": "e2e-bad"}, timeout=30)
    if r.status_code < 400:
        raise SystemExit(f"a request without the model's columns answered {r.status_code}: {r.text}")
    say(f"endpoint {ENDPOINT}: {predictions} predictions and 1 error ({r.status_code})")

    inp = os.path.join(args.work, "batch-in")
    os.makedirs(inp, exist_ok=True)
    bdf = pd.DataFrame(np.random.default_rng(5).normal(size=(500, len(FEATURES))), columns=FEATURES)
    bdf.insert(0, "id", [f"row-{i:04d}" for i in range(len(bdf))])
    bdf.to_csv(os.path.join(inp, "rows.csv"), index=False)
    job = v1(url, "POST", "/batch-jobs", json={"model_uri": f"models:/{MODEL}@champion", "input": inp,
                                               "output": os.path.join(args.work, "batch-out"),
                                               "passthrough": ["id"]})
    deadline = time.monotonic() + 60
    while job["status"] not in ("SUCCEEDED", "FAILED", "CANCELLED"):
        if time.monotonic() > deadline:
            raise SystemExit(f"batch job {job['id']} not done after 60 s: {job}")
        time.sleep(0.2)
        job = v1(url, "GET", f"/batch-jobs/{job['id']}")
    if job["status"] != "SUCCEEDED":
        raise SystemExit(f"batch job failed: {job}")
    say(f"batch job {job['id']}: {job['status']}, {job.get('rows_out')} rows")

    # The endpoint's activity (kept in memory by the serving process) shows the predictions.
    deadline = time.monotonic() + 10
    while True:
        r = requests.get(f"{url}/api/v1/endpoints/{ENDPOINT}/activity", timeout=10)
        if r.status_code == 200 and "e2e-req-" in r.text:
            break
        if time.monotonic() > deadline:
            say(f"WARNING: the endpoint's activity does not show the predictions: {r.status_code} {r.text[:300]}")
            break
        time.sleep(0.3)

    by_rmse = sorted(runs, key=lambda r: r["rmse"])
    summary = {
        "url": url,
        "experiment": {"id": exp_id, "name": EXPERIMENT, "runs": len(runs)},
        "empty_experiment": {"id": empty_id, "name": EMPTY_EXPERIMENT},
        "models_experiment": {"id": mlflow.get_experiment_by_name(MODELS_EXPERIMENT).experiment_id,
                              "runs": model_runs},
        "runs": runs,
        "showcase_run": runs[0]["id"],
        "rmse_ascending": [r["id"] for r in by_rmse],
        # A filter and how many runs it keeps.
        "filter": {"expr": "params.optimizer = 'adam' and metrics.rmse < 0.6",
                   "count": sum(1 for r in runs if r["params"]["optimizer"] == "adam" and r["rmse"] < 0.6)},
        # Three runs with different params for the compare page.
        "compare_runs": [runs[1]["id"], runs[2]["id"], runs[3]["id"]],
        "artifacts": {"text": "notes.txt", "json": "config.json", "csv": "data/sample.csv",
                      "image": "plots/chart.png", "image_width": 160, "csv_rows": 3},
        "model": {"name": MODEL, "versions": 3, "aliases": {"champion": "2", "challenger": "1"},
                  "approved": ["1", "2"], "pending": ["3"]},
        "gated_model": {"name": GATED, "aliases": {"champion": "1"}, "approved": ["1"], "pending": ["2"]},
        "endpoint": {"name": ENDPOINT, "model": MODEL, "version": "2", "requests": predictions + 1,
                     "errors": 1, "request_ids": [f"e2e-req-{i}" for i in range(predictions)]},
        "batch_job": {"id": job["id"], "rows": job.get("rows_out")},
    }
    return summary


if __name__ == "__main__":
    main()
