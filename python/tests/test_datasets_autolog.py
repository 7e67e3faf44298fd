"""Dataset inputs (log_input) and scikit-learn autologging."""

import json

import mlflow
import mlflow.data
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression


def frame(n=50, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x1": rng.normal(size=n),
        "x2": rng.integers(0, 10, size=n),
        "city": rng.choice(["paris", "lyon"], size=n),
        "label": rng.integers(0, 2, size=n),
    })


def test_log_input_pandas_dataset(experiment, client):
    df = frame()
    train = mlflow.data.from_pandas(df, source="s3://data/train.parquet", name="train-v1", targets="label")
    test = mlflow.data.from_pandas(frame(seed=1), source="s3://data/test.parquet", name="test-v1", targets="label")
    with mlflow.start_run() as run:
        mlflow.log_input(train, context="training", tags={"split": "80%"})
        mlflow.log_input(test, context="testing")
    got = client.get_run(run.info.run_id)
    inputs = {d.dataset.name: d for d in got.inputs.dataset_inputs}
    assert set(inputs) == {"train-v1", "test-v1"}
    tr = inputs["train-v1"]
    assert tr.dataset.digest == train.digest and len(tr.dataset.digest) > 0
    assert tr.dataset.source_type == "s3"
    assert json.loads(tr.dataset.source) == {"uri": "s3://data/train.parquet"}
    schema = json.loads(tr.dataset.schema)
    cols = {c["name"] for c in schema["mlflow_colspec"]}
    assert cols == {"x1", "x2", "city", "label"}
    assert json.loads(tr.dataset.profile)["num_rows"] == 50
    tags = {t.key: t.value for t in tr.tags}
    assert tags["mlflow.data.context"] == "training" and tags["split"] == "80%"
    te_tags = {t.key: t.value for t in inputs["test-v1"].tags}
    assert te_tags == {"mlflow.data.context": "testing"}

    # The same dataset logged to a second run is the same dataset (by name and digest).
    with mlflow.start_run() as run2:
        mlflow.log_input(train, context="training")
    (d2,) = client.get_run(run2.info.run_id).inputs.dataset_inputs
    assert (d2.dataset.name, d2.dataset.digest) == ("train-v1", train.digest)

    # Runs are searchable by their datasets.
    found = client.search_runs([experiment], "datasets.name = 'test-v1'")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    found = client.search_runs([experiment], f"datasets.digest = '{train.digest}'", order_by=["attributes.start_time"])
    assert [r.info.run_id for r in found] == [run.info.run_id, run2.info.run_id]
    found = client.search_runs([experiment], "datasets.context = 'testing'")
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_sklearn_autolog(experiment, client):
    # autolog logs the fitted model through the 3.x logged-models API.
    mlflow.sklearn.autolog(log_input_examples=False, log_model_signatures=False)
    try:
        X, y = make_classification(n_samples=200, n_features=5, random_state=0)
        model = LogisticRegression(C=0.5, max_iter=200)
        with mlflow.start_run() as run:
            model.fit(X, y)
            train_acc = model.score(X, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    got = client.get_run(run.info.run_id)
    assert got.data.params["C"] == "0.5"
    assert got.data.params["max_iter"] == "200"
    assert got.data.params["penalty"] in ("l2", "deprecated")
    assert got.data.tags["estimator_name"] == "LogisticRegression"
    assert got.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    m = got.data.metrics
    assert m["training_accuracy_score"] == pytest.approx(train_acc)
    for key in ("training_precision_score", "training_recall_score", "training_f1_score", "training_log_loss",
                "training_roc_auc", "training_score"):
        assert 0.0 <= m[key] <= 1.0 or key == "training_log_loss", key
    assert m["training_log_loss"] > 0
    # autolog records the training data as a dataset input.
    contexts = [{t.key: t.value for t in d.tags}.get("mlflow.data.context") for d in got.inputs.dataset_inputs]
    assert "train" in contexts
    # The model was logged as the run's output, and loads back with the run's data.
    [out] = got.outputs.model_outputs
    loaded = mlflow.sklearn.load_model(f"models:/{out.model_id}")
    assert loaded.score(X, y) == pytest.approx(train_acc)
