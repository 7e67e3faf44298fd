"""search_runs / search_experiments: filters, order_by, paging."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import mlflow
import pandas as pd
import pytest
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

N_RUNS = 1000


@pytest.fixture(scope="module")
def zoo(server):
    """Five runs with known values in a fresh experiment."""
    client = mlflow.MlflowClient(server.url)
    eid = client.create_experiment("zoo-" + uuid.uuid4().hex)
    spec = [
        # name, model, team, acc, val loss
        ("r-forest", "rf", "Alpha", 0.91, 0.30),
        ("x-boost", "xgb", "alpha", 0.95, 0.20),
        ("lin", "linear", "beta", 0.70, 0.90),
        ("r-tree", "rf", "beta", 0.80, 0.50),
        ("no-metrics", "none", "gamma", None, None),
    ]
    ids = {}
    for i, (name, model, team, acc, loss) in enumerate(spec):
        r = client.create_run(eid, run_name=name, start_time=1_700_000_000_000 + i * 1000)
        metrics = [] if acc is None else [Metric("acc", acc, 0, 0), Metric("val loss", loss, 0, 0)]
        client.log_batch(
            r.info.run_id,
            metrics=metrics,
            params=[Param("model", model)],
            tags=[RunTag("team", team), RunTag("extra-key", f"v{i}")],
        )
        client.set_terminated(r.info.run_id, "FAILED" if name == "lin" else "FINISHED")
        ids[name] = r.info.run_id
    return eid, ids


def names(runs):
    return [r.info.run_name for r in runs]


@pytest.mark.parametrize(
    "flt, want",
    [
        ("metrics.acc > 0.9", {"r-forest", "x-boost"}),
        ("metrics.acc >= 0.8 AND metrics.acc < 0.95", {"r-forest", "r-tree"}),
        ("metrics.acc != 0.7", {"r-forest", "x-boost", "r-tree"}),
        ("metrics.`val loss` <= 0.3", {"r-forest", "x-boost"}),
        ('metrics."val loss" = 0.9', {"lin"}),
        ("params.model = 'rf'", {"r-forest", "r-tree"}),
        ("params.model != 'rf'", {"x-boost", "lin", "no-metrics"}),
        ("params.model LIKE '%n%'", {"lin", "no-metrics"}),
        ("tags.team = 'alpha'", {"x-boost"}),
        ("tags.team ILIKE 'alpha'", {"r-forest", "x-boost"}),
        ("tags.team LIKE 'A%'", {"r-forest"}),
        ("tags.`extra-key` = 'v3'", {"r-tree"}),
        ("attributes.status = 'FAILED'", {"lin"}),
        ("attributes.run_name = 'lin'", {"lin"}),
        ("attributes.run_name LIKE 'r-%'", {"r-forest", "r-tree"}),
        ("run_name ILIKE 'X-%'", {"x-boost"}),
        ("attributes.start_time >= 1700000003000", {"r-tree", "no-metrics"}),
        ("params.model = 'rf' AND metrics.acc > 0.85 AND tags.team = 'Alpha'", {"r-forest"}),
        ("params.model = 'nope'", set()),
        ("", {"r-forest", "x-boost", "lin", "r-tree", "no-metrics"}),
    ],
)
def test_filters(zoo, client, flt, want):
    eid, _ = zoo
    assert set(names(client.search_runs([eid], flt))) == want


def test_filter_on_run_id_in(zoo, client):
    eid, ids = zoo
    flt = f"attributes.run_id IN ('{ids['lin']}', '{ids['x-boost']}')"
    assert set(names(client.search_runs([eid], flt))) == {"lin", "x-boost"}


def test_order_by(zoo, client):
    eid, _ = zoo
    metric_runs = "metrics.acc > 0"
    assert names(client.search_runs([eid], metric_runs, order_by=["metrics.acc DESC"])) == [
        "x-boost", "r-forest", "r-tree", "lin"]
    assert names(client.search_runs([eid], metric_runs, order_by=["metrics.`val loss`"])) == [
        "x-boost", "r-forest", "r-tree", "lin"]
    assert names(client.search_runs([eid], metric_runs, order_by=["params.model ASC", "metrics.acc DESC"])) == [
        "lin", "r-forest", "r-tree", "x-boost"]
    assert names(client.search_runs([eid], order_by=["attributes.start_time ASC"])) == [
        "r-forest", "x-boost", "lin", "r-tree", "no-metrics"]
    assert names(client.search_runs([eid], order_by=["attributes.run_name DESC"])) == [
        "x-boost", "r-tree", "r-forest", "no-metrics", "lin"]
    # No order_by: newest start_time first.
    assert names(client.search_runs([eid])) == ["no-metrics", "r-tree", "lin", "x-boost", "r-forest"]


def test_search_runs_pandas(zoo):
    eid, ids = zoo
    df = mlflow.search_runs([eid], "params.model = 'rf'", order_by=["metrics.acc DESC"])
    assert isinstance(df, pd.DataFrame)
    assert list(df["run_id"]) == [ids["r-forest"], ids["r-tree"]]
    assert list(df["metrics.acc"]) == [0.91, 0.80]
    assert list(df["params.model"]) == ["rf", "rf"]
    assert list(df["tags.team"]) == ["Alpha", "beta"]


def test_search_by_experiment_name(zoo, client):
    eid, _ = zoo
    exp = client.get_experiment(eid)
    runs = mlflow.search_runs(experiment_names=[exp.name], output_format="list")
    assert len(runs) == 5


@pytest.mark.parametrize(
    "flt",
    [
        "metrics.acc >>> 1",
        "metrics.acc > 'high'",
        "params.model > 'a'",
        "metrics.acc > 1 OR metrics.acc < 0",
        "nosuchprefix.x = 1",
        "(metrics.acc > 1)",
    ],
)
def test_invalid_filter(zoo, client, flt):
    eid, _ = zoo
    with pytest.raises(MlflowException) as e:
        client.search_runs([eid], flt)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE", e.value.message
    assert e.value.message


def test_invalid_order_by(zoo, client):
    eid, _ = zoo
    with pytest.raises(MlflowException) as e:
        client.search_runs([eid], order_by=["metrics.acc SIDEWAYS"])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.fixture(scope="module")
def thousand(server):
    """An experiment with N_RUNS runs, made concurrently with create_run + log_batch."""
    client = mlflow.MlflowClient(server.url)
    eid = client.create_experiment("thousand-" + uuid.uuid4().hex)
    t0 = int(time.time() * 1000)

    def make(i):
        r = client.create_run(eid, start_time=t0 + i, tags={"mlflow.runName": f"run-{i:04d}"})
        client.log_batch(
            r.info.run_id,
            metrics=[Metric("i", float(i), t0, 0), Metric("sq", float(i * i), t0, 0)],
            params=[Param("group", str(i % 4))],
            tags=[RunTag("parity", "even" if i % 2 == 0 else "odd")],
        )
        return r.info.run_id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(make, range(N_RUNS)))
    return eid, ids


def page_through(client, eid, flt="", order_by=None, size=100):
    out, token, pages = [], None, 0
    while True:
        page = client.search_runs([eid], flt, max_results=size, order_by=order_by, page_token=token)
        out.extend(page)
        pages += 1
        token = page.token
        if not token:
            return out, pages
        assert pages <= N_RUNS, "paging does not end"


def test_paging_through_1000_runs(thousand, client):
    eid, ids = thousand
    runs, pages = page_through(client, eid, order_by=["metrics.i ASC"], size=100)
    assert pages in (10, 11)  # a server may send a token for an empty last page
    assert [r.info.run_id for r in runs] == ids
    assert [r.data.metrics["i"] for r in runs] == [float(i) for i in range(N_RUNS)]
    assert runs[3].data.params == {"group": "3"} and runs[3].data.tags["parity"] == "odd"


def test_paging_default_order_and_odd_page_size(thousand, client):
    eid, ids = thousand
    runs, _ = page_through(client, eid, size=333)
    # Default order: newest start_time first.
    assert [r.info.run_id for r in runs] == ids[::-1]


def test_paging_with_filter(thousand, client):
    eid, ids = thousand
    runs, _ = page_through(
        client, eid, "params.group = '2' AND metrics.i >= 500 AND tags.parity = 'even'",
        order_by=["metrics.sq DESC"], size=50)
    want = [i for i in range(N_RUNS - 1, 499, -1) if i % 4 == 2]
    assert [int(r.data.metrics["i"]) for r in runs] == want


def test_max_results_one_page(thousand, client):
    eid, ids = thousand
    runs = client.search_runs([eid], max_results=N_RUNS, order_by=["metrics.i DESC"])
    assert [r.info.run_id for r in runs] == ids[::-1]
    if runs.token:
        assert len(client.search_runs([eid], max_results=N_RUNS, page_token=runs.token)) == 0
    df = mlflow.search_runs([eid])
    assert len(df) == N_RUNS


def test_search_experiments(client):
    tag = uuid.uuid4().hex[:8]
    made = [client.create_experiment(f"se-{tag}-{n}", tags={"kind": k}) for n, k in
            (("a", "cv"), ("b", "nlp"), ("c", "cv"))]
    got = client.search_experiments(filter_string=f"name LIKE 'se-{tag}-%'", order_by=["name DESC"])
    assert [e.name for e in got] == [f"se-{tag}-c", f"se-{tag}-b", f"se-{tag}-a"]
    cv = client.search_experiments(filter_string=f"name LIKE 'se-{tag}-%' AND tags.kind = 'cv'")
    assert {e.experiment_id for e in cv} == {made[0], made[2]}
    client.delete_experiment(made[1])
    active = client.search_experiments(filter_string=f"name LIKE 'se-{tag}-%'")
    assert {e.experiment_id for e in active} == {made[0], made[2]}
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=f"name LIKE 'se-{tag}-%'")
    assert [e.experiment_id for e in deleted] == [made[1]]
    page = client.search_experiments(max_results=2, filter_string=f"name LIKE 'se-{tag}-%'", view_type=ViewType.ALL)
    assert len(page) == 2 and page.token
    rest = client.search_experiments(max_results=2, filter_string=f"name LIKE 'se-{tag}-%'",
                                     view_type=ViewType.ALL, page_token=page.token)
    assert len(rest) == 1
    assert {e.experiment_id for e in list(page) + list(rest)} == set(made)
