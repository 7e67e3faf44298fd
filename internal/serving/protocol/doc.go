// Package protocol decodes and encodes the bodies of the two serving protocols, with no
// HTTP server and no model: the handlers call it.
//
// MLflow scoring (POST /invocations): CheckContentType, DecodeJSON, DecodeCSV,
// EncodePredictions, ErrorBody. The behaviour is MLflow 3.x's scoring server
// (mlflow/pyfunc/scoring_server, mlflow/utils/proto_json_utils.py) as pandas turns the
// body into a DataFrame; testdata/mlflow_invocations.json holds MLflow's own answers and
// the tests in ./mlflowgolden check this package and the native runtime against them.
// Where Plinth differs, on purpose:
//   - JSON is read as Python's json.loads reads it (NaN, Infinity, -Infinity, a UTF-8
//     byte-order mark), with its error messages, but the body is not echoed back in them.
//   - A column mixing numbers, strings and booleans is a String column of the values'
//     text (pandas keeps an object column, which a signature cast turns into numbers).
//   - Rows shorter than the columns, duplicate column names, an index of another length
//     and keys missing from some objects under "instances" are refused with a message
//     naming the row or column (pandas pads, keeps duplicates, broadcasts).
//   - A list of lists under instances/inputs is typed per column (numpy makes one array,
//     all strings if one cell is a string).
//   - NaN and ±Infinity in predictions are null (Python writes bare NaN, which is not
//     JSON); the rest is byte for byte Python's json.dumps.
//   - application/csv is accepted as well as text/csv (MLflow's docs say one, its code
//     the other); application/vnd.apache.parquet, which MLflow 3.x also takes, is not
//     (415); unwrapped LLM payloads ("messages", "prompt", "input") are refused (400);
//     "params" must be an object or null.
//
// Open Inference Protocol (KServe V2): DecodeInferRequest, InferRequest.Table,
// EncodeInferResponse, InferErrorBody, ModelMetadata and the small health and metadata
// bodies. Tensors may be nested or flat; see InferRequest.Table and groupColumns for how
// tensors map to table columns and back.
//
// Every decoder bounds its work and memory by the body's size, never panics on input,
// and returns *Error, which carries the HTTP status.
package protocol
