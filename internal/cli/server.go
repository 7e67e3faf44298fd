package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/plinth-ml/plinth/internal/app"
)

// configFlags binds the storage flags shared by server and db commands.
func configFlags(fs *pflag.FlagSet, configPath *string, cfg *app.Config) {
	def := app.Defaults()
	fs.StringVar(configPath, "config", "", "YAML config file (env PLINTH_CONFIG)")
	fs.StringVar(&cfg.DB, "db", def.DB, "database: sqlite:PATH or postgres://user:pass@host/db (env PLINTH_DB)")
	fs.StringVar(&cfg.Artifacts, "artifacts", def.Artifacts, "artifact store: a folder or s3://bucket/prefix (env PLINTH_ARTIFACTS)")
}

// listenFlags binds the address, S3 and log flags of the long-running commands.
func listenFlags(fs *pflag.FlagSet, flagged *app.Config, port int) {
	def := app.Defaults()
	fs.StringVar(&flagged.Host, "host", def.Host, "address to listen on (env PLINTH_HOST)")
	fs.IntVar(&flagged.Port, "port", port, "port to listen on; 0 picks a free one (env PLINTH_PORT)")
	fs.StringVar(&flagged.S3.Endpoint, "s3-endpoint", "", "S3-compatible endpoint URL, e.g. http://127.0.0.1:7070 (env PLINTH_S3_ENDPOINT)")
	fs.StringVar(&flagged.S3.Region, "s3-region", "", "S3 region (env PLINTH_S3_REGION)")
	fs.BoolVar(&flagged.S3.PathStyle, "s3-path-style", false, "path-style S3 addressing, needed by most self-hosted stores (env PLINTH_S3_PATH_STYLE)")
	fs.StringVar(&flagged.Log.Level, "log-level", def.Log.Level, "debug, info, warn or error (env PLINTH_LOG_LEVEL)")
	fs.StringVar(&flagged.Log.Format, "log-format", def.Log.Format, "text or json (env PLINTH_LOG_FORMAT)")
}

// loadConfig builds the config: defaults, then the file, then the environment, then flags set explicitly.
func loadConfig(cmd *cobra.Command, configPath string, flagged app.Config) (app.Config, error) {
	cfg := app.Defaults()
	if configPath == "" {
		configPath, _ = lookupEnv("PLINTH_CONFIG")
	}
	if configPath != "" {
		if err := cfg.LoadFile(configPath); err != nil {
			return cfg, err
		}
	}
	if err := cfg.LoadEnv(lookupEnv); err != nil {
		return cfg, err
	}
	set := ifGiven(cmd)
	set("host", func() { cfg.Host = flagged.Host })
	set("port", func() { cfg.Port = flagged.Port })
	set("db", func() { cfg.DB = flagged.DB })
	set("artifacts", func() { cfg.Artifacts = flagged.Artifacts })
	set("s3-endpoint", func() { cfg.S3.Endpoint = flagged.S3.Endpoint })
	set("s3-region", func() { cfg.S3.Region = flagged.S3.Region })
	set("s3-path-style", func() { cfg.S3.PathStyle = flagged.S3.PathStyle })
	set("log-level", func() { cfg.Log.Level = flagged.Log.Level })
	set("log-format", func() { cfg.Log.Format = flagged.Log.Format })
	applyServingFlags(cmd, &cfg, flagged)
	return cfg, cfg.Validate()
}

// runUntilSignal builds a server (or replica) from cfg and runs it until SIGINT or SIGTERM.
func runUntilSignal(cmd *cobra.Command, cfg app.Config, build func(context.Context, app.Config, *slog.Logger) (*app.Server, error)) error {
	log, err := app.NewLogger(cfg, os.Stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

func newServerCmd() *cobra.Command {
	var configPath string
	var flagged app.Config
	var noServing bool
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the tracking server (MLflow REST API, artifact proxy, /health, /metrics)",
		Example: `  plinth server
  plinth server --port 5000 --db postgres://plinth@db/plinth --artifacts s3://ml-artifacts/plinth`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, configPath, flagged)
			if err != nil {
				return err
			}
			if noServing {
				cfg.Serving.Enabled = false
			}
			applyBatchFlags(cmd, &cfg, flagged, "batch-workers")
			return runUntilSignal(cmd, cfg, app.NewServer)
		},
	}
	fs := cmd.Flags()
	configFlags(fs, &configPath, &flagged)
	listenFlags(fs, &flagged, app.Defaults().Port)
	servingFlags(fs, &flagged)
	fs.BoolVar(&noServing, "no-serving", false, "do not serve endpoints in this process (leave them to `plinth serve` replicas)")
	batchFlags(fs, &flagged, "batch-workers", "batch shards this server scores at once; 0 leaves them to `plinth worker` processes", app.Defaults().Batch.Workers)
	return cmd
}
