"""Experiments, runs, params, metrics and tags through the fluent API and MlflowClient."""

import math
import sys
import time
import uuid

import mlflow
import pytest
import requests
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException


def test_health_and_version(server):
    r = requests.get(server.url + "/health", timeout=5)
    assert r.status_code == 200
    v = requests.get(server.url + "/version", timeout=5)
    assert v.status_code == 200 and v.text.strip()


def test_default_experiment_exists(client):
    exp = client.get_experiment("0")
    assert exp.name == "Default"
    assert exp.lifecycle_stage == "active"


def test_set_experiment_creates_then_reuses(server, client):
    name = "set-exp-" + uuid.uuid4().hex
    first = mlflow.set_experiment(name)
    assert first.name == name and first.lifecycle_stage == "active"
    assert first.artifact_location  # proxied location, e.g. mlflow-artifacts:/<id>
    again = mlflow.set_experiment(name)
    assert again.experiment_id == first.experiment_id
    assert client.get_experiment_by_name(name).experiment_id == first.experiment_id
    assert client.get_experiment_by_name("no-such-" + uuid.uuid4().hex) is None


def test_experiment_tags_and_rename(client):
    name = "tags-" + uuid.uuid4().hex
    eid = client.create_experiment(name, tags={"team": "vision", "stage": "dev"})
    client.set_experiment_tag(eid, "stage", "prod")
    client.delete_experiment_tag(eid, "team")
    client.rename_experiment(eid, name + "-renamed")
    exp = client.get_experiment(eid)
    assert exp.name == name + "-renamed"
    assert exp.tags == {"stage": "prod"}
    assert client.get_experiment_by_name(name) is None


def test_run_with_params_metrics_tags(experiment, client):
    with mlflow.start_run(run_name="basic") as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"epochs": 3, "optimizer": "adam", "note": "x" * 500})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.75}, step=4)
        mlflow.set_tags({"team": "search", "priority": "high"})
        mlflow.set_tag("priority", "low")  # tags overwrite
        run_id = run.info.run_id

    got = client.get_run(run_id)
    assert got.info.run_name == "basic"
    assert got.info.experiment_id == experiment
    assert got.info.status == "FINISHED"
    assert got.info.end_time >= got.info.start_time > 0
    assert got.info.lifecycle_stage == "active"
    assert len(run_id) == 32 and all(c in "0123456789abcdef" for c in run_id)
    assert got.data.params == {"lr": "0.01", "epochs": "3", "optimizer": "adam", "note": "x" * 500}
    # The run's data holds the latest value of each metric.
    assert got.data.metrics == {"loss": pytest.approx(0.2), "acc": 0.9, "f1": 0.75}
    assert got.data.tags["team"] == "search"
    assert got.data.tags["priority"] == "low"
    assert got.data.tags["mlflow.runName"] == "basic"


def test_metric_history_steps_and_timestamps(experiment, client):
    with mlflow.start_run() as run:
        ts = int(time.time() * 1000)
        for step in range(100):
            mlflow.log_metric("loss", 100.0 - step, step=step, timestamp=ts + step)
        mlflow.log_metric("loss", 0.5, step=100, timestamp=ts + 1000)
    hist = client.get_metric_history(run.info.run_id, "loss")
    assert len(hist) == 101
    by_step = sorted(hist, key=lambda m: m.step)
    assert [m.step for m in by_step] == list(range(101))
    assert [m.value for m in by_step[:100]] == [100.0 - s for s in range(100)]
    assert by_step[-1].value == 0.5 and by_step[-1].timestamp == ts + 1000
    assert all(m.key == "loss" for m in hist)
    assert by_step[7].timestamp == ts + 7
    assert client.get_metric_history(run.info.run_id, "never-logged") == []


def test_metric_same_step_logged_twice(experiment, client):
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0, step=0, timestamp=1000)
        mlflow.log_metric("m", 2.0, step=0, timestamp=2000)
    hist = client.get_metric_history(run.info.run_id, "m")
    assert sorted(m.value for m in hist) == [1.0, 2.0]
    # The latest value is the one with the greatest (step, timestamp).
    assert client.get_run(run.info.run_id).data.metrics["m"] == 2.0


def test_nan_and_infinite_metrics(experiment, client):
    with mlflow.start_run() as run:
        mlflow.log_metric("nan", float("nan"))
        mlflow.log_metric("pinf", float("inf"))
        mlflow.log_metric("ninf", float("-inf"))
        mlflow.log_metric("big", 1.5e300)
        mlflow.log_metric("neg", -42.25)
    m = client.get_run(run.info.run_id).data.metrics
    assert math.isnan(m["nan"])
    # MLflow's SQL store clamps ±inf to ±float max; Plinth keeps it. Either is what the client accepts.
    assert m["pinf"] in (math.inf, sys.float_info.max)
    assert m["ninf"] in (-math.inf, -sys.float_info.max)
    assert m["big"] == 1.5e300
    assert m["neg"] == -42.25
    (h,) = client.get_metric_history(run.info.run_id, "nan")
    assert math.isnan(h.value)
    (h,) = client.get_metric_history(run.info.run_id, "ninf")
    assert h.value in (-math.inf, -sys.float_info.max)


def test_nested_runs(experiment, client):
    with mlflow.start_run(run_name="parent") as parent:
        with mlflow.start_run(run_name="child-1", nested=True) as c1:
            mlflow.log_metric("score", 1)
        with mlflow.start_run(run_name="child-2", nested=True) as c2:
            mlflow.log_metric("score", 2)
            with mlflow.start_run(run_name="grandchild", nested=True) as gc:
                pass
    pid = parent.info.run_id
    for child in (c1, c2):
        assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == pid
    assert client.get_run(gc.info.run_id).data.tags["mlflow.parentRunId"] == c2.info.run_id
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{pid}'", order_by=["metrics.score DESC"])
    assert [r.info.run_name for r in children] == ["child-2", "child-1"]


def test_log_batch_and_update_run(experiment, client):
    run = client.create_run(experiment, run_name="batch", tags={"src": "client"})
    rid = run.info.run_id
    assert run.info.status == "RUNNING"
    ts = int(time.time() * 1000)
    client.log_batch(
        rid,
        metrics=[Metric("m", float(i), ts, i) for i in range(1000)],
        params=[Param(f"p{i}", str(i)) for i in range(100)],
        tags=[RunTag("src", "batch"), RunTag("extra", "1")],
    )
    client.set_terminated(rid, status="FAILED", end_time=ts + 5)
    client.update_run(rid, name="batch-renamed")
    got = client.get_run(rid)
    assert got.info.status == "FAILED" and got.info.end_time == ts + 5
    assert got.info.run_name == "batch-renamed"
    assert got.data.tags["mlflow.runName"] == "batch-renamed"
    assert got.data.metrics == {"m": 999.0}
    assert len(got.data.params) == 100 and got.data.params["p42"] == "42"
    assert got.data.tags["src"] == "batch" and got.data.tags["extra"] == "1"
    hist = client.get_metric_history(rid, "m")
    assert sorted(m.step for m in hist) == list(range(1000))
    client.delete_tag(rid, "extra")
    assert "extra" not in client.get_run(rid).data.tags
    assert RunStatus.to_string(RunStatus.FAILED) == got.info.status


def test_param_cannot_change(experiment, client):
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", "1")
        mlflow.log_param("alpha", "1")  # the same value again is fine
        with pytest.raises(MlflowException) as e:
            mlflow.log_param("alpha", "2")
        assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run.info.run_id).data.params == {"alpha": "1"}


def test_log_batch_is_atomic(experiment, client):
    run = client.create_run(experiment)
    rid = run.info.run_id
    client.log_param(rid, "fixed", "a")
    with pytest.raises(MlflowException) as e:
        client.log_batch(
            rid,
            metrics=[Metric("should-not-exist", 1.0, 0, 0)],
            params=[Param("new", "1"), Param("fixed", "b")],
        )
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    got = client.get_run(rid)
    assert got.data.params == {"fixed": "a"}
    assert "should-not-exist" not in got.data.metrics
