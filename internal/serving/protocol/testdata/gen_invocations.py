"""Records what MLflow's own scoring server answers to /invocations requests, for the
golden tests of package protocol (mlflow_golden_test.go).

Runs mlflow.pyfunc.scoring_server.invocations() — the function behind POST /invocations —
on the MLflow models in internal/runtime/testdata/mlflow, in process (no HTTP server).

    .venv/bin/python internal/serving/protocol/testdata/gen_invocations.py

writes internal/serving/protocol/testdata/mlflow_invocations.json.
"""

import json
import logging
import os
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)

import mlflow
import mlflow.pyfunc
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import scoring_server

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "../../../runtime/testdata/mlflow"))

# MLflow prints a Python set in this message, in an order that changes with the hash
# seed; Plinth prints one fixed order.
CANONICAL_FORMATS = (
    "The input must be a JSON dictionary with exactly one of the input fields "
    "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}"
)

_models = {}


def model(name):
    if name not in _models:
        _models[name] = mlflow.pyfunc.load_model(os.path.join(MODELS, name, "model"))
    return _models[name]


def rows(name, n):
    with open(os.path.join(MODELS, name, "expected.json")) as f:
        return json.load(f)["input"]["data"][:n]


def invoke(model_name, body, content_type):
    m = model(model_name)
    data = body.encode("utf-8") if isinstance(body, str) else body
    try:
        r = scoring_server.invocations(data, content_type, m, m.metadata.get_input_schema())
        return r.status, r.mimetype, r.response
    except MlflowException as e:
        d = json.loads(e.serialize_as_json())
        d.pop("stack_trace", None)
        return e.get_http_status_code(), "application/json", json.dumps(d)


CASES = []


def case(name, model_name, body, content_type="application/json", compare="exact"):
    """compare: exact (status and body), message (status, error_code and message),
    prefix:N (status, error_code and the message's first N characters), cut:S (status,
    error_code and the message before S), status."""
    if not isinstance(body, str):
        body = json.dumps(body)
    status, mimetype, response = invoke(model_name, body, content_type)
    response = response.replace(scoring_server.REQUIRED_INPUT_FORMAT, CANONICAL_FORMATS)
    CASES.append({
        "name": name, "model": model_name, "content_type": content_type, "body": body,
        "compare": compare, "status": status, "response_type": mimetype, "response": response,
    })


def main():
    cols = ["a", "b", "c", "d"]
    xr = rows("xgb-classifier", 5)
    # Predictions, every input field.
    case("split/classifier labels", "xgb-classifier", {"dataframe_split": {"columns": cols, "data": xr}})
    case("split/with index", "xgb-classifier",
         {"dataframe_split": {"columns": cols, "data": xr[:2], "index": [7, 8]}})
    case("split/columns after data", "xgb-classifier", '{"dataframe_split": {"data": %s, "columns": %s}}' % (
        json.dumps(xr[:2]), json.dumps(cols)))
    case("records/classifier", "xgb-classifier",
         {"dataframe_records": [dict(zip(cols, r)) for r in xr[:3]]})
    case("records/missing optional key", "xgb-classifier",
         {"dataframe_records": [{"a": 0.5, "b": -1.0, "d": 0.25}, dict(zip(cols, xr[0]))]})
    case("inputs/dict of columns", "xgb-classifier",
         {"inputs": {c: [r[j] for r in xr[:3]] for j, c in enumerate(cols)}})
    case("instances/dict of columns", "xgb-classifier",
         {"instances": {c: [r[j] for r in xr[:2]] for j, c in enumerate(cols)}})
    case("instances/records", "xgb-classifier",
         {"instances": [dict(zip(cols, r)) for r in xr[:2]]})
    case("inputs/records", "xgb-classifier",
         {"inputs": [dict(zip(cols, r)) for r in xr[:2]]})
    br = rows("xgb-booster", 4)
    case("split/booster one row", "xgb-booster", {"dataframe_split": {"columns": cols, "data": br[:1]}})
    case("split/booster null cell", "xgb-booster",
         {"dataframe_split": {"columns": cols, "data": [[0.5, -1.0, None, 0.25]]}})
    case("split/booster NaN literal", "xgb-booster",
         '{"dataframe_split": {"columns": ["a", "b", "c", "d"], "data": [[0.5, -1.0, NaN, 0.25]]}}')
    case("split/integer cells", "xgb-booster",
         {"dataframe_split": {"columns": cols, "data": [[1, -1, 0, 2]]}})
    case("split/params ignored", "xgb-booster",
         {"dataframe_split": {"columns": cols, "data": br[:2]}, "params": {"x": 1}})
    case("split/empty data", "xgb-booster", {"dataframe_split": {"columns": cols, "data": []}})
    csv = "a,b,c,d\n" + "\n".join(",".join(repr(v) if v is not None else "" for v in r) for r in br) + "\n"
    case("csv/booster", "xgb-booster", csv, "text/csv")
    case("csv/charset", "xgb-booster", csv, "text/csv; charset=utf-8")
    case("csv/header only", "xgb-booster", "a,b,c,d\n", "text/csv")
    tr = rows("xgb-tensor", 3)
    case("instances/matrix tensor signature", "xgb-tensor", {"instances": tr})
    case("inputs/matrix tensor signature", "xgb-tensor", {"inputs": tr})
    case("split/no columns tensor signature", "xgb-tensor", {"dataframe_split": {"data": tr}})
    lr = rows("lgb-booster", 3)
    case("records/booster multiclass", "lgb-booster",
         {"dataframe_records": [dict(zip(cols, r)) for r in lr]})
    sr = rows("lgb-classifier-skops", 4)
    case("split/string labels", "lgb-classifier-skops", {"dataframe_split": {"columns": cols, "data": sr}})
    rr = rows("lgb-regressor-skops", 3)
    case("instances/matrix no signature", "lgb-regressor-skops", {"instances": rr})
    case("split/no signature", "lgb-regressor-skops", {"dataframe_split": {"columns": cols, "data": rr}})
    case("json/utf-8 BOM", "xgb-booster",
         "\ufeff" + json.dumps({"dataframe_split": {"columns": cols, "data": br[:1]}}))

    # Errors the protocol layer raises.
    case("error/bare list", "xgb-booster", [[1, 2, 3, 4]], compare="message")
    case("error/string", "xgb-booster", '"x"', compare="message")
    case("error/number", "xgb-booster", "1.5", compare="message")
    case("error/no input field", "xgb-booster", {"foo": 1}, compare="message")
    case("error/empty object", "xgb-booster", {}, compare="message")
    case("error/two input fields", "xgb-booster", {"instances": [[1]], "inputs": [[1]]}, compare="message")
    case("error/params only", "xgb-booster", {"params": {}}, compare="message")
    case("error/invalid JSON", "xgb-booster", '{"a":', compare="cut:\nInput:")
    case("error/trailing data", "xgb-booster", '{"inputs": [1]} x', compare="cut:\nInput:")
    case("error/split is a list", "xgb-booster", {"dataframe_split": [[1, 2]]}, compare="message")
    case("error/split is a string", "xgb-booster", {"dataframe_split": "x"}, compare="message")
    case("error/records is an object", "xgb-booster", {"dataframe_records": {"a": 1}}, compare="message")
    case("error/records is a number", "xgb-booster", {"dataframe_records": 3}, compare="message")
    case("error/split without data", "xgb-booster", {"dataframe_split": {"columns": ["a"]}}, compare="prefix:90")
    case("error/split extra key", "xgb-booster",
         {"dataframe_split": {"columns": ["a"], "data": [[1]], "foo": 1}}, compare="prefix:90")
    case("error/split too many values", "xgb-booster",
         {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2, 3]]}}, compare="prefix:110")
    case("error/instances ragged records", "xgb-booster",
         {"instances": [{"a": 1, "b": 2}, {"a": 3}]}, compare="prefix:79")
    case("error/instances ragged rows", "xgb-booster", {"instances": [[1, 2], [3]]}, compare="status")
    case("error/csv empty", "xgb-booster", "", "text/csv", compare="prefix:150")
    case("error/415 media type", "xgb-booster", "a\n1\n", "text/plain", compare="status")
    case("error/415 charset", "xgb-booster", "a\n1\n", "text/csv; charset=latin-1", compare="exact")
    case("error/415 1.x format parameter", "xgb-booster", "{}", "application/json; format=pandas-split",
         compare="exact")

    out = os.path.join(HERE, "mlflow_invocations.json")
    with open(out, "w") as f:
        json.dump({"mlflow_version": mlflow.__version__, "cases": CASES}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(CASES)} cases to {out}")


if __name__ == "__main__":
    main()
