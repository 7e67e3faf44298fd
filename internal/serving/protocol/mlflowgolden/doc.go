// Package mlflowgolden holds only tests: it checks package protocol together with the
// native runtime against MLflow's own answers to /invocations requests
// (../testdata/mlflow_invocations.json, written by ../testdata/gen_invocations.py). It is
// a package of its own so that protocol's unit tests and fuzz targets build without the
// runtime.
package mlflowgolden
