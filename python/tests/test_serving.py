"""Online serving with models the real mlflow client logged and registered: an endpoint that
follows a registry alias answers both protocols with the libraries' own predictions, and the
prediction log it writes is read back with pandas/pyarrow, without Plinth."""

import json
import os
import time
import uuid
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
import xgboost as xgb
from mlflow.models import infer_signature

pytestmark = pytest.mark.skipif(os.environ.get("PLINTH_TEST_SERVER", "plinth") != "plinth",
                                reason="serving is Plinth's")


def frame(n=300, seed=11):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"f{i}" for i in range(5)])
    df.loc[rng.random(n) < 0.1, "f3"] = np.nan
    return df


def create_endpoint(server, name, model_uri, **extra):
    r = requests.post(f"{server.url}/api/v1/endpoints", json={"name": name, "model_uri": model_uri, **extra}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def wait_serving(server, name, version, role="primary", timeout=30):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = requests.get(f"{server.url}/api/v1/endpoints/{name}", timeout=10).json()
        for t in last.get("state", {}).get("targets", []):
            if t["role"] == role and t.get("version") == str(version):
                return last
        time.sleep(0.2)
    raise AssertionError(f"endpoint {name} never served version {version}: {last}")


def invoke(server, name, body, **headers):
    r = requests.post(f"{server.url}/endpoints/{name}/invocations", json=body, headers=headers, timeout=30)
    return r


def log_xgb_classifier(name, df):
    y = ((df.f0 + 0.5 * df.f1 - df.f2) > 0).astype(int)
    model = xgb.XGBClassifier(n_estimators=25, max_depth=4, n_jobs=1).fit(df, y)
    with mlflow.start_run():
        mlflow.xgboost.log_model(model, name="model", registered_model_name=name,
                                 signature=infer_signature(df, model.predict(df)), input_example=df.head(3))
    return model


def test_endpoint_follows_alias_with_library_predictions(server, client, experiment):
    df = frame()
    name = "srv-" + uuid.uuid4().hex[:6]
    clf = log_xgb_classifier(name, df)
    y = df.f0 * 2 - df.f4
    reg = lgb.LGBMRegressor(n_estimators=30, num_leaves=15, verbose=-1).fit(df, y)
    with mlflow.start_run():
        mlflow.lightgbm.log_model(reg, name="model", registered_model_name=name,
                                  signature=infer_signature(df, reg.predict(df)), input_example=df.head(3))
    client.set_registered_model_alias(name, "champion", 1)
    ep = "ep-" + uuid.uuid4().hex[:6]
    create_endpoint(server, ep, f"models:/{name}@champion")
    wait_serving(server, ep, 1)

    split = json.loads(df.to_json(orient="split", index=False))
    r = invoke(server, ep, {"dataframe_split": split}, **{"X-Request-Id": "py-1"})
    assert r.status_code == 200, r.text
    assert r.headers["X-Request-Id"] == "py-1"
    assert r.headers["X-Plinth-Model"] == name and r.headers["X-Plinth-Model-Version"] == "1"
    np.testing.assert_array_equal(np.asarray(r.json()["predictions"]), clf.predict(df))

    records = json.loads(df.head(20).to_json(orient="records"))
    r = invoke(server, ep, {"dataframe_records": records, "params": {"output": "predict_proba"}})
    assert r.status_code == 200, r.text
    got = pd.DataFrame(r.json()["predictions"])
    np.testing.assert_allclose(got.to_numpy(), clf.predict_proba(df.head(20)), rtol=1e-6)

    # The Open Inference Protocol, one [rows, features] tensor.
    x = df.head(10).to_numpy()
    body = {"id": "oip-1", "inputs": [{"name": "x", "shape": list(x.shape), "datatype": "FP64",
                                       "data": [None if np.isnan(v) else v for v in x.ravel()]}]}
    r = requests.post(f"{server.url}/v2/models/{ep}/infer", json=body, timeout=30)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["model_name"] == ep and out["model_version"] == "1" and out["id"] == "oip-1"
    np.testing.assert_array_equal(np.asarray(out["outputs"][0]["data"]), clf.predict(df.head(10)))

    # Moving the alias moves the endpoint; the new version answers with LightGBM's own numbers.
    client.set_registered_model_alias(name, "champion", 2)
    wait_serving(server, ep, 2)
    r = invoke(server, ep, {"dataframe_split": split})
    assert r.status_code == 200 and r.headers["X-Plinth-Model-Version"] == "2"
    np.testing.assert_allclose(np.asarray(r.json()["predictions"]), reg.predict(df), rtol=1e-9, atol=1e-12)

    # Signature errors name the column; other content types are 415.
    r = invoke(server, ep, {"dataframe_split": {"columns": ["f0", "f1"], "data": [[1, 2]]}})
    assert r.status_code == 400 and "f2" in r.json()["message"]
    r = requests.post(f"{server.url}/endpoints/{ep}/invocations", data="x", headers={"Content-Type": "text/plain"}, timeout=10)
    assert r.status_code == 415


def read_prediction_log(server, tmp: Path) -> pd.DataFrame:
    """The prediction log as pandas reads it: the folder, or a local copy of the S3 prefix."""
    root = server.predictions
    if root.startswith("s3://"):
        bucket, _, prefix = root[len("s3://"):].partition("/")
        c = server.s3.client()
        local = tmp / "predictions"
        for page in c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
            for o in page.get("Contents", []):
                dst = local / o["Key"][len(prefix) + 1:]
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_bytes(c.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
        root = str(local)
    if not Path(root).exists() or not any(Path(root).rglob("*.parquet")):
        return pd.DataFrame()
    return pd.read_parquet(root)


def test_prediction_log_reads_back_with_pandas(server, client, experiment, tmp_path):
    df = frame(40, seed=3)
    df["customer"] = [f"c{i}" for i in range(len(df))]
    features = df.drop(columns="customer")
    name = "log-" + uuid.uuid4().hex[:6]
    clf = log_xgb_classifier(name, features)
    ep = "lg-" + uuid.uuid4().hex[:6]
    create_endpoint(server, ep, f"models:/{name}/1", subject_field="customer")
    wait_serving(server, ep, 1)

    ids, sent = [], {}
    for i in range(10):
        rows = df.iloc[[2 * i, 2 * i + 1]]
        rid = f"{ep}-req-{i}"
        sent[rid] = json.loads(rows.to_json(orient="split", index=False))
        r = invoke(server, ep, {"dataframe_split": sent[rid]},
                   **{"X-Request-Id": rid, "X-Inference-Id": f"order-{i}"})
        assert r.status_code == 200, r.text
        ids.append(rid)

    deadline = time.time() + 30
    log = pd.DataFrame()
    while time.time() < deadline:
        log = read_prediction_log(server, tmp_path)
        if len(log) and (log["endpoint"].astype(str) == ep).sum() >= 20:
            break
        time.sleep(0.5)
    mine = log[log["endpoint"].astype(str) == ep].sort_values(["request_id", "row_index"]).reset_index(drop=True)
    assert len(mine) == 20, f"{len(mine)} rows logged for {ep}"
    assert set(mine["request_id"]) == set(ids)
    assert (mine["status"] == 200).all() and (mine["role"] == "primary").all()
    assert (mine["model_name"] == name).all() and (mine["model_version"].astype(str) == "1").all()
    assert pd.api.types.is_datetime64_any_dtype(mine["request_time"])
    for _, rec in mine.iterrows():
        i = int(rec["request_id"].rsplit("-", 1)[1])
        src = df.iloc[2 * i + int(rec["row_index"])]
        assert rec["inference_id"] == f"order-{i}"
        assert rec["subject_id"] == src["customer"]
        # The logged inputs are the features as sent (pandas' to_json keeps 10 digits).
        body = sent[rec["request_id"]]
        row = dict(zip(body["columns"], body["data"][int(rec["row_index"])]))
        inputs = json.loads(rec["inputs"])
        for col in features.columns:
            assert inputs[col] == row[col], (col, inputs[col], row[col])
        want_label = clf.predict(features.iloc[[2 * i + int(rec["row_index"])]])[0]
        assert json.loads(rec["outputs"])["prediction"] == want_label
