"""Regenerates mlflow_model_cases.json: what the real MLflow makes of each input in
mlflow_model_inputs.txt, for logged models and the model registry. The Go tests read the
JSON and never need Python.

    /work/.venv-probe/bin/python gen_mlflow_model_cases.py   # from this folder

Each input line is "<kind> <text>", kind one of
  lf   logged-model filter: SearchLoggedModelsUtils.parse_search_filter plus the
       comparator checks SearchLoggedModelsUtils applies when it filters;
  rmf  registered-model filter and mvf model-version filter: SearchModelUtils /
       SearchModelVersionUtils plus the checks of the registry SQL store;
  rmo  registered-model order_by and mvo model-version order_by: the registry SQL store.
Lines starting with # are comments.
"""

import json
import math
import pathlib
import tempfile

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore
from mlflow.utils.search_utils import (
    SearchLoggedModelsUtils,
    SearchModelUtils,
    SearchModelVersionUtils,
)

ENTITY = {"parameter": "param"}
LOGGED_ALIASES = {"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"}
# The registry SQL store's columns, in Plinth's canonical spelling.
COLUMNS = {
    "name": "name",
    "version": "version_number",
    "creation_time": "creation_timestamp",
    "last_updated_time": "last_updated_timestamp",
}


def norm_clause(c, numeric):
    key = c["key"]
    out = {"entity": ENTITY.get(c["type"], c["type"]), "key": key, "op": c["comparator"].upper()}
    v = c["value"]
    if v is None:
        out["kind"] = "none"
    elif isinstance(v, tuple):
        out["kind"], out["list"] = "list", list(v)
    elif numeric:
        # metric values stay strings in MLflow's parse; version numbers may be quoted
        v = int(v) if isinstance(v, str) and c["key"] == "version_number" else v
        out["kind"], out["num"] = "number", float(v)
        if not math.isfinite(out["num"]):
            out["num"], out["special"] = 0, str(out["num"])
    else:
        out["kind"], out["str"] = "string", v
    return out


def logged_filter(s):
    U = SearchLoggedModelsUtils
    parsed = U.parse_search_filter(s)
    out = []
    for c in parsed:
        t, k, op = c["type"], c["key"], c["comparator"].upper()
        # the checks _does_logged_model_match_clause makes, in its order
        U.is_metric(t, op) or U.is_param(t, op) or U.is_tag(t, op) or U.is_numeric_attribute(
            t, k, op
        ) or U.is_string_attribute(t, k, op)
        n = norm_clause(c, t == "metric" or (t == "attribute" and k in U.NUMERIC_ATTRIBUTES))
        if t == "attribute":
            n["key"] = LOGGED_ALIASES.get(k, k)
        out.append(n)
    return out


def registry_filter(utils, check):
    def parse(s):
        parsed = utils.parse_search_filter(s)
        check(parsed, "sqlite")
        out = []
        for c in parsed:
            numeric = c["type"] == "attribute" and c["key"] == "version_number"
            out.append(norm_clause(c, numeric))
        return out

    return parse


def order(parse):
    def run(s):
        (clause,) = [c for c in parse([s])][:1]
        desc = str(clause).endswith("DESC")
        return {"entity": "attribute", "key": COLUMNS[clause.element.key], "desc": desc}

    return run


def main():
    here = pathlib.Path(__file__).parent
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlAlchemyStore(f"sqlite:///{tmp}/registry.db")
        kinds = {
            "lf": logged_filter,
            "rmf": registry_filter(
                SearchModelUtils,
                lambda p, d: store._get_search_registered_model_filter_query(None, p, d),
            ),
            "mvf": registry_filter(
                SearchModelVersionUtils, store._get_search_model_versions_filter_clauses
            ),
            "rmo": order(SqlAlchemyStore._parse_search_registered_models_order_by),
            "mvo": order(SqlAlchemyStore._parse_search_model_versions_order_by),
        }
        cases = []
        for line in (here / "mlflow_model_inputs.txt").read_text().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            kind, text = line.split(" ", 1)
            case = {"kind": kind, "input": text}
            try:
                case["result"] = kinds[kind](text)
                case["ok"] = True
            except MlflowException as e:
                case["ok"], case["error"] = False, e.message
            except Exception as e:  # MLflow crashes on some inputs; that is still a rejection
                case["ok"], case["error"] = False, f"{type(e).__name__}: {e}"
            cases.append(case)
        store.engine.dispose()
    out = {"mlflow_version": mlflow.__version__, "cases": cases}
    (here / "mlflow_model_cases.json").write_text(
        json.dumps(out, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    )


if __name__ == "__main__":
    main()
