package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-ml/plinth/internal/app"
	"github.com/plinth-ml/plinth/internal/runtime/pyfunc"
	"github.com/plinth-ml/plinth/internal/serving"
)

type serveFlags struct {
	model, host, name string
	port              int
	maxBody           int64
}

// modelsServeCmd serves one model, like `mlflow models serve`: the MLflow scoring
// protocol and the Open Inference Protocol, evaluated natively.
func modelsServeCmd(f *clientFlags) *cobra.Command {
	var s serveFlags
	cmd := &cobra.Command{
		Use:   "serve -m MODEL",
		Short: "Serve one model over HTTP (MLflow's /invocations and KServe's V2 protocol), like `mlflow models serve`",
		Long: `Serve MODEL (a local MLflow model folder or a models:/, runs:/ URI resolved through
the server) until interrupted. Routes: POST /invocations (dataframe_split,
dataframe_records, instances, inputs, or CSV), GET /ping, /health, /version, and
the Open Inference Protocol under /v2 (/v2/models/NAME/infer, …). Every answer
carries X-Request-Id, X-Plinth-Model and X-Plinth-Model-Version.

Params in a request pick the output: {"params": {"output": "predict_proba"}} or
{"params": {"output_margin": true}}.`,
		Example: `  plinth models serve -m models:/fraud@champion --port 5001
  curl -s localhost:5001/invocations -H 'Content-Type: application/json' \
    -d '{"dataframe_split": {"columns": ["amount", "age"], "data": [[120.5, 31]]}}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd, f, &s)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&s.model, "model", "m", "", "model folder or URI (models:/…, runs:/…)")
	fl.StringVar(&s.host, "host", "127.0.0.1", "address to listen on")
	fl.IntVarP(&s.port, "port", "p", 5001, "port to listen on; 0 picks a free one")
	fl.StringVar(&s.name, "name", "", "model name in the V2 routes and headers (default: from the URI, else \"model\")")
	fl.Int64Var(&s.maxBody, "max-body", serving.DefaultMaxBody, "largest request body in bytes")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

// nameAndVersion derives what answers from models:/NAME/N, models:/NAME@ALIAS (version
// unknown here) or a folder (its base name is not a model name: "model").
func nameAndVersion(uri string) (string, string) {
	rest, ok := strings.CutPrefix(uri, "models:/")
	if !ok {
		return "model", ""
	}
	if name, _, ok := strings.Cut(rest, "@"); ok {
		return name, ""
	}
	if i := strings.LastIndex(rest, "/"); i > 0 {
		if _, err := strconv.Atoi(rest[i+1:]); err == nil {
			return rest[:i], rest[i+1:]
		}
		return rest[:i], ""
	}
	return rest, "" // a logged model id
}

func runServe(cmd *cobra.Command, f *clientFlags, s *serveFlags) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stderr := cmd.ErrOrStderr()
	dir, cleanup, err := localModel(ctx, f, s.model, stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	model, err := pyfunc.Load(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", s.model, err)
	}
	name, version := nameAndVersion(s.model)
	if s.name != "" {
		name = s.name
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.host, strconv.Itoa(s.port)))
	if err != nil {
		return fmt.Errorf("cannot listen on %s:%d: %w (pick another --port)", s.host, s.port, err)
	}
	srv := &http.Server{
		Handler:           serving.NewModelServer(name, version, model, serving.Options{MaxBody: s.maxBody, Version: app.Version}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	fmt.Fprintf(stderr, "serving %s (%s, %s) as %q on http://%s: POST /invocations, POST /v2/models/%s/infer\n",
		s.model, model.Flavor, model.Class, name, ln.Addr(), name)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
