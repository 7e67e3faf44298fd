// Package e2e holds Plinth's end-to-end tests. They run the real command line
// (`plinth server`, `plinth serve`) as child processes — the test binary
// re-executes itself as plinth — and drive them over HTTP the way callers,
// the mlflow client and operators do: registering models, creating endpoints,
// moving aliases, killing and restarting processes, then reading the
// prediction log's Parquet files back from the blob store.
//
// The package has no code outside its tests.
package e2e
