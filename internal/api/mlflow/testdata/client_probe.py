"""Drives a Plinth server with the real mlflow client; exits non-zero on any mismatch.

Usage: python client_probe.py <tracking-uri> <workdir>
"""
import math
import os
import sys

import mlflow
from mlflow import MlflowClient
from mlflow.store.tracking.rest_store import RestStore

uri, work = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(uri)
client = MlflowClient()

exp_id = mlflow.set_experiment("probe").experiment_id
assert client.get_experiment_by_name("missing") is None

with mlflow.start_run(run_name="outer") as run:
    mlflow.log_param("lr", 0.1)
    mlflow.log_params({"depth": 3, "kind": "tree"})
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")})
    mlflow.set_tags({"team": "ml"})
    with mlflow.start_run(nested=True) as child:
        mlflow.log_metric("child", 1)
    path = os.path.join(work, "hello.txt")
    with open(path, "w") as f:
        f.write("hello plinth")
    mlflow.log_artifact(path)
    mlflow.log_dict({"a": 1}, "sub/d.json")

r = client.get_run(run.info.run_id)
assert r.data.params == {"lr": "0.1", "depth": "3", "kind": "tree"}, r.data.params
assert r.data.metrics["loss"] == 0.2, r.data.metrics
assert math.isnan(r.data.metrics["nan"]) and r.data.metrics["inf"] == math.inf
assert r.data.metrics["ninf"] == -math.inf
assert r.data.tags["team"] == "ml" and r.info.run_name == "outer"
assert r.info.status == "FINISHED" and r.info.end_time is not None
assert r.info.artifact_uri == f"mlflow-artifacts:/{exp_id}/{run.info.run_id}/artifacts"

hist = client.get_metric_history(run.info.run_id, "loss")
assert [m.step for m in hist] == [0, 1, 2, 3, 4], hist

arts = sorted(a.path for a in client.list_artifacts(run.info.run_id))
assert arts == ["hello.txt", "sub"], arts
dl = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=os.path.join(work, "dl"))
with open(os.path.join(dl, "hello.txt")) as f:
    assert f.read() == "hello plinth"

runs = mlflow.search_runs([exp_id], filter_string="metrics.loss < 0.5", order_by=["metrics.loss ASC"])
assert list(runs["run_id"]) == [run.info.run_id], runs
found = client.search_runs([exp_id], filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'")
assert [x.info.run_id for x in found] == [child.info.run_id], found

client.delete_run(child.info.run_id)
assert client.get_run(child.info.run_id).info.lifecycle_stage == "deleted"
client.restore_run(child.info.run_id)

try:
    client.log_param(run.info.run_id, "lr", 0.5)
    raise SystemExit("re-logging a param with another value was accepted")
except mlflow.exceptions.MlflowException as e:
    assert e.error_code == "INVALID_PARAMETER_VALUE", e.error_code

v = RestStore._get_server_version(client._tracking_client.store.get_host_creds())
assert v is not None and str(v) == os.environ.get("PLINTH_EXPECT_VERSION", str(v)), v
print("client probe ok")
