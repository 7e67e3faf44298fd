"""Batch jobs end to end: models the real mlflow client registered, inputs written with
pandas/pyarrow (a folder on SQLite, an S3 prefix on PostgreSQL), jobs submitted over REST, and
the output parts, manifest and rejects read back without Plinth. Every prediction must equal the
library's own for the same row."""

import hashlib
import io
import json
import os
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
import xgboost as xgb
from conftest import Process, free_port
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.skipif(os.environ.get("PLINTH_TEST_SERVER", "plinth") != "plinth",
                                reason="batch jobs are Plinth's")

FEATURES = [f"f{i}" for i in range(6)]
DONE = ("SUCCEEDED", "FAILED", "CANCELLED")


def features(n, seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=FEATURES)
    df.loc[rng.random(n) < 0.1, "f2"] = np.nan  # missing values take the default branches
    return df


def rows(n, start, seed):
    """n rows of features with string ids row-<start>… in front."""
    df = features(n, seed)
    df.insert(0, "id", [f"row-{i:06d}" for i in range(start, start + n)])
    return df


class Place:
    """One test's batch files: a local folder on SQLite, an S3 prefix next to the artifacts on
    PostgreSQL. Paths are relative to the place."""

    def __init__(self, server, tmp_path: Path):
        self.s3 = server.s3
        if self.s3:
            self.bucket = self.s3.bucket
            self.prefix = f"{self.s3.prefix}-batch/{uuid.uuid4().hex[:8]}"
            self.c = self.s3.client()
        else:
            self.root = tmp_path / "batch"
            self.root.mkdir()

    def uri(self, rel: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}/{rel}" if self.s3 else str(self.root / rel)

    def put(self, rel: str, data: bytes):
        if self.s3:
            self.c.put_object(Bucket=self.bucket, Key=f"{self.prefix}/{rel}", Body=data)
        else:
            (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.root / rel).write_bytes(data)

    def get(self, rel: str) -> bytes:
        if self.s3:
            return self.c.get_object(Bucket=self.bucket, Key=f"{self.prefix}/{rel}")["Body"].read()
        return (self.root / rel).read_bytes()

    def etag(self, rel: str) -> str:
        return self.c.head_object(Bucket=self.bucket, Key=f"{self.prefix}/{rel}")["ETag"]

    def files(self, rel: str) -> list[str]:
        """Every file under the folder rel, by path relative to it."""
        if not self.s3:
            base = self.root / rel
            return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
        out = []
        for page in self.c.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                     Prefix=f"{self.prefix}/{rel}/"):
            out += [o["Key"][len(self.prefix) + len(rel) + 2:] for o in page.get("Contents", [])]
        return sorted(out)

    def put_parquet(self, rel: str, df: pd.DataFrame, row_group_size: int):
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf, row_group_size=row_group_size)
        self.put(rel, buf.getvalue())

    def parquet(self, rel: str) -> pd.DataFrame:
        return pq.read_table(io.BytesIO(self.get(rel))).to_pandas()


def submit(url, **spec) -> requests.Response:
    return requests.post(f"{url}/api/v1/batch-jobs", json=spec, timeout=60)


def wait_job(url, job_id, timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = requests.get(f"{url}/api/v1/batch-jobs/{job_id}", timeout=10).json()
        if job["status"] in DONE or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def run_job(url, timeout=60.0, **spec) -> dict:
    r = submit(url, **spec)
    assert r.status_code == 201, r.text
    job = wait_job(url, r.json()["id"], timeout)
    assert job["status"] == "SUCCEEDED", job
    return job


def read_output(place: Place, out: str, job: dict) -> tuple[dict, pd.DataFrame]:
    """The manifest, and its parts concatenated in order, each checked against its digest."""
    manifest = json.loads(place.get(f"{out}/_manifest.json"))
    assert manifest["job_id"] == job["id"]
    assert job["manifest"] == place.uri(f"{out}/_manifest.json")
    frames = []
    for part in manifest["parts"]:
        data = place.get(f"{out}/{part['path']}")
        assert len(data) == part["bytes"] and hashlib.sha256(data).hexdigest() == part["sha256"], part
        df = pq.read_table(io.BytesIO(data)).to_pandas()
        assert len(df) == part["rows"], part
        frames.append(df)
    totals = manifest["totals"]
    assert totals["rows_out"] == sum(p["rows"] for p in manifest["parts"]) == job["rows_out"]
    assert totals["rows_in"] == job["rows_in"] and totals["rows_rejected"] == job["rows_rejected"]
    return manifest, pd.concat(frames, ignore_index=True)


def read_rejects(place: Place, rejects: str, manifest: dict) -> pd.DataFrame:
    frames = [place.parquet(f"{rejects}/{p['path']}") for p in manifest.get("reject_parts", [])]
    assert sum(len(f) for f in frames) == sum(p["rows"] for p in manifest.get("reject_parts", []))
    if not frames:
        return pd.DataFrame(columns=["source_file", "row_index", "reason", "data"])
    return pd.concat(frames, ignore_index=True).sort_values(["source_file", "row_index"], ignore_index=True)


def assert_predictions(got: pd.DataFrame, inputs: pd.DataFrame, want: np.ndarray, columns: list[str]):
    """got (id, then columns) holds each id of inputs exactly once, with want's values for its row."""
    assert list(got.columns) == ["id", *columns]
    assert got["id"].is_unique and set(got["id"]) == set(inputs["id"])
    pos = pd.Series(np.arange(len(inputs)), index=inputs["id"].to_numpy())[got["id"].to_numpy()].to_numpy()
    want = np.asarray(want, dtype=np.float64).reshape(len(inputs), -1)[pos]
    np.testing.assert_allclose(got[columns].to_numpy(dtype=np.float64), want, rtol=1e-6, atol=1e-12)


@contextmanager
def tracking(url):
    """Points the mlflow client at url for a while (the dedicated server of the memory test)."""
    old, old_env = mlflow.get_tracking_uri(), os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = url
    mlflow.set_tracking_uri(url)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(old)
        if old_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old_env


def register(flavor, model, x, name) -> str:
    """Logs model with mlflow.<flavor>.log_model as version 1 of name, aliased champion.
    (Naming the requirements spares mlflow a few seconds of inferring them in a subprocess.)"""
    exp = MlflowClient().create_experiment(f"batch-{name}")
    with mlflow.start_run(experiment_id=exp):
        flavor.log_model(model, name="model", registered_model_name=name,
                         pip_requirements=[flavor.__name__.rsplit(".", 1)[1]],
                         signature=infer_signature(x, model.predict(x)))
    MlflowClient().set_registered_model_alias(name, "champion", "1")
    return f"models:/{name}@champion"


@pytest.fixture(scope="module")
def xgb_model(server):
    """A binary XGBClassifier registered as NAME@champion: (model uri, model)."""
    x = features(2000, seed=1)
    y = ((x.f0 + 0.5 * x.f1 - x.f3) > 0).astype(int)
    clf = xgb.XGBClassifier(n_estimators=30, max_depth=4, n_jobs=1).fit(x, y)
    return register(mlflow.xgboost, clf, x, "batch-xgb-" + uuid.uuid4().hex[:6]), clf


def test_parquet_and_csv_scored_like_the_libraries(server, xgb_model, tmp_path):
    xgb_uri, clf = xgb_model
    x = features(2000, seed=2)
    reg = lgb.LGBMRegressor(n_estimators=40, num_leaves=15, verbose=-1, n_jobs=1).fit(x, x.f0 * 2 - x.f4 + x.f1 * x.f2)
    lgb_uri = register(mlflow.lightgbm, reg, x, "batch-lgb-" + uuid.uuid4().hex[:6])

    # Three Parquet files of several row groups, each with an extra column the model ignores,
    # and a CSV with its columns in another order; files starting with _ or . are not inputs.
    place = Place(server, tmp_path)
    parts = [rows(1200, 0, 10), rows(900, 1200, 11), rows(700, 2100, 12), rows(500, 2800, 13)]
    for i, df in enumerate(parts[:3]):
        place.put_parquet(f"in/p{i}.parquet", df.assign(note="x"), row_group_size=250)
    place.put("in/c.csv", parts[3][["f3", "id", *FEATURES[:3], *FEATURES[4:]]].to_csv(index=False).encode())
    place.put("in/_SUCCESS", b"")
    place.put("in/.hidden.csv", b"not,a\ncsv")
    inputs = pd.concat(parts, ignore_index=True)

    # Both jobs queue at once; the server works them one shard at a time.
    spec = dict(input=place.uri("in"), passthrough=["id"])
    r1 = submit(server.url, model_uri=xgb_uri, output=place.uri("xgb"), predict_kind="predict_proba", **spec)
    r2 = submit(server.url, model_uri=lgb_uri, output=place.uri("lgb"), **spec)
    assert r1.status_code == 201 and r2.status_code == 201, (r1.text, r2.text)
    assert r1.json()["model_version"] == "1" and r1.json()["status"] in ("QUEUED", "RUNNING")
    jobs = {"xgb": wait_job(server.url, r1.json()["id"]), "lgb": wait_job(server.url, r2.json()["id"])}

    for out, job in jobs.items():
        assert job["status"] == "SUCCEEDED", job
        assert (job["rows_in"], job["rows_out"], job["rows_rejected"]) == (len(inputs), len(inputs), 0)
        assert job["shards_total"] == job["shards_done"] == len(job["shards"]) >= 4
        assert all(s["status"] == "DONE" and s["part_digest"].startswith("sha256:") for s in job["shards"])
        manifest, got = read_output(place, out, job)
        assert manifest["model"]["name"] == job["model_name"] and manifest["model"]["version"] == "1"
        assert sorted(p["path"] for p in manifest["parts"]) == sorted(s["part"] for s in job["shards"])
        assert {p["path"] for p in manifest["parts"]} <= set(place.files(out))
        # Lineage: every input file, and only those, with its size and digest.
        files = ["c.csv", "p0.parquet", "p1.parquet", "p2.parquet"]
        assert sorted(f["path"] for f in job["inputs"]) == sorted(f["path"] for f in manifest["inputs"]) == files
        for f in manifest["inputs"]:
            data = place.get(f"in/{f['path']}")
            assert f["size"] == len(data) and f["format"] == f["path"].rsplit(".", 1)[1]
            if server.s3:
                assert f["digest"] == "etag:" + place.etag(f"in/{f['path']}").strip('"'), f
            else:
                assert f["digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
        if out == "xgb":
            assert_predictions(got, inputs, clf.predict_proba(inputs[FEATURES]), ["proba_0", "proba_1"])
        else:
            assert_predictions(got, inputs, reg.predict(inputs[FEATURES]), ["prediction"])


def test_bad_rows_go_to_rejects(server, xgb_model, tmp_path):
    uri, clf = xgb_model
    place = Place(server, tmp_path)
    good = rows(8, 0, 20)
    lines = good.to_csv(index=False, header=False).splitlines()
    header = ",".join(good.columns)
    lines[2] = ",".join(v if i != 2 else "abc" for i, v in enumerate(lines[2].split(",")))  # f1 is not a number
    lines[5] = ",".join(lines[5].split(",")[:3])  # a short line
    place.put("in/a.csv", ("\n".join([header, *lines]) + "\n").encode())
    more = rows(5, 100, 21)
    jsonl = more.to_json(orient="records", lines=True).splitlines()
    jsonl[3] = jsonl[3][: len(jsonl[3]) // 2]  # a line cut in half
    place.put("in/b.jsonl", ("\n".join(jsonl) + "\n").encode())

    job = run_job(server.url, model_uri=uri, input=place.uri("in"), output=place.uri("out"), passthrough=["id"])
    assert (job["rows_in"], job["rows_out"], job["rows_rejected"]) == (13, 10, 3)
    manifest, got = read_output(place, "out", job)
    assert manifest["rejects"] == job["spec"]["rejects"] == place.uri("out/_rejects")
    rejects = read_rejects(place, "out/_rejects", manifest)
    assert list(rejects.columns) == ["source_file", "row_index", "reason", "data"]
    assert list(zip(rejects.source_file, rejects.row_index)) == [("a.csv", 2), ("a.csv", 5), ("b.jsonl", 3)]
    assert all(isinstance(r, str) and r for r in rejects.reason), rejects.reason
    assert "f1" in rejects.reason[0] and "abc" in rejects.reason[0] and "abc" in rejects.data[0]
    assert rejects.data[1] == lines[5] and rejects.data[2] == jsonl[3]

    # The good rows are scored as usual.
    scored = pd.concat([good.drop(index=[2, 5]), more.drop(index=[3])], ignore_index=True)
    assert_predictions(got, scored, clf.predict(scored[FEATURES]), ["prediction"])


def test_jsonl_bad_first_row_rejects_only_that_row(server, xgb_model, tmp_path):
    uri, _ = xgb_model
    place = Place(server, tmp_path)
    df = rows(4, 0, 30)
    lines = df.to_json(orient="records", lines=True).splitlines()
    lines[0] = json.dumps({**json.loads(lines[0]), "f0": "x"})
    place.put("in/a.jsonl", ("\n".join(lines) + "\n").encode())
    job = run_job(server.url, model_uri=uri, input=place.uri("in"), output=place.uri("out"), passthrough=["id"])
    assert (job["rows_out"], job["rows_rejected"]) == (3, 1)


def test_schema_that_cannot_fit_is_refused_at_submission(server, xgb_model, tmp_path):
    uri, _ = xgb_model
    place = Place(server, tmp_path)
    place.put_parquet("in/a.parquet", rows(50, 0, 40), row_group_size=20)
    place.put("in/b.csv", rows(50, 50, 41).drop(columns="f3").to_csv(index=False).encode())
    before = requests.get(f"{server.url}/api/v1/batch-jobs", params={"max_results": 1000}, timeout=10).json()

    r = submit(server.url, model_uri=uri, input=place.uri("in"), output=place.uri("out"), passthrough=["id"])
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid" and "f3" in err["message"] and "b.csv" in err["message"], err
    r = submit(server.url, model_uri=uri, input=place.uri("in/a.parquet"), output=place.uri("out"),
               passthrough=["customer"])
    assert r.status_code == 400 and "customer" in r.json()["error"]["message"], r.text

    after = requests.get(f"{server.url}/api/v1/batch-jobs", params={"max_results": 1000}, timeout=10).json()
    assert [j["id"] for j in after["jobs"]] == [j["id"] for j in before["jobs"]]
    if server.s3:
        assert place.files("out") == []
    else:
        assert not (place.root / "out").exists()


def plinth_cli(server, *args) -> tuple[int, dict | None, str]:
    """Runs `plinth batch …` against the server: exit code, its --json output, stderr."""
    binary = os.environ.get("PLINTH_BIN", str(Path(__file__).resolve().parents[2] / "bin" / "plinth"))
    res = subprocess.run([binary, "batch", *args, "--server", server.url, "--json"], capture_output=True,
                         text=True, timeout=120)
    return res.returncode, json.loads(res.stdout) if res.stdout.strip() else None, res.stderr


def test_same_job_twice_is_one_job_unless_forced(server, xgb_model, tmp_path):
    uri, _ = xgb_model
    place = Place(server, tmp_path)
    place.put_parquet("in/a.parquet", rows(300, 0, 50), row_group_size=100)
    spec = dict(model_uri=uri, input=place.uri("in"), output=place.uri("out"), passthrough=["id"])

    first = submit(server.url, **spec)
    assert first.status_code == 201 and not first.json().get("existed"), first.text
    again = submit(server.url, **spec)
    assert again.status_code == 200, again.text
    assert again.json()["existed"] is True and again.json()["id"] == first.json()["id"]
    assert wait_job(server.url, first.json()["id"])["status"] == "SUCCEEDED"
    again = submit(server.url, **spec)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"], again.text

    forced = submit(server.url, force=True, **spec)
    assert forced.status_code == 201 and forced.json()["id"] != first.json()["id"], forced.text
    job = wait_job(server.url, forced.json()["id"])
    assert job["status"] == "SUCCEEDED", job
    assert json.loads(place.get("out/_manifest.json"))["job_id"] == job["id"]

    # The CLI says the same, and with --force --wait runs it once more.
    argv = ["run", "--model", uri, "--input", spec["input"], "--output", spec["output"], "--passthrough", "id"]
    code, out, err = plinth_cli(server, *argv)
    assert code == 0 and out["existed"] is True and out["id"] == job["id"], (code, out, err)
    code, out, err = plinth_cli(server, *argv, "--force", "--wait")
    assert code == 0 and out["status"] == "SUCCEEDED" and out["id"] not in (first.json()["id"], job["id"]), err
    assert json.loads(place.get("out/_manifest.json"))["job_id"] == out["id"]
    code, _, err = plinth_cli(server, "run", "--model", uri, "--input", spec["input"], "--output",
                              place.uri("other"), "--passthrough", "account", "--wait")
    assert code == 1 and "account" in err, (code, err)


def vm_mib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


# Peak RSS of a server scoring 5M rows × 20 features (XGBoost, 50 trees of depth 6), 32 MiB
# idle: with one shard at a time (--batch-workers 1) 100-115 MiB (1M rows: 103, 2M: 105, 5M:
# 108-114, 10M: 100; row groups of 50k-1M rows alike); with the default two, 290 MiB at 5M rows.
# Memory does not grow with the input; the bound (docs/batch.md) leaves about 1.7× headroom.
PEAK_RSS_BOUND_MIB = 512


@pytest.mark.skipif(os.environ.get("PLINTH_TEST_BACKEND", "sqlite") != "sqlite",
                    reason="the memory check runs once, on SQLite + a local folder")
def test_five_million_rows_in_bounded_memory(tmp_path):
    # A server of its own, so its peak RSS (VmHWM) is this job's.
    for d in ("artifacts", "batch-temp", "in"):
        (tmp_path / d).mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    binary = os.environ.get("PLINTH_BIN", str(Path(__file__).resolve().parents[2] / "bin" / "plinth"))
    proc = Process("plinth", [
        binary, "server", "--host", "127.0.0.1", "--port", str(port), "--db", f"sqlite:{tmp_path}/plinth.db",
        "--artifacts", str(tmp_path / "artifacts"), "--predictions", str(tmp_path / "predictions"),
        "--prediction-log-dir", str(tmp_path / "prediction-wal"), "--model-cache", str(tmp_path / "model-cache"),
        "--batch-temp", str(tmp_path / "batch-temp"), "--shard-rows", "500000",
    ], tmp_path / "plinth.log")
    try:
        proc.wait_ready(lambda: requests.get(url + "/health", timeout=2).status_code == 200)
        nf, per_file, files = 20, 1_000_000, 5
        rng = np.random.default_rng(60)
        cols = [f"x{i}" for i in range(nf)]
        train = pd.DataFrame(rng.normal(size=(5000, nf)).astype(np.float32), columns=cols)
        target = train.x0 * 2 + train.x1 - train.x2 * train.x3 + rng.normal(size=len(train)) * 0.1
        model = xgb.XGBRegressor(n_estimators=50, max_depth=6, n_jobs=1).fit(train, target)
        with tracking(url):
            uri = register(mlflow.xgboost, model, train, "batch-mem")

        # Every file holds the same 1M feature rows (rounded, so the files stay small) under
        # its own ids: row id is features[id % 1M]. Row groups of 250k make two shards a file.
        block = np.round(rng.normal(size=(per_file, nf)), 2).astype(np.float32)
        for k in range(files):
            table = pa.table({"id": np.arange(k * per_file, (k + 1) * per_file, dtype=np.int64),
                              **{c: block[:, i] for i, c in enumerate(cols)}})
            pq.write_table(table, tmp_path / "in" / f"part{k}.parquet", row_group_size=250_000)
        idle = vm_mib(proc.proc.pid, "VmHWM")

        started = time.monotonic()
        job = run_job(url, timeout=120, model_uri=uri, input=str(tmp_path / "in"), output=str(tmp_path / "out"),
                      passthrough=["id"])
        seconds = time.monotonic() - started
        peak = vm_mib(proc.proc.pid, "VmHWM")
        print(f"\n5M rows: job {seconds:.1f}s, peak RSS {peak} MiB (idle {idle} MiB)")
        assert job["rows_out"] == files * per_file and job["rows_rejected"] == 0 and job["shards_total"] == 2 * files
        assert peak < PEAK_RSS_BOUND_MIB, f"peak RSS {peak} MiB (idle {idle} MiB), bound {PEAK_RSS_BOUND_MIB} MiB"

        # Every row is there once, with XGBoost's own prediction.
        manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text())
        want = model.predict(pd.DataFrame(block, columns=cols))
        seen = np.zeros(files * per_file, dtype=np.int8)
        for part in manifest["parts"]:
            t = pq.read_table(tmp_path / "out" / part["path"])
            ids = t.column("id").to_numpy()
            np.add.at(seen, ids, 1)
            np.testing.assert_allclose(t.column("prediction").to_numpy(), want[ids % per_file], rtol=1e-6, atol=1e-6)
        assert (seen == 1).all()
    finally:
        proc.stop()
