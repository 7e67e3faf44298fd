"""Regenerates mlflow_cases.json: what the real MLflow (search_utils plus the checks of
its SQL store) makes of each input in mlflow_inputs.txt. The Go tests read the JSON and
never need Python.

    /work/.venv-probe/bin/python gen_mlflow_cases.py   # from this folder

Each input line is "<kind> <text>", kind one of rf (run filter), ef (experiment filter),
ro (run order_by), eo (experiment order_by). Lines starting with # are comments.
"""

import json
import math
import pathlib

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.store.tracking import sqlalchemy_store as ss
from mlflow.utils.search_utils import SearchExperimentsUtils, SearchUtils
from sqlalchemy.orm import Session

ENTITY = {"parameter": "param"}


def norm_clause(c, experiments):
    key = c["key"]
    if c["type"] == "attribute" and not experiments:
        key = SearchUtils.translate_key_alias(key)
    out = {"entity": ENTITY.get(c["type"], c["type"]), "key": key, "op": c["comparator"].upper()}
    v = c["value"]
    if v is None:
        out["kind"] = "none"
    elif isinstance(v, tuple):
        out["kind"], out["list"] = "list", list(v)
    elif c["type"] == "metric" or isinstance(v, (int, float)):
        out["kind"], out["num"] = "number", float(v)
        if not math.isfinite(out["num"]):  # JSON has no infinity; Go reads "special"
            out["num"], out["special"] = 0, str(out["num"])
    else:
        out["kind"], out["str"] = "string", v
    if experiments and key == "experiment_id":
        if "list" in out:
            out["list"] = [str(int(x)) for x in out["list"]]
        else:
            out["str"] = str(int(out["str"]))
    return out


def run_filter(s):
    parsed = SearchUtils.parse_search_filter(s)
    ss._get_sqlalchemy_filter_clauses(parsed, Session(), "sqlite")
    return [norm_clause(c, False) for c in parsed]


def exp_filter(s):
    parsed = SearchExperimentsUtils.parse_search_filter(s)
    ss._get_search_experiments_filter_clauses(parsed, "sqlite")
    return [norm_clause(c, True) for c in parsed]


def run_order(s):
    type_, key, asc = SearchUtils.parse_order_by_for_search_runs(s)
    ss._get_orderby_clauses([s], Session())
    key = SearchUtils.translate_key_alias(key) if type_ == "attribute" else key
    return {"entity": ENTITY.get(type_, type_), "key": key, "desc": not asc}


def exp_order(s):
    type_, key, asc = SearchExperimentsUtils.parse_order_by_for_search_experiments(s)
    ss._get_search_experiments_order_by_clauses([s])
    return {"entity": type_, "key": key, "desc": not asc}


KINDS = {"rf": run_filter, "ef": exp_filter, "ro": run_order, "eo": exp_order}


def main():
    here = pathlib.Path(__file__).parent
    cases = []
    for line in (here / "mlflow_inputs.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, text = line.split(" ", 1)
        case = {"kind": kind, "input": text}
        try:
            case["result"] = KINDS[kind](text)
            case["ok"] = True
        except MlflowException as e:
            case["ok"], case["error"] = False, e.message
        except Exception as e:  # MLflow crashes on some inputs; that is still a rejection
            case["ok"], case["error"] = False, f"{type(e).__name__}: {e}"
        cases.append(case)
    out = {"mlflow_version": mlflow.__version__, "cases": cases}
    (here / "mlflow_cases.json").write_text(json.dumps(out, indent=1, ensure_ascii=False, allow_nan=False) + "\n")


if __name__ == "__main__":
    main()
