// Package cli is Plinth's command line: one cobra command per file.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Execute runs the command line with args (without the program name) and returns the exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	return 0
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "plinth",
		Short: "Plinth: experiment tracking (MLflow-compatible), model registry, serving and batch in one binary",
		Long: `Plinth is an ML platform in one binary. Point the unmodified mlflow client at it:

  plinth server                      # SQLite + ./plinth-data, on http://127.0.0.1:5000
  export MLFLOW_TRACKING_URI=http://127.0.0.1:5000`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServerCmd(), newDBCmd(), newVersionCmd(), newModelsCmd(), newEndpointsCmd(), newServeCmd(),
		newBatchCmd(), newWorkerCmd())
	return root
}

// lookupEnv is os.LookupEnv; commands read the environment only through Config.LoadEnv.
var lookupEnv = os.LookupEnv
