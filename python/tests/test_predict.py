"""`plinth models predict` on models the real mlflow client logged to Plinth: every model URI
form resolves through Plinth, and Plinth's native evaluation matches mlflow's own
`pyfunc.load_model(uri).predict(df)` on the same input, for XGBoost and LightGBM models."""

import json
import os
import subprocess
import uuid

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

pytestmark = pytest.mark.skipif(os.environ.get("PLINTH_TEST_SERVER", "plinth") != "plinth",
                                reason="runs the plinth binary")

PLINTH = os.environ.get("PLINTH_BIN", "bin/plinth")


def frame(n=400, seed=7):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"x{i}" for i in range(6)])
    df.loc[rng.random(n) < 0.1, "x2"] = np.nan  # missing values take the default branches
    return df


def predict_cli(server, uri, df, tmp_path, fmt="csv", out_fmt="parquet", *extra):
    src, dst = tmp_path / f"in.{fmt}", tmp_path / f"out.{out_fmt}"
    if fmt == "csv":
        df.to_csv(src, index=False)
    elif fmt == "parquet":
        df.to_parquet(src, index=False)
    else:
        df.to_json(src, orient="records", lines=True)
    res = subprocess.run([PLINTH, "models", "predict", "-m", uri, "-i", str(src), "-o", str(dst),
                          "--server", server.url, *extra], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    if out_fmt == "parquet":
        return pd.read_parquet(dst)
    if out_fmt == "csv":
        return pd.read_csv(dst)
    return pd.read_json(dst, orient="records", lines=True)


def predict_cli_fails(server, uri, df, tmp_path, *extra):
    src = tmp_path / "bad.csv"
    df.to_csv(src, index=False)
    res = subprocess.run([PLINTH, "models", "predict", "-m", uri, "-i", str(src), "-o", str(tmp_path / "o.csv"),
                          "--server", server.url, *extra], capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    return res.stderr


def assert_matches(got: pd.DataFrame, want):
    want = np.asarray(want)
    if want.ndim == 1:
        want = want.reshape(-1, 1)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype.kind in "OUS":
        assert (got.to_numpy() == want).all()
        return
    np.testing.assert_allclose(got.to_numpy(dtype=np.float64), want.astype(np.float64), rtol=1e-6, atol=1e-7)


def test_xgboost_booster_every_uri_form(server, client, experiment, tmp_path):
    df = frame()
    y = (df.x0 + df.x1 * 0.5 > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "nthread": 1},
                        xgb.DMatrix(df, label=y), num_boost_round=20)
    name = "pred-xgb-" + uuid.uuid4().hex[:6]
    with mlflow.start_run() as run:
        info = mlflow.xgboost.log_model(booster, name="model", registered_model_name=name,
                                        signature=infer_signature(df, booster.predict(xgb.DMatrix(df))))
    client.set_registered_model_alias(name, "champion", 1)
    want = mlflow.pyfunc.load_model(f"models:/{name}@champion").predict(df)
    for uri in (f"models:/{name}@champion", f"models:/{name}/1", f"models:/{name}/latest",
                f"runs:/{run.info.run_id}/model", f"models:/{info.model_id}"):
        assert_matches(predict_cli(server, uri, df, tmp_path), want)
    # A local folder works without a server; margins are the raw scores.
    local = mlflow.artifacts.download_artifacts(f"models:/{name}/1", dst_path=str(tmp_path / "local"))
    margin = booster.predict(xgb.DMatrix(df), output_margin=True)
    assert_matches(predict_cli(server, local, df, tmp_path, "jsonl", "csv", "--output", "margin"), margin)
    proba = predict_cli(server, local, df, tmp_path, "parquet", "jsonl", "--output", "predict_proba")
    assert list(proba.columns) == ["proba_0", "proba_1"]
    np.testing.assert_allclose(proba.proba_1, want, rtol=1e-6)


def test_xgboost_classifier_labels_and_proba(server, experiment, tmp_path):
    df = frame()
    y = np.digitize(df.x0 + df.x3, [-0.5, 0.5])  # three classes
    clf = xgb.XGBClassifier(n_estimators=15, max_depth=3, n_jobs=1).fit(df, y)
    with mlflow.start_run():
        info = mlflow.xgboost.log_model(clf, name="model", signature=infer_signature(df, clf.predict(df)))
    pyfunc = mlflow.pyfunc.load_model(info.model_uri)
    assert_matches(predict_cli(server, info.model_uri, df, tmp_path), pyfunc.predict(df))
    assert_matches(predict_cli(server, info.model_uri, df, tmp_path, "csv", "csv", "--output", "predict_proba"),
                   clf.predict_proba(df))


def test_lightgbm_booster_and_sklearn_classifier(server, experiment, tmp_path):
    df = frame()
    booster = lgb.train({"objective": "multiclass", "num_class": 3, "num_leaves": 15, "verbose": -1,
                         "num_threads": 1}, lgb.Dataset(df, np.digitize(df.x1, [-0.3, 0.4])), 20)
    labels = np.where(df.x0 > 0.2, "fraud", "ok")
    clf = lgb.LGBMClassifier(n_estimators=20, num_leaves=7, verbose=-1, n_jobs=1).fit(df, labels)
    with mlflow.start_run():
        b = mlflow.lightgbm.log_model(booster, name="booster", signature=infer_signature(df, booster.predict(df)))
        c = mlflow.lightgbm.log_model(clf, name="clf", signature=infer_signature(df, clf.predict(df)))
    assert_matches(predict_cli(server, b.model_uri, df, tmp_path), mlflow.pyfunc.load_model(b.model_uri).predict(df))
    got = predict_cli(server, c.model_uri, df, tmp_path, "parquet", "csv")
    assert_matches(got, mlflow.pyfunc.load_model(c.model_uri).predict(df))
    proba = predict_cli(server, c.model_uri, df, tmp_path, "csv", "parquet", "--output", "predict_proba")
    assert list(proba.columns) == ["proba_fraud", "proba_ok"]
    assert_matches(proba, clf.predict_proba(df))


def test_refusals_name_the_problem(server, experiment, tmp_path):
    df = frame()
    y = (df.x0 > 0).astype(int)
    with mlflow.start_run():
        sk = mlflow.sklearn.log_model(LogisticRegression().fit(df.fillna(0), y), name="sk")
        xg = mlflow.xgboost.log_model(xgb.XGBRegressor(n_estimators=3).fit(df, df.x1), name="xg",
                                      signature=infer_signature(df))
    err = predict_cli_fails(server, sk.model_uri, df, tmp_path)
    assert "sklearn" in err and "xgboost" in err, err
    err = predict_cli_fails(server, xg.model_uri, df.drop(columns=["x4"]), tmp_path)
    assert "x4" in err, err
    bad = df.astype(object)
    bad.loc[3, "x1"] = "not-a-number"
    err = predict_cli_fails(server, xg.model_uri, bad, tmp_path)
    assert "x1" in err and "not-a-number" in err, err
    err = predict_cli_fails(server, "models:/no-such-model-" + uuid.uuid4().hex[:6] + "/1", df, tmp_path)
    assert "not found" in err.lower() or "does not exist" in err.lower(), err
