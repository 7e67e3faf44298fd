package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/plinth-ml/plinth/internal/cli"
)

// childEnv, when set, makes the test binary run as plinth with the JSON list of
// arguments it holds, so the tests need no separately built binary.
const childEnv = "PLINTH_E2E_CHILD"

func TestMain(m *testing.M) {
	if raw, ok := os.LookupEnv(childEnv); ok {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintf(os.Stderr, "e2e child: %s is not a JSON list of strings: %v\n", childEnv, err)
			os.Exit(2)
		}
		// As cmd/plinth does: the server commands install their own SIGTERM handling.
		os.Exit(cli.Execute(context.Background(), args, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
