"""The model registry through the real client: search, rename, delete, stages, aliases, tags,
concurrent registration, error paths, and (Plinth only) approvals."""

import hashlib
import os
import threading
import uuid

import mlflow
import pytest
import requests
from mlflow.exceptions import MlflowException

plinth_only = pytest.mark.skipif(os.environ.get("PLINTH_TEST_SERVER", "plinth") != "plinth",
                                 reason="Plinth's own approval API")


def error_code(fn, *args, **kwargs) -> str:
    with pytest.raises(MlflowException) as e:
        fn(*args, **kwargs)
    return e.value.error_code


@pytest.fixture
def run_id(experiment):
    with mlflow.start_run() as run:
        mlflow.log_text("not really a model", "model/MLmodel")
    return run.info.run_id


@pytest.fixture
def prefix():
    return "rg" + uuid.uuid4().hex[:8]


def register(client, name, run_id, n=1, **tags):
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    return [client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id, tags=tags)
            for _ in range(n)]


def test_search_registered_models_and_versions(client, run_id, prefix):
    client.create_registered_model(f"{prefix}-a", tags={"team": "risk"}, description="first")
    client.create_registered_model(f"{prefix}-b", tags={"team": "growth"})
    client.create_registered_model(f"{prefix}-c", tags={"team": "risk"})
    register(client, f"{prefix}-a", run_id, 3, flavor="sklearn")
    register(client, f"{prefix}-b", run_id, 2, flavor="xgboost")

    names = lambda f, **kw: [m.name for m in client.search_registered_models(f, **kw)]  # noqa: E731
    assert names(f"name LIKE '{prefix}-%'") == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    assert names(f"name LIKE '{prefix}-%' AND tags.team = 'risk'") == [f"{prefix}-a", f"{prefix}-c"]
    assert names(f"name ILIKE '{prefix.upper()}-B'") == [f"{prefix}-b"]
    assert names(f"name LIKE '{prefix}-%'", order_by=["name DESC"]) == [f"{prefix}-c", f"{prefix}-b", f"{prefix}-a"]
    page = client.search_registered_models(f"name LIKE '{prefix}-%'", max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_registered_models(f"name LIKE '{prefix}-%'", max_results=2, page_token=page.token)
    assert [m.name for m in rest] == [f"{prefix}-c"] and not rest.token

    got = client.get_registered_model(f"{prefix}-a")
    assert got.description == "first" and got.tags == {"team": "risk"}
    assert [v.version for v in got.latest_versions] == ["3"]

    vs = lambda f, **kw: [(v.name, v.version) for v in client.search_model_versions(f, **kw)]  # noqa: E731
    assert sorted(vs(f"name = '{prefix}-a'")) == [(f"{prefix}-a", v) for v in ("1", "2", "3")]
    assert vs(f"name = '{prefix}-a'", order_by=["version_number ASC"]) == [(f"{prefix}-a", v) for v in ("1", "2", "3")]
    assert sorted(vs(f"name LIKE '{prefix}-%' AND tags.flavor = 'xgboost'")) == [(f"{prefix}-b", "1"), (f"{prefix}-b", "2")]
    assert sorted(vs(f"name IN ('{prefix}-b', '{prefix}-c') AND version_number > 1")) == [(f"{prefix}-b", "2")]
    assert len(vs(f"run_id = '{run_id}'")) == 5
    with pytest.raises(MlflowException):
        client.search_model_versions("version_number = 'x' AND")


def test_rename_and_delete(client, run_id, prefix):
    name = f"{prefix}-old"
    register(client, name, run_id, 2)
    client.set_registered_model_alias(name, "champion", "2")
    client.set_model_version_tag(name, "1", "checked", "yes")
    client.rename_registered_model(name, f"{prefix}-new")
    assert error_code(client.get_registered_model, name) == "RESOURCE_DOES_NOT_EXIST"
    mv = client.get_model_version(f"{prefix}-new", "1")
    assert mv.name == f"{prefix}-new" and mv.tags == {"checked": "yes"}
    assert client.get_model_version_by_alias(f"{prefix}-new", "champion").version == "2"
    client.create_registered_model(f"{prefix}-taken")
    assert error_code(client.rename_registered_model, f"{prefix}-new", f"{prefix}-taken") == "RESOURCE_ALREADY_EXISTS"

    client.delete_model_version(f"{prefix}-new", "2")
    assert error_code(client.get_model_version, f"{prefix}-new", "2") == "RESOURCE_DOES_NOT_EXIST"
    # MLflow answers a missing alias with INVALID_PARAMETER_VALUE, not RESOURCE_DOES_NOT_EXIST.
    assert error_code(client.get_model_version_by_alias, f"{prefix}-new", "champion") == "INVALID_PARAMETER_VALUE"
    # Numbers are never reused.
    assert register(client, f"{prefix}-new", run_id)[0].version == "3"
    client.delete_registered_model(f"{prefix}-new")
    assert error_code(client.get_registered_model, f"{prefix}-new") == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_model_versions(f"name = '{prefix}-new'") == []


def test_stages_tags_and_download_uri(client, run_id, prefix):
    name = f"{prefix}-stages"
    register(client, name, run_id, 3)
    client.transition_model_version_stage(name, "1", "Production")
    client.transition_model_version_stage(name, "2", "Staging")
    client.transition_model_version_stage(name, "3", "Production", archive_existing_versions=True)
    stages = {v.version: v.current_stage for v in client.search_model_versions(f"name = '{name}'")}
    assert stages == {"1": "Archived", "2": "Staging", "3": "Production"}
    latest = {v.current_stage: v.version for v in client.get_latest_versions(name)}
    assert latest == {"Archived": "1", "Staging": "2", "Production": "3"}
    assert [v.version for v in client.get_latest_versions(name, stages=["Staging"])] == ["2"]

    client.update_model_version(name, "2", description="candidate")
    client.set_registered_model_tag(name, "owner", "ml")
    client.delete_registered_model_tag(name, "owner")
    client.set_model_version_tag(name, "2", "k", "v")
    client.delete_model_version_tag(name, "2", "k")
    mv = client.get_model_version(name, "2")
    assert mv.description == "candidate" and mv.tags == {}
    assert client.get_registered_model(name).tags == {}
    run = client.get_run(run_id)
    # MLflow answers the source as registered; Plinth resolves it to where the files are.
    assert client.get_model_version_download_uri(name, "1") in (f"runs:/{run_id}/model",
                                                                 run.info.artifact_uri + "/model")


def test_concurrent_registration_numbers_versions_without_gaps(client, run_id, prefix):
    name = f"{prefix}-race"
    client.create_registered_model(name)
    errors = []

    def worker():
        c = mlflow.MlflowClient()
        try:
            for _ in range(5):
                c.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))
    assert versions == list(range(1, 41))


def test_registry_errors_change_nothing(client, run_id, prefix):
    name = f"{prefix}-errs"
    client.create_registered_model(name)
    missing_run = uuid.uuid4().hex
    # Registering from a run that does not exist.
    with pytest.raises(MlflowException):
        mlflow.register_model(f"runs:/{missing_run}/model", name)
    assert client.search_model_versions(f"name = '{name}'") == []
    # A version of a model that does not exist.
    assert error_code(client.create_model_version, f"{prefix}-nope", f"runs:/{run_id}/model",
                      run_id=run_id) == "RESOURCE_DOES_NOT_EXIST"
    register(client, name, run_id)
    # Aliasing a version that does not exist.
    assert error_code(client.set_registered_model_alias, name, "champion", "7") == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_registered_model(name).aliases == {}
    assert error_code(client.create_registered_model, name) == "RESOURCE_ALREADY_EXISTS"
    assert error_code(client.get_model_version, name, "2") == "RESOURCE_DOES_NOT_EXIST"
    assert error_code(client.transition_model_version_stage, name, "1", "Prod") == "INVALID_PARAMETER_VALUE"
    assert client.get_model_version(name, "1").current_stage == "None"


def test_large_model_artifact_round_trip(client, experiment, tmp_path):
    """A 200 MB model file goes up through the proxy and comes back byte for byte."""
    size = 200 * 1024 * 1024
    src = tmp_path / "model"
    src.mkdir()
    h = hashlib.sha256()
    chunk = os.urandom(1 << 20)
    with open(src / "weights.bin", "wb") as f:
        for i in range(size // len(chunk)):
            block = i.to_bytes(8, "big") + chunk[8:]
            h.update(block)
            f.write(block)
    m = client.create_logged_model(experiment, name="big")
    client.log_model_artifacts(m.model_id, str(src))
    (src / "weights.bin").unlink()
    out = mlflow.artifacts.download_artifacts(f"models:/{m.model_id}", dst_path=str(tmp_path / "dl"))
    got = hashlib.sha256()
    n = 0
    with open(os.path.join(out, "weights.bin"), "rb") as f:
        while block := f.read(1 << 20):
            got.update(block)
            n += len(block)
    assert n == size and got.hexdigest() == h.hexdigest()


# ---- Plinth's approvals (/api/v1) ----


def v1(server, method, path, auth=("alice", "x"), **kw):
    return requests.request(method, f"{server.url}/api/v1{path}", auth=auth, timeout=30, **kw)


@plinth_only
def test_approvals_and_protected_alias(server, client, run_id, prefix):
    name = f"{prefix}-gov"
    register(client, name, run_id, 2)
    r = v1(server, "PUT", f"/models/{name}/approval-policy",
           json={"requires_approval": True, "protected_aliases": ["champion"]})
    assert r.status_code == 200, r.text
    # A protected alias cannot point at an unapproved version, through either API.
    assert error_code(client.set_registered_model_alias, name, "champion", "1") == "INVALID_PARAMETER_VALUE"
    assert client.get_registered_model(name).aliases == {}
    client.set_registered_model_alias(name, "challenger", "1")  # not protected

    r = v1(server, "POST", f"/models/{name}/versions/1/approve", json={"reason": "backtest passed"})
    assert r.status_code == 200, r.text
    again = v1(server, "POST", f"/models/{name}/versions/1/approve", json={"reason": "twice"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"

    r = v1(server, "POST", f"/models/{name}/versions/2/reject", auth=("bob", "y"), json={"reason": "drift"})
    assert r.status_code == 200, r.text
    hist = v1(server, "GET", f"/models/{name}/versions/1/approvals").json()["approvals"]
    assert [(h["from"], h["to"], h["actor"], h["reason"]) for h in hist] == [
        ("pending", "approved", "alice", "backtest passed")]
    hist2 = v1(server, "GET", f"/models/{name}/versions/2/approvals").json()["approvals"]
    assert [(h["to"], h["actor"]) for h in hist2] == [("rejected", "bob")]
    assert error_code(client.set_registered_model_alias, name, "champion", "2") == "INVALID_PARAMETER_VALUE"
    assert client.get_model_version_by_alias(name, "champion").version == "1"


@plinth_only
def test_approved_model_files_cannot_change(server, client, experiment, tmp_path):
    name = "locked-" + uuid.uuid4().hex[:8]
    src = tmp_path / "m"
    src.mkdir()
    (src / "MLmodel").write_text("flavors: {}\n")
    m = client.create_logged_model(experiment, name="locked")
    client.log_model_artifacts(m.model_id, str(src))
    client.create_registered_model(name)
    client.create_model_version(name, f"models:/{m.model_id}", model_id=m.model_id)
    r = v1(server, "POST", f"/models/{name}/versions/1/approve", json={"reason": "ok"})
    assert r.status_code == 200, r.text
    (src / "MLmodel").write_text("tampered\n")
    with pytest.raises(Exception, match="approved version 1 of model"):
        client.log_model_artifacts(m.model_id, str(src))
    out = mlflow.artifacts.download_artifacts(f"models:/{name}/1", dst_path=str(tmp_path / "dl"))
    assert open(os.path.join(out, "MLmodel")).read() == "flavors: {}\n"
