// Command plinth is the Plinth server and command line.
package main

import (
	"context"
	"os"

	"github.com/plinth-ml/plinth/internal/cli"
)

func main() {
	os.Exit(cli.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
